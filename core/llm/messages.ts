import { z } from 'zod';

/** A tool call as it appears on an assistant message (Chat Completions wire format). */
const wireToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

/**
 * One message of the prompt, mirroring the Chat Completions wire format so history rows can be
 * validated on load and sent as they are. Every `tool_calls[].id` of an assistant message must be
 * answered by exactly one `tool` message before the next non-tool message (docs/design.md §10).
 */
const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().nullable(),
    tool_calls: z.array(wireToolCallSchema).optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: z.string() }),
]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A JSON Schema object (root `type: 'object'`), e.g. from `z.toJSONSchema(params)`. */
type JsonSchemaObject = Record<string, unknown>;

/**
 * A function the model may call. Sent with `strict: true`, so `parameters` must follow the
 * strict-mode rules: every object has `additionalProperties: false` and lists every property in
 * `required` (optional fields are expressed as nullable). The fake LLM server enforces this.
 */
export type ToolSpec = { name: string; description: string; parameters: JsonSchemaObject };

/** A tool call the model made; `arguments` is the raw JSON text, not validated (the agent does that). */
export type ChatToolCall = { id: string; name: string; arguments: string };

/** Token usage of one completion as reported by the provider (estimated ≈ chars/4 if it reports none). */
export type ChatUsage = { promptTokens: number; completionTokens: number };

/** One model call. */
export type ChatRequest = {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Aborts the call (and any retry wait); the call then fails with PlatformError `llm_aborted`. */
  signal?: AbortSignal;
  /**
   * When given, the response is streamed and each text delta is passed here in order. The resolved
   * result is the same as without streaming. Exceptions thrown by `onText` are logged and ignored.
   */
  onText?: (delta: string) => void;
  /**
   * What a 429 does: `retry` (default) waits out the retry-after and tries again inside the call;
   * `throw` ends the call at once with LlmRateLimitedError (quota errors stay final either way).
   */
  rateLimits?: 'retry' | 'throw';
  /** Most tokens the response may have, below the usual bound (`MAX_OUTPUT_TOKENS`); e.g. 1 to see that the model answers at all. */
  maxTokens?: number;
};

/** The model's response. `content` is null when the model wrote no text (e.g. only tool calls). */
export type ChatResult = {
  content: string | null;
  toolCalls: ChatToolCall[];
  usage: ChatUsage;
  /** Provider finish reason: 'stop', 'tool_calls', 'length', 'content_filter', … */
  finishReason: string;
};

/**
 * What the agent talks to. Implementations handle retries and map provider faults to
 * RenderBotErrors (see `createChatModel`); the agent never sees provider SDK types.
 */
export interface ChatModel {
  complete(req: ChatRequest): Promise<ChatResult>;
}

/** The assistant message to append to history for `result` (wire format, tool calls included). */
export function toAssistantMessage(result: ChatResult): ChatMessage {
  if (result.toolCalls.length === 0) return { role: 'assistant', content: result.content };
  return {
    role: 'assistant',
    content: result.content,
    tool_calls: result.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    })),
  };
}
