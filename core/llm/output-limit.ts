import type { AiSettings } from './settings.ts';

/**
 * Most tokens the model may write in one response (its text and tool calls; reasoning models count
 * their reasoning too). About 16,000 characters: more than a Slack message or a Teams card shows,
 * and a bound on what one call costs and how long a runaway response is streamed.
 */
export const MAX_OUTPUT_TOKENS = 4096;

/** Most characters of a response that are shown and stored, when a provider ignores the token bound. */
export const MAX_OUTPUT_CHARS = 40_000;

/** The first `max` UTF-16 units of `text` (none when `max` ≤ 0), never ending in half a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/** The model's text as it is shown and stored: cut at MAX_OUTPUT_CHARS with a note saying so. */
export function capOutput(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  return `${cutText(text, MAX_OUTPUT_CHARS)}… (the answer was too long and was cut off after ${MAX_OUTPUT_CHARS.toLocaleString('en')} characters)`;
}

/** The first Azure OpenAI api-version that accepts `max_completion_tokens`. */
const AZURE_COMPLETION_TOKENS_SINCE = '2024-09-01';

/** Hosts of OpenAI's own API, where newer models refuse `max_tokens`. */
const OPENAI_HOSTS = new Set(['api.openai.com']);

/** The request field bounding the response, with `MAX_OUTPUT_TOKENS`. */
export type OutputLimit = { max_completion_tokens: number } | { max_tokens: number };

/**
 * How to bound the response for a provider: `max_completion_tokens` where it is understood (Azure
 * from api-version 2024-09-01, OpenAI's API — whose reasoning and newer models reject
 * `max_tokens`), else `max_tokens`, which every OpenAI-compatible server accepts.
 */
export function outputLimit(settings: AiSettings): OutputLimit {
  const completionTokens =
    settings.provider === 'azure'
      ? settings.apiVersion.slice(0, AZURE_COMPLETION_TOKENS_SINCE.length) >= AZURE_COMPLETION_TOKENS_SINCE
      : OPENAI_HOSTS.has(new URL(settings.baseUrl).hostname);
  return completionTokens ? { max_completion_tokens: MAX_OUTPUT_TOKENS } : { max_tokens: MAX_OUTPUT_TOKENS };
}
