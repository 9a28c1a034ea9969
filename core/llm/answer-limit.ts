import type { AiSettings } from './settings.ts';

/**
 * Most tokens the model may write in one answer (its text and tool calls; reasoning models count
 * their reasoning too). About 16,000 characters: more than a Slack message or a Teams card shows,
 * and a bound on what one call costs and how long a runaway answer is streamed.
 */
export const MAX_ANSWER_TOKENS = 4096;

/** The first Azure OpenAI api-version that accepts `max_completion_tokens`. */
const AZURE_COMPLETION_TOKENS_SINCE = '2024-09-01';

/** Hosts of OpenAI's own API, where newer models refuse `max_tokens`. */
const OPENAI_HOSTS = new Set(['api.openai.com']);

/** The request field bounding the answer, with `MAX_ANSWER_TOKENS`. */
export type AnswerLimit = { max_completion_tokens: number } | { max_tokens: number };

/**
 * How to bound the answer for a provider: `max_completion_tokens` where it is understood (Azure
 * from api-version 2024-09-01, OpenAI's API — whose reasoning and newer models reject
 * `max_tokens`), else `max_tokens`, which every OpenAI-compatible server accepts.
 */
export function answerLimit(settings: AiSettings): AnswerLimit {
  const completionTokens = settings.provider === 'azure'
    ? settings.apiVersion.slice(0, AZURE_COMPLETION_TOKENS_SINCE.length) >= AZURE_COMPLETION_TOKENS_SINCE
    : OPENAI_HOSTS.has(new URL(settings.baseUrl).hostname);
  return completionTokens ? { max_completion_tokens: MAX_ANSWER_TOKENS } : { max_tokens: MAX_ANSWER_TOKENS };
}
