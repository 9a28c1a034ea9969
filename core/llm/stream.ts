import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatToolCall, ChatUsage } from './messages.ts';
import { cutText, MAX_OUTPUT_CHARS } from './output-limit.ts';
import { LlmIncompleteResponseError } from './retry.ts';

/** What a finished stream adds up to (usage undefined when the server sent no usage chunk). */
export type StreamTotals = {
  content: string | null;
  toolCalls: ChatToolCall[];
  usage: ChatUsage | undefined;
  finishReason: string;
};

/**
 * Folds `chat.completion.chunk`s into one response: text deltas are concatenated (and passed to
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
  #written = 0;
  readonly #onText: (delta: string) => void;

  constructor(onText: (delta: string) => void) {
    this.#onText = onText;
  }

  /** Adds one chunk. */
  push(chunk: ChatCompletionChunk): void {
    if (chunk.usage)
      this.#usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const text = choice.delta.content ?? choice.delta.refusal;
    if (text) {
      // Text beyond MAX_OUTPUT_CHARS is kept (the agent cuts it with a note) but not shown while it streams.
      const shown = cutText(text, MAX_OUTPUT_CHARS - this.#content.length);
      this.#content += text;
      this.#written += text.length;
      if (shown) {
        this.emitted = true;
        this.#onText(shown);
      }
    }
    for (const delta of choice.delta.tool_calls ?? []) {
      const call = this.#calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
      if (delta.id && !call.id) call.id = delta.id;
      const name = delta.function?.name;
      // Some compatible servers repeat the full name on every delta; others split it.
      if (name && name !== call.name) call.name += name;
      call.arguments += delta.function?.arguments ?? '';
      this.#written += delta.function?.arguments?.length ?? 0;
      this.#calls.set(delta.index, call);
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
  }

  /**
   * True once the response (text and tool call arguments) is longer than MAX_OUTPUT_CHARS: a provider
   * ignoring the token bound. The caller stops reading; `totals` then ends the response at 'length'.
   */
  get overflowed(): boolean {
    return this.#written > MAX_OUTPUT_CHARS;
  }

  /** The assembled response; throws LlmIncompleteResponseError (with the usage the stream reported) if the stream never finished. */
  totals(): StreamTotals {
    if (this.#finishReason === undefined && this.overflowed) this.#finishReason = 'length';
    if (this.#finishReason === undefined)
      throw new LlmIncompleteResponseError('The AI stream ended without a finish reason.', this.#usage);
    const toolCalls = [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    if (toolCalls.some((c) => !c.id || !c.name))
      throw new LlmIncompleteResponseError('The AI stream sent a tool call without id or name.', this.#usage);
    return { content: this.#content || null, toolCalls, usage: this.#usage, finishReason: this.#finishReason };
  }
}
