import { z } from 'zod';
import { MAX_SUGGESTIONS, replySchema, suggestionSchema } from '../../core/replies/reply.ts';
import { turnStepSchema } from '../../core/replies/steps.ts';

/** `POST /api/chat/messages` body. */
export const postMessageSchema = z
  .strictObject({
    message: z
      .string()
      .trim()
      .min(1, 'message must not be empty')
      .max(8000, 'message must be at most 8000 characters')
      .describe('What the user typed'),
    session_id: z
      .uuid('session_id must be a UUID')
      .optional()
      .describe('Continue this conversation; omit to start a new one'),
    context_type: z.enum(['order', 'product', 'general']).optional().describe('What the page the user is on shows'),
    context_id: z.string().trim().min(1).max(200).optional().describe('Order number or id, product PIM id or id'),
    files: z
      .array(z.uuid('files must be file ids from POST /api/chat/files'))
      .min(1)
      .max(10)
      .optional()
      .describe(
        'Ids of files uploaded with POST /api/chat/files to attach to this message (the model sees their summaries)',
      ),
  })
  .refine((b) => !b.context_type || b.context_type === 'general' || b.context_id, {
    message: 'context_id is required for context_type order or product',
    path: ['context_id'],
  });
export type PostMessage = z.infer<typeof postMessageSchema>;

/** `POST /api/auth/login` body: a one-time login-link code. */
export const loginSchema = z.strictObject({ code: z.string().min(1).max(200) });

/** A stored chat message as the API shows it. */
export const messageSchema = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  created_at: z.string(),
  cursor: z.string().describe('Position for ?before= / ?after= paging'),
  reply: replySchema
    .nullable()
    .optional()
    .describe(
      'The reply model (tables, facts, confirm cards) for assistant messages, with up to 3 suggested next messages (`suggestions`)',
    ),
});
export type ApiMessage = z.infer<typeof messageSchema>;

/** `POST /api/chat/messages` answer (also the `done` event of the stream). */
export const chatResponseSchema = z.object({ session_id: z.uuid(), message: messageSchema, response: messageSchema });

/** A conversation in the caller's list. */
export const sessionSchema = z.object({
  session_id: z.uuid(),
  title: z.string().nullable(),
  last_message: z.string().nullable(),
  message_count: z.number().int(),
  created_at: z.string(),
  last_active_at: z.string(),
});
/** A page of the caller's conversations. */
export const sessionListSchema = z.object({ sessions: z.array(sessionSchema), next_cursor: z.string().nullable() });
/** A page of a conversation's messages. */
export const messageListSchema = z.object({ messages: z.array(messageSchema), next_cursor: z.string().nullable() });

/** The outcome of a confirm or cancel. */
export const decisionSchema = z.object({
  ok: z.boolean(),
  status: z.string().describe('done, cancelled, not_found, or the state that stopped it (executing, done, expired, …)'),
  message: z.string(),
  reply: replySchema,
  session_id: z.uuid().nullable(),
});

/** `POST /api/chat/sessions/{id}/stop`: whether a turn was asked to stop. */
export const stopResultSchema = z.object({
  status: z
    .enum(['stopping', 'idle'])
    .describe(
      'stopping: the running answer stops and ends with "Stopped by …" where it would have appeared; idle: nothing was running',
    ),
  message: z.string(),
});

/** `GET /api/me`: who the token is and whether the tenant can use AI now. */
export const meSchema = z.object({
  user_id: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  tenant: z.object({ slug: z.string(), name: z.string() }),
  ai: z.object({ configured: z.boolean(), limit_reached: z.boolean() }),
  suggestions: z
    .array(suggestionSchema)
    .max(MAX_SUGGESTIONS)
    .describe(
      "Where a new conversation can start, from the tenant's state (its latest order, this week's failures); sending one is sending that text as a message",
    ),
});

/** Every error the server answers: a stable machine `code` and a sentence for people. */
export const errorSchema = z.object({
  error: z.object({
    code: z
      .string()
      .describe(
        'invalid_json, invalid_body, invalid_query, invalid_header, bad_request, unauthorized, forbidden, not_found, method_not_allowed, body_too_large, unsupported_media_type, idempotency_key_reused, idempotency_key_lost, rate_limited, internal, unavailable, database_unavailable',
      ),
    message: z.string(),
  }),
});

/** `POST /api/auth/login` answer: a new API token. */
export const tokenSchema = z.object({ token: z.string() });

/** `PUT /api/chat/answers/{answer_id}/feedback`: 👍 (`up`) or 👎 (`down`) and an optional reason. */
export const feedbackRequestSchema = z.strictObject({
  rating: z.enum(['up', 'down']).describe('up = 👍, down = 👎'),
  reason: z.string().max(2000).optional().describe('What was good or went wrong (optional, at most 2,000 characters)'),
});

/** The feedback as stored: the caller's one rating of this answer (a later one replaced an earlier one). */
export const feedbackSchema = z.object({
  answer_id: z.uuid(),
  rating: z.enum(['up', 'down']),
  reason: z.string().nullable(),
});

/** `POST /api/actions/{id}/confirm|cancel` body: none, or an empty JSON object. */
export const decideSchema = z.looseObject({}).describe('Ignored; the body may be left out');

/** The `session` event of a streamed answer: the conversation the message went to. */
export const sessionEventSchema = z.object({ session_id: z.uuid() });

/** A `step` event of a streamed answer: a tool call's step, newest state (docs/design.md §12). */
export const stepEventSchema = turnStepSchema;

/** A `token` event of a streamed answer: the next piece of the model's text. */
export const tokenEventSchema = z.object({ text: z.string() });

/** First zod issue as one line, e.g. `message: message must not be empty`. */
export function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
}

/** `POST /api/chat/files` answer: the stored file's id (for `files` of a message), its name and what was found in it. */
export const uploadResponseSchema = z.object({
  file_id: z.uuid(),
  name: z.string(),
  summary: z.string().describe('Rows, the id column, how many ids match products and the first unknown ones'),
});
