import createClient from 'openapi-fetch';
import type { components, paths } from './api-types.ts';
import { readEventStream } from './sse.ts';

type Schemas = components['schemas'];
/** The API's types, generated from its OpenAPI document (npm run build:api). */
export type Reply = Schemas['Reply'];
export type ReplyBlock = Reply['blocks'][number];
/** A tool call's step while the agent works (the `step` event; also in a stored reply's `steps`). */
export type Step = NonNullable<Reply['steps']>[number];
export type Message = Schemas['Message'];
export type ChatResult = Schemas['ChatResult'];
export type Session = Schemas['Session'];
export type Me = Schemas['Me'];
export type Decision = Schemas['Decision'];
export type SendMessage = Schemas['SendMessageRequest'];
export type Upload = Schemas['Upload'];
export type PageContext = { type: 'order' | 'product' | 'general'; id?: string };

/** An API error with the server's code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The error of a failed call, from the server's `{ error: { code, message } }` when it sent one. */
function apiError(res: Response, body: unknown): ApiError {
  const e = (body as Partial<Schemas['Error']> | undefined)?.error;
  return e
    ? new ApiError(res.status, e.code, e.message)
    : new ApiError(res.status, 'http_error', `Request failed (${res.status}).`);
}

/** The data of a call, or its ApiError. */
function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) throw apiError(r.response, r.error);
  return r.data as T;
}

/** A new idempotency key: the same one is sent again when a message is retried. */
function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** How often a message is sent again (same Idempotency-Key) when the connection failed or the stream was cut. */
const SEND_RETRIES = 2;

/** A client for the chat API at `base` with a bearer token (never cookies), typed from the OpenAPI document. */
export function createApi(base: string, token: string) {
  const client = createClient<paths>({
    baseUrl: base,
    credentials: 'omit',
    headers: { authorization: `Bearer ${token}` },
  });

  /** One attempt to send: streams the answer; resolves with the result, or undefined when the connection broke. */
  const attempt = async (
    body: SendMessage,
    key: string,
    onSession: (id: string) => void,
    onToken: (text: string) => void,
    onStep: (step: Step) => void,
  ): Promise<ChatResult | undefined> => {
    let r;
    try {
      r = await client.POST('/api/chat/messages', {
        body,
        params: { header: { 'Idempotency-Key': key } },
        headers: { accept: 'text/event-stream' },
        parseAs: 'stream',
      });
    } catch {
      return undefined;
    }
    const stream = ok(r);
    if (!stream) return undefined;
    let result: ChatResult | undefined;
    let failure: ApiError | undefined;
    await readEventStream(stream, (e) => {
      const data = JSON.parse(e.data) as unknown;
      if (e.event === 'session') onSession((data as { session_id: string }).session_id);
      else if (e.event === 'token') onToken((data as { text: string }).text);
      else if (e.event === 'step') onStep(data as Step);
      else if (e.event === 'done') result = data as ChatResult;
      else if (e.event === 'error') failure = apiError(new Response(null, { status: 500 }), data);
      return result !== undefined || failure !== undefined;
    }).catch(() => false);
    if (failure) throw failure;
    return result;
  };

  return {
    /** Uploads a CSV or XLSX (multipart); its id for `files` of the next message, or the server's one sentence as an ApiError. */
    async upload(file: File): Promise<Upload> {
      const form = new FormData();
      form.append('file', file, file.name);
      let res: Response;
      try {
        res = await fetch(`${base}/api/chat/files`, {
          method: 'POST',
          body: form,
          credentials: 'omit',
          headers: { authorization: `Bearer ${token}` },
        });
      } catch {
        throw new ApiError(0, 'network', `${file.name} could not be sent. Please try again.`);
      }
      const body = (await res.json().catch(() => undefined)) as unknown;
      if (!res.ok) throw apiError(res, body);
      return body as Upload;
    },
    me: async () => ok(await client.GET('/api/me')),
    sessions: async () => ok(await client.GET('/api/chat/sessions', { params: { query: { limit: 50 } } })),
    messages: async (sessionId: string) =>
      ok(
        await client.GET('/api/chat/sessions/{session_id}/messages', {
          params: { path: { session_id: sessionId }, query: { limit: 100 } },
        }),
      ),
    /** Waits (long-poll, ≤ 20 s) for messages newer than `cursor`; `signal` gives up waiting. */
    newMessages: async (sessionId: string, cursor: string, signal?: AbortSignal) =>
      ok(
        await client.GET('/api/chat/sessions/{session_id}/messages', {
          params: { path: { session_id: sessionId }, query: { after: cursor, wait: 20 } },
          ...(signal ? { signal } : {}),
        }),
      ),
    /** Stops the answer being worked on in the session; the waiting send then resolves with "Stopped by …". */
    stop: async (sessionId: string) =>
      ok(await client.POST('/api/chat/sessions/{session_id}/stop', { params: { path: { session_id: sessionId } } })),
    deleteSession: async (sessionId: string) => {
      ok(await client.DELETE('/api/chat/sessions/{session_id}', { params: { path: { session_id: sessionId } } }));
    },
    /** 👍/👎 (with an optional reason) on an agent answer; sending again replaces it. */
    feedback: async (answerId: string, rating: 'up' | 'down', reason?: string) =>
      ok(
        await client.PUT('/api/chat/answers/{answer_id}/feedback', {
          params: { path: { answer_id: answerId } },
          body: { rating, ...(reason?.trim() ? { reason: reason.trim() } : {}) },
        }),
      ),
    /** Confirms or cancels; an action decided already (409) comes back as its Decision. */
    async decide(actionId: string, verb: 'confirm' | 'cancel'): Promise<Decision> {
      const path =
        verb === 'confirm'
          ? ('/api/actions/{action_id}/confirm' as const)
          : ('/api/actions/{action_id}/cancel' as const);
      const r = await client.POST(path, { params: { path: { action_id: actionId } } });
      if (r.response.status === 409) return r.error as Decision;
      return ok(r);
    },
    /**
     * Sends a message and streams the answer: `onToken` per text delta, resolves with the final
     * result. A broken connection is retried with the same Idempotency-Key, so the message is
     * answered once; `onRetry` tells the caller to drop the partial text and steps. `onStep`
     * gets each step's newest state while the agent's tools run.
     */
    async send(
      body: SendMessage,
      onSession: (id: string) => void,
      onToken: (text: string) => void,
      onRetry: () => void = () => {},
      onStep: (step: Step) => void = () => {},
    ): Promise<ChatResult> {
      const key = newKey();
      for (let tries = 0; tries <= SEND_RETRIES; tries++) {
        if (tries > 0) onRetry();
        const result = await attempt(body, key, onSession, onToken, onStep);
        if (result) return result;
      }
      throw new ApiError(502, 'stream_ended', 'The answer was cut off. Please try again.');
    },
  };
}
export type Api = ReturnType<typeof createApi>;

/** Exchanges a one-time login-link code for a token. */
export async function login(base: string, code: string): Promise<string> {
  const r = await createClient<paths>({ baseUrl: base, credentials: 'omit' }).POST('/api/auth/login', {
    body: { code },
  });
  if (!r.data)
    throw new ApiError(
      r.response.status,
      'login_failed',
      (r.error as Partial<Schemas['Error']> | undefined)?.error?.message ?? 'Sign-in failed.',
    );
  return r.data.token;
}
