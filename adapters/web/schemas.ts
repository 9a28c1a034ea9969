import { z } from 'zod';
import { replySchema } from '../../core/replies/reply.ts';

/** `POST /api/chat/messages` body. */
export const postMessageSchema = z.strictObject({
  message: z.string().trim().min(1, 'message must not be empty').max(8000, 'message must be at most 8000 characters').describe('What the user typed'),
  session_id: z.uuid('session_id must be a UUID').optional().describe('Continue this conversation; omit to start a new one'),
  context_type: z.enum(['order', 'product', 'general']).optional().describe('What the page the user is on shows'),
  context_id: z.string().trim().min(1).max(200).optional().describe('Order number or id, product PIM id or id'),
}).refine((b) => !b.context_type || b.context_type === 'general' || b.context_id, { message: 'context_id is required for context_type order or product', path: ['context_id'] });
export type PostMessage = z.infer<typeof postMessageSchema>;

/** `POST /api/auth/login` body: a one-time login-link code. */
export const loginSchema = z.strictObject({ code: z.string().min(1).max(200) });

export const messageSchema = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  created_at: z.string(),
  cursor: z.string().describe('Position for ?before= / ?after= paging'),
  reply: replySchema.nullable().optional().describe('The reply model (tables, facts, confirm cards) for assistant messages'),
});
export type ApiMessage = z.infer<typeof messageSchema>;

export const chatResponseSchema = z.object({ session_id: z.uuid(), message: messageSchema, response: messageSchema });

export const sessionSchema = z.object({
  session_id: z.uuid(),
  title: z.string().nullable(),
  last_message: z.string().nullable(),
  message_count: z.number().int(),
  created_at: z.string(),
  last_active_at: z.string(),
});
export const sessionListSchema = z.object({ sessions: z.array(sessionSchema), next_cursor: z.string().nullable() });
export const messageListSchema = z.object({ messages: z.array(messageSchema), next_cursor: z.string().nullable() });

export const decisionSchema = z.object({
  ok: z.boolean(),
  status: z.string().describe('done, cancelled, not_found, or the state that stopped it (executing, done, expired, …)'),
  message: z.string(),
  reply: replySchema,
  session_id: z.uuid().nullable(),
});

export const meSchema = z.object({
  user_id: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  tenant: z.object({ slug: z.string(), name: z.string() }),
  ai: z.object({ configured: z.boolean(), limit_reached: z.boolean() }),
});

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** First zod issue as one line, e.g. `message: message must not be empty`. */
export function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
}

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({ 'application/json': { schema: z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) } });
const err = (description: string) => ({ description, content: json(errorSchema) });
const auth = { 401: err('Missing, wrong or revoked token'), 429: err('Rate limit of the token exceeded') };
const sessionParam = { name: 'session_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const paging = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'next_cursor of the previous page' },
];

/** The OpenAPI 3.1 document of the chat API, generated from the zod schemas above. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'RenderBot chat API', version: '1.0.0', description: 'Chat with the tenant\'s RenderBot agent. Authenticate with `Authorization: Bearer <token>` (renderbot admin token create).' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/api/chat/messages': { post: {
        summary: 'Send a message; the answer is returned when the turn is done, or streamed with Accept: text/event-stream (events: session, token, done, error)',
        requestBody: { required: true, content: json(postMessageSchema, 'input') },
        responses: { 200: { description: 'The stored user message and the assistant response', content: { ...json(chatResponseSchema), 'text/event-stream': { schema: { type: 'string' } } } },
          400: err('Invalid body (the zod message)'), 404: err('Unknown session, order or product'), ...auth },
      } },
      '/api/chat/sessions': { get: { summary: "The caller's conversations, newest first", parameters: paging, responses: { 200: { description: 'A page of sessions', content: json(sessionListSchema) }, ...auth } } },
      '/api/chat/sessions/{session_id}/messages': { get: {
        summary: 'A conversation, oldest first; pages backwards with cursor; `after` + `wait` (seconds, ≤ 25) long-polls for new messages (e.g. the follow-up after a confirm)',
        parameters: [sessionParam, ...paging, { name: 'after', in: 'query', schema: { type: 'string' } }, { name: 'wait', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 25 } }],
        responses: { 200: { description: 'A page of messages', content: json(messageListSchema) }, 404: err('Not found'), ...auth },
      } },
      '/api/chat/sessions/{session_id}': { delete: { summary: 'Delete a conversation and its messages', parameters: [sessionParam], responses: { 204: { description: 'Deleted' }, 404: err('Not found'), ...auth } } },
      '/api/actions/{action_id}/confirm': { post: {
        summary: 'Confirm a pending write action (exactly once; operators and admins). The model\'s follow-up arrives as a new message in the session.',
        parameters: [{ name: 'action_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { 200: { description: 'Executed', content: json(decisionSchema) }, 403: err('Role may not confirm'), 404: err('Not found'), 409: { description: 'Already decided or expired', content: json(decisionSchema) }, ...auth },
      } },
      '/api/actions/{action_id}/cancel': { post: {
        summary: 'Cancel a pending write action',
        parameters: [{ name: 'action_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { 200: { description: 'Cancelled', content: json(decisionSchema) }, 403: err('Role may not cancel'), 404: err('Not found'), 409: { description: 'Already decided', content: json(decisionSchema) }, ...auth },
      } },
      '/api/me': { get: { summary: 'Who the token is, and whether the tenant can use AI now', responses: { 200: { description: 'Identity', content: json(meSchema) }, ...auth } } },
      '/api/auth/login': { post: { summary: 'Exchange a one-time login-link code for a token', security: [], requestBody: { required: true, content: json(loginSchema, 'input') },
        responses: { 200: { description: 'A new token', content: json(z.object({ token: z.string() })) }, 400: err('Invalid body'), 401: err('Unknown, used or expired code') } } },
    },
  };
}
