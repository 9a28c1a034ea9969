import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatToolCall, ChatUsage } from './messages.ts';
import { LlmIncompleteResponseError } from './retry.ts';

/** What a finished stream adds up to (usage undefined when the server sent no usage chunk). */
export type StreamTotals = { content: string | null; toolCalls: ChatToolCall[]; usage: ChatUsage | undefined; finishReason: string };

/**
 * Folds `chat.completion.chunk`s into one answer: text deltas are concatenated (and passed to
 * `onText` in order), tool call deltas are assembled per `index` (id and name from the first
 * delta that has them, arguments concatenated). Chunks without choices (Azure's prompt-filter
 * chunk, the final usage chunk) are fine.
 */
export class StreamAccumulator {
  /** True once any text delta was passed to `onText` (a retry would then duplicate text). */
  emitted = false;
  #content = '';
  #calls = new Map<number, ChatToolCall>();
  #usage: ChatUsage | undefined;
  #finishReason: string | undefined;
  readonly #onText: (delta: string) => void;

  constructor(onText: (delta: string) => void) {
    this.#onText = onText;
  }

  /** Adds one chunk. */
  push(chunk: ChatCompletionChunk): void {
    if (chunk.usage) this.#usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const text = choice.delta.content ?? choice.delta.refusal;
    if (text) {
      this.#content += text;
      this.emitted = true;
      this.#onText(text);
    }
    for (const delta of choice.delta.tool_calls ?? []) {
      const call = this.#calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
      if (delta.id && !call.id) call.id = delta.id;
      const name = delta.function?.name;
      // Some compatible servers repeat the full name on every delta; others split it.
      if (name && name !== call.name) call.name += name;
      call.arguments += delta.function?.arguments ?? '';
      this.#calls.set(delta.index, call);
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
  }

  /** The assembled answer; throws LlmIncompleteResponseError if the stream never finished. */
  totals(): StreamTotals {
    if (this.#finishReason === undefined) throw new LlmIncompleteResponseError('The AI stream ended without a finish reason.');
    const toolCalls = [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    if (toolCalls.some((c) => !c.id || !c.name)) throw new LlmIncompleteResponseError('The AI stream sent a tool call without id or name.');
    return { content: this.#content || null, toolCalls, usage: this.#usage, finishReason: this.#finishReason };
  }
}
