import type { Reply } from '../../../../core/replies/reply.ts';

export type { Reply };
export type ReplyBlock = Reply['blocks'][number];

/** Mirrors adapters/web/schemas.ts (the server's zod schemas are the source of truth). */
export type Message = { id: string; role: 'user' | 'assistant'; content: string; created_at: string; cursor: string; reply?: Reply | null };
export type ChatResult = { session_id: string; message: Message; response: Message };
export type Session = { session_id: string; title: string | null; last_message: string | null; message_count: number; created_at: string; last_active_at: string };
export type Me = { user_id: string; role: 'viewer' | 'operator' | 'admin'; tenant: { slug: string; name: string }; ai: { configured: boolean; limit_reached: boolean } };
export type Decision = { ok: boolean; status: string; message: string; reply: Reply; session_id: string | null };
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

/** A client for the chat API at `base` with a bearer token (never cookies). */
export function createApi(base: string, token: string) {
  const call = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      credentials: 'omit',
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
    if (res.status === 204) return undefined as T;
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!res.ok && body.error) throw new ApiError(res.status, body.error.code, body.error.message);
    if (!res.ok && res.status !== 409) throw new ApiError(res.status, 'http_error', `Request failed (${res.status}).`);
    return body as T;
  };
  return {
    me: () => call<Me>('/api/me'),
    sessions: () => call<{ sessions: Session[]; next_cursor: string | null }>('/api/chat/sessions?limit=50'),
    messages: (sessionId: string) => call<{ messages: Message[]; next_cursor: string | null }>(`/api/chat/sessions/${sessionId}/messages?limit=100`),
    /** Waits (long-poll, ≤ 20 s) for messages newer than `cursor`. */
    newMessages: (sessionId: string, cursor: string) => call<{ messages: Message[] }>(`/api/chat/sessions/${sessionId}/messages?after=${encodeURIComponent(cursor)}&wait=20`),
    deleteSession: (sessionId: string) => call<void>(`/api/chat/sessions/${sessionId}`, { method: 'DELETE' }),
    decide: (actionId: string, verb: 'confirm' | 'cancel') => call<Decision>(`/api/actions/${actionId}/${verb}`, { method: 'POST', body: '{}' }),
    /** Sends a message and streams the answer: `onToken` per text delta, resolves with the final result. */
    async send(body: { message: string; session_id?: string; context_type?: string; context_id?: string }, onSession: (id: string) => void, onToken: (text: string) => void): Promise<ChatResult> {
      const res = await fetch(`${base}/api/chat/messages`, {
        method: 'POST', credentials: 'omit',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(body),
      });
      if (!res.ok || !res.body) {
        const err = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
        throw new ApiError(res.status, err.error?.code ?? 'http_error', err.error?.message ?? `Request failed (${res.status}).`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!event || data === undefined) continue;
          const parsed = JSON.parse(data) as Record<string, unknown>;
          if (event === 'session') onSession(String(parsed.session_id));
          else if (event === 'token') onToken(String(parsed.text));
          else if (event === 'done') return parsed as unknown as ChatResult;
          else if (event === 'error') {
            const e = parsed.error as { code: string; message: string };
            throw new ApiError(500, e.code, e.message);
          }
        }
      }
      throw new ApiError(502, 'stream_ended', 'The answer was cut off. Please try again.');
    },
  };
}
export type Api = ReturnType<typeof createApi>;

/** Exchanges a one-time login-link code for a token. */
export async function login(base: string, code: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', credentials: 'omit', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const body = (await res.json()) as { token?: string; error?: { message: string } };
  if (!res.ok || !body.token) throw new ApiError(res.status, 'login_failed', body.error?.message ?? 'Sign-in failed.');
  return body.token;
}
