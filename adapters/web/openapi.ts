import { z } from 'zod';
import { replySchema } from '../../core/replies/reply.ts';
import {
  chatResponseSchema,
  uploadResponseSchema,
  decideSchema,
  decisionSchema,
  errorSchema,
  loginSchema,
  meSchema,
  messageListSchema,
  messageSchema,
  feedbackRequestSchema,
  feedbackSchema,
  postMessageSchema,
  sessionEventSchema,
  sessionListSchema,
  sessionSchema,
  stopResultSchema,
  tokenEventSchema,
  tokenSchema,
  stepEventSchema,
} from './schemas.ts';

/** Where a component lives in the document. */
const ref = (kind: 'schemas' | 'responses' | 'parameters' | 'headers', name: string) => ({
  $ref: `#/components/${kind}/${name}`,
});

/** Named zod schemas, emitted once under components/schemas and referenced from there. */
const outputs = {
  Upload: uploadResponseSchema,
  Reply: replySchema,
  Message: messageSchema,
  ChatResult: chatResponseSchema,
  Session: sessionSchema,
  SessionList: sessionListSchema,
  MessageList: messageListSchema,
  StopResult: stopResultSchema,
  Decision: decisionSchema,
  Feedback: feedbackSchema,
  Me: meSchema,
  Token: tokenSchema,
  Error: errorSchema,
};
const inputs = {
  SendMessageRequest: postMessageSchema,
  LoginRequest: loginSchema,
  DecideRequest: decideSchema,
  FeedbackRequest: feedbackRequestSchema,
};

/** JSON Schemas (2020-12) of a set of named zod schemas, referring to each other through components/schemas. */
function componentSchemas(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

/** One zod schema as an inline JSON Schema. */
const inline = (schema: z.ZodType) => {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' });
  return json;
};

const jsonOf = (schema: string) => ({ 'application/json': { schema: ref('schemas', schema) } });
const error = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: jsonOf('Error'),
});

/** Reusable error responses, all `{ error: { code, message } }`. */
const responses = {
  BadRequest: error(
    'The body is not JSON (`invalid_json`), not valid (`invalid_body`, with the first problem), or a query parameter (`invalid_query`) or header (`invalid_header`) is wrong',
  ),
  Unauthorized: error('The bearer token is missing, wrong or revoked (`unauthorized`)'),
  Forbidden: error('The role of the token may not do this (`forbidden`)'),
  NotFound: error("Unknown, or not the caller's (`not_found`); other tenants' ids read as unknown"),
  PayloadTooLarge: error('The body is over 64 KB (`body_too_large`)'),
  UnsupportedMediaType: error(
    'A body that is not `application/json`, or one sent with Content-Encoding (`unsupported_media_type`)',
  ),
  TooManyRequests: error('Over the rate limit (`rate_limited`); retry after Retry-After seconds', {
    'Retry-After': ref('headers', 'RetryAfter'),
  }),
  InternalError: error('Something went wrong on the server (`internal`); details are only in its log'),
  ServiceUnavailable: error(
    'The database is unavailable (`database_unavailable`) or the rate limits cannot be checked (`unavailable`, with Retry-After); retry shortly',
    { 'Retry-After': { description: 'Seconds to wait, when known', schema: { type: 'string', pattern: '^\\d+$' } } },
  ),
};

type Status = keyof typeof errorResponses;
/** Status code → reusable response, for the statuses every operation shares. */
const errorResponses = {
  400: ref('responses', 'BadRequest'),
  401: ref('responses', 'Unauthorized'),
  403: ref('responses', 'Forbidden'),
  404: ref('responses', 'NotFound'),
  413: ref('responses', 'PayloadTooLarge'),
  415: ref('responses', 'UnsupportedMediaType'),
  429: ref('responses', 'TooManyRequests'),
  500: ref('responses', 'InternalError'),
  503: ref('responses', 'ServiceUnavailable'),
} as const;
const shared = (...statuses: Status[]) => Object.fromEntries(statuses.map((s) => [s, errorResponses[s]]));
/** Statuses of every authenticated operation. */
const authed: Status[] = [401, 429, 500, 503];
/** Statuses of the body readers of JSON routes. */
const bodied: Status[] = [400, 413, 415];

const actionParam = {
  name: 'action_id',
  in: 'path',
  required: true,
  description: 'The `actionId` of a confirm card',
  schema: { type: 'string', format: 'uuid' },
};

/** One confirm/cancel operation. */
const decide = (verb: 'confirm' | 'cancel', summary: string) => ({
  operationId: `${verb}Action`,
  summary,
  tags: ['actions'],
  parameters: [actionParam],
  requestBody: { required: false, content: jsonOf('DecideRequest') },
  responses: {
    200: { description: verb === 'confirm' ? 'Executed' : 'Cancelled', content: jsonOf('Decision') },
    409: { description: 'Already decided or expired', content: jsonOf('Decision') },
    ...shared(...bodied, 403, 404, ...authed),
  },
});

const STREAM = [
  'With `Accept: text/event-stream` the answer streams as server-sent events, in this order:',
  "`session` (`{ session_id }`: the conversation, sent first), `token` (`{ text }`: the next piece of the model's text, any number),",
  "`step` (`{ id, title, state, result? }`: a tool call's step as it starts (`running`) and ends (`done` or `failed`, with one line of result), any number, interleaved with `token`;",
  "the same steps are in the final reply's `steps`),",
  "then `done` (ChatResult, the same JSON as without streaming) or `error` (Error, when the turn failed). Each event's `data` is one JSON value;",
  "lines starting with `:` are keep-alive comments. The `x-events` of this media type name each event's schema.",
].join(' ');

/** The OpenAPI 3.1 document of the chat API (docs/openapi.json is a copy), generated from the zod schemas. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'RenderBot chat API',
      version: '1.1.0',
      description:
        "Chat with the tenant's RenderBot agent. Authenticate with `Authorization: Bearer <token>` (`renderbot admin token create`). Errors are `{ error: { code, message } }`.",
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'The RenderBot that serves this document (its PUBLIC_URL)' }],
    tags: [
      { name: 'chat', description: 'Messages and conversations' },
      { name: 'actions', description: 'Confirm or cancel planned writes' },
      { name: 'account', description: 'Identity, sign-in and this document' },
    ],
    security: [{ bearer: [] }],
    paths: {
      '/api/chat/messages': {
        post: {
          operationId: 'sendMessage',
          tags: ['chat'],
          summary: 'Send a message; answered when the turn is done, or streamed',
          description: `Send an \`Idempotency-Key\` to retry safely: a repeat with the same key and body within 24 hours returns the first request's answer (waiting for it while it runs) and starts no second turn; the same key with another body is refused with 422. Keys are per user. ${STREAM}`,
          parameters: [ref('parameters', 'IdempotencyKey')],
          requestBody: { required: true, content: jsonOf('SendMessageRequest') },
          responses: {
            200: {
              description: 'The stored user message and the assistant response',
              headers: {
                'Idempotent-Replayed': {
                  description:
                    '`true` when this is the stored answer of an earlier request with the same Idempotency-Key',
                  schema: { type: 'string', enum: ['true'] },
                },
              },
              content: {
                ...jsonOf('ChatResult'),
                'text/event-stream': {
                  schema: { type: 'string', description: STREAM },
                  'x-events': {
                    session: inline(sessionEventSchema),
                    token: inline(tokenEventSchema),
                    step: inline(stepEventSchema),
                    done: ref('schemas', 'ChatResult'),
                    error: ref('schemas', 'Error'),
                  },
                },
              },
            },
            409: error(
              'The request with this Idempotency-Key was answered, but its answer is no longer kept (`idempotency_key_lost`)',
            ),
            422: error('The Idempotency-Key was used with another body (`idempotency_key_reused`)'),
            ...shared(...bodied, 404, ...authed),
          },
        },
      },
      '/api/chat/files': {
        post: {
          operationId: 'uploadFile',
          tags: ['chat'],
          summary: 'Upload a CSV or XLSX of product ids to attach to a message',
          description:
            'One part named `file`, at most 20 MB and 100,000 rows (CSV: UTF-8, `,` or `;`; XLSX: the first sheet). The id column is found by its header ' +
            '(PIM-ID, Artikelnummer, SKU, …) or by its values. A file that cannot be used is refused with one sentence (400, 413). Send the returned `file_id` in `files` ' +
            "of the next message; files are kept for FILE_RETENTION_DAYS and only the uploader's tenant can use them.",
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['file'],
                  properties: { file: { type: 'string', format: 'binary' } },
                },
              },
            },
          },
          responses: {
            201: { description: 'The file was stored', content: jsonOf('Upload') },
            ...shared(...bodied, ...authed),
          },
        },
      },
      '/api/chat/sessions': {
        get: {
          operationId: 'listSessions',
          tags: ['chat'],
          summary: "The caller's conversations, newest first",
          parameters: [ref('parameters', 'Limit'), ref('parameters', 'Cursor')],
          responses: {
            200: { description: 'A page of sessions', content: jsonOf('SessionList') },
            ...shared(400, ...authed),
          },
        },
      },
      '/api/chat/sessions/{session_id}/messages': {
        get: {
          operationId: 'getSessionMessages',
          tags: ['chat'],
          summary: 'A conversation, oldest first',
          description:
            'Pages backwards with `cursor`; `after` + `wait` (seconds, at most 25) long-polls for new messages (e.g. the follow-up after a confirm).',
          parameters: [
            ref('parameters', 'SessionId'),
            ref('parameters', 'Limit'),
            ref('parameters', 'Cursor'),
            {
              name: 'after',
              in: 'query',
              description: 'Only messages after this message cursor',
              schema: { type: 'string', pattern: '^\\d{1,18}$' },
            },
            {
              name: 'wait',
              in: 'query',
              description: 'With `after`: wait up to this many seconds for a new message',
              schema: { type: 'integer', minimum: 0, maximum: 25 },
            },
          ],
          responses: {
            200: { description: 'A page of messages', content: jsonOf('MessageList') },
            ...shared(400, 404, ...authed),
          },
        },
      },
      '/api/chat/sessions/{session_id}/stop': {
        post: {
          operationId: 'stopSession',
          tags: ['chat'],
          summary: 'Stop the answer being worked on in a conversation',
          description:
            'Aborts the model call in flight and the tool loop at its next step, whichever server runs the turn; a write already confirmed stays done and is reported, and no confirmation is offered. The stopped turn\'s request is answered with "Stopped by …"; the next message is answered normally. Sending the message `stop` does the same.',
          parameters: [ref('parameters', 'SessionId')],
          responses: {
            200: { description: 'Stopping, or nothing was running', content: jsonOf('StopResult') },
            ...shared(403, 404, ...authed),
          },
        },
      },
      '/api/chat/sessions/{session_id}': {
        delete: {
          operationId: 'deleteSession',
          tags: ['chat'],
          summary: 'Delete a conversation and its messages',
          parameters: [ref('parameters', 'SessionId')],
          responses: { 204: { description: 'Deleted' }, ...shared(404, ...authed) },
        },
      },
      '/api/chat/answers/{answer_id}/feedback': {
        put: {
          operationId: 'giveFeedback',
          tags: ['chat'],
          summary: '👍 or 👎 on an agent answer, with an optional reason',
          description:
            'An agent answer is a reply with `answer` (its `id` is the answer id). One rating per person and answer: sending again replaces it.',
          parameters: [
            {
              name: 'answer_id',
              in: 'path',
              required: true,
              description: 'The `answer.id` of an agent reply',
              schema: { type: 'string', format: 'uuid' },
            },
          ],
          requestBody: { required: true, content: jsonOf('FeedbackRequest') },
          responses: {
            200: { description: 'Stored', content: jsonOf('Feedback') },
            ...shared(...bodied, 404, ...authed),
          },
        },
      },
      '/api/actions/{action_id}/confirm': {
        post: decide(
          'confirm',
          "Confirm a pending write action (exactly once; operators and admins); the model's follow-up arrives as a new message in the session",
        ),
      },
      '/api/actions/{action_id}/cancel': { post: decide('cancel', 'Cancel a pending write action') },
      '/api/me': {
        get: {
          operationId: 'getMe',
          tags: ['account'],
          summary: 'Who the token is, and whether the tenant can use AI now',
          responses: { 200: { description: 'Identity', content: jsonOf('Me') }, ...shared(...authed) },
        },
      },
      '/api/auth/login': {
        post: {
          operationId: 'login',
          tags: ['account'],
          summary: 'Exchange a one-time login-link code for a token',
          security: [],
          requestBody: { required: true, content: jsonOf('LoginRequest') },
          responses: {
            200: { description: 'A new token', content: jsonOf('Token') },
            401: error('Unknown, used or expired code (`unauthorized`)'),
            ...shared(...bodied, 429, 500, 503),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (`renderbot admin token create`) or one from a login link',
        },
      },
      schemas: { ...componentSchemas(outputs, 'output'), ...componentSchemas(inputs, 'input') },
      responses,
      headers: {
        RetryAfter: {
          description: 'Seconds to wait before retrying',
          required: true,
          schema: { type: 'string', pattern: '^\\d+$' },
        },
      },
      parameters: {
        SessionId: { name: 'session_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        Limit: {
          name: 'limit',
          in: 'query',
          description: 'Page size',
          schema: { type: 'integer', minimum: 1, maximum: 100 },
        },
        Cursor: {
          name: 'cursor',
          in: 'query',
          description: 'The `next_cursor` of the previous page',
          schema: { type: 'string' },
        },
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'A unique value per message (e.g. a UUID), repeated unchanged when the request is retried',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' },
        },
      },
    },
  };
}
