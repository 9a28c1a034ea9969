import { z } from 'zod';
import type { TurnContext } from '../../core/context.ts';
import type { Owner, TokenIdentity } from '../../core/conversations/intake.ts';
import { UserInputError } from '../../core/errors.ts';
import { HttpError, sendJson, type HttpRequest, type HttpResponse } from '../http.ts';
import type { AuthedHandler, WebContext, WebRoute } from './adapter.ts';
import { MAX_BODY_BYTES, searchParams } from './http.ts';
import { apiMessage, apiSession, sessionCursors, turnResult } from './present.ts';
import { postMessageSchema, zodMessage, type PostMessage } from './schemas.ts';
import { openEventStream, wantsEventStream } from './sse.ts';

/** Longest a long-poll for new messages may wait. */
export const MAX_WAIT_S = 25;

const notFound = (what: string) => new HttpError(404, 'not_found', `${what} was not found.`);

function pageLimit(req: HttpRequest, fallback: number): number {
  const raw = searchParams(req).get('limit');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new HttpError(400, 'invalid_query', 'limit must be a whole number from 1 to 100.');
  return n;
}

/** `/api/chat/*`: send messages (JSON or SSE), list, read and delete the caller's sessions. */
export function chatRoutes(ctx: WebContext, authed: (h: AuthedHandler) => WebRoute['handle']): WebRoute[] {
  const owner = (who: TokenIdentity): Owner => ({ tenantId: who.tenantId, platform: 'web', userId: who.userId });
  /** The caller's own session id; 404 for other people's, other tenants' and unknown ids alike. */
  const ownSession = async (who: TokenIdentity, sessionId: string): Promise<string> => {
    const own = z.uuid().safeParse(sessionId).success ? await ctx.intake.ownSession(owner(who), sessionId) : undefined;
    if (!own) throw notFound('This conversation');
    return own;
  };

  /** Validates the body, session and context, creating the session when needed — all before any model call. */
  const prepare = async (req: HttpRequest, who: TokenIdentity): Promise<{ body: PostMessage; turn: TurnContext }> => {
    const parsed = postMessageSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'invalid_body', zodMessage(parsed.error));
    const body = parsed.data;
    if (body.session_id) await ownSession(who, body.session_id);
    const context = body.context_type && body.context_type !== 'general' && body.context_id ? { type: body.context_type, id: body.context_id } : undefined;
    if (context) {
      try {
        await ctx.intake.contextSummary(who.tenantId, context);
      } catch (err) {
        if (err instanceof UserInputError) throw notFound(`This ${context.type}`);
        throw err;
      }
    }
    const sessionId = body.session_id ?? await ctx.intake.openSession(owner(who));
    if (body.context_type) await ctx.intake.setSessionContext(who.tenantId, sessionId, context);
    return { body, turn: { tenantId: who.tenantId, userId: who.userId, role: who.role, sessionId, platform: 'web' } };
  };

  /**
   * Queues the message into the session's inbox like every other platform (one turn per session
   * at a time, across processes) and waits for its answer. The model's text streams to `onText`
   * when this process runs the turn. A client that goes away leaves the turn running; its answer
   * stays in the session.
   */
  const runTurn = async (res: HttpResponse, turn: TurnContext, text: string, onText?: (delta: string) => void) => {
    const stop = new AbortController();
    res.once('close', () => stop.abort());
    let unstream = () => {};
    try {
      const submitted = await ctx.conversations.submit({ turn, text, delivery: { platform: 'web', target: {} } });
      // Without an event id nothing is a redelivery; the check only narrows the type.
      if (submitted.status !== 'queued') throw new HttpError(409, 'duplicate', 'This message was already sent.');
      // Registered before the drain can stream: it first claims the session and reads the turn's state.
      if (onText) unstream = ctx.streamTo(submitted.itemId, onText);
      const done = await ctx.conversations.result(submitted.itemId, { signal: stop.signal });
      if (!done) return undefined;
      const stored = done.fromSeq ? await ctx.intake.sessionMessages(turn.sessionId, { after: Number(done.fromSeq) - 1, limit: 100 }) : [];
      return { session_id: turn.sessionId, ...turnResult(text, done.replies, stored, ctx.now()) };
    } finally {
      unstream();
    }
  };

  return [
    { method: 'POST', path: '/api/chat/messages', body: { kind: 'json', maxBytes: MAX_BODY_BYTES }, handle: authed(async (req, res, who) => {
      const { body, turn } = await prepare(req, who);
      if (!wantsEventStream(req.headers.accept)) {
        const result = await runTurn(res, turn, body.message);
        if (result) sendJson(res, 200, result);
        return;
      }
      const stream = openEventStream(res);
      try {
        stream.send('session', { session_id: turn.sessionId });
        const result = await runTurn(res, turn, body.message, (text) => stream.send('token', { text }));
        if (result) stream.send('done', result);
      } catch (err) {
        ctx.log.error({ err }, 'streamed turn failed');
        stream.send('error', { error: { code: 'internal', message: 'Internal error; it was logged.' } });
      } finally {
        stream.end();
      }
    }) },

    { method: 'GET', path: '/api/chat/sessions', handle: authed(async (req, res, who) => {
      const limit = pageLimit(req, 20);
      const cursor = searchParams(req).get('cursor');
      const before = cursor ? sessionCursors.decode(cursor) : undefined;
      if (cursor && !before) throw new HttpError(400, 'invalid_query', 'cursor is not a next_cursor of this API.');
      const rows = await ctx.intake.listSessions(owner(who), { limit: limit + 1, ...(before ? { before } : {}) });
      const page = rows.slice(0, limit);
      const tail = page.at(-1);
      sendJson(res, 200, { sessions: page.map(apiSession), next_cursor: rows.length > limit && tail ? sessionCursors.encode(tail) : null });
    }) },

    { method: 'GET', path: '/api/chat/sessions/:session_id/messages', handle: authed(async (req, res, who) => {
      const sessionId = await ownSession(who, req.params.session_id ?? '');
      const q = searchParams(req);
      const limit = pageLimit(req, 50);
      const seq = (name: string) => {
        const v = q.get(name);
        if (v === null) return undefined;
        if (!/^\d{1,18}$/.test(v)) throw new HttpError(400, 'invalid_query', `${name} must be a message cursor.`);
        return Number(v);
      };
      const after = seq('after');
      const before = seq('cursor');
      const wait = Math.min(MAX_WAIT_S, Math.max(0, Number(q.get('wait') ?? 0) || 0));
      const load = () => ctx.intake.sessionMessages(sessionId, { limit: limit + 1, ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}) });
      let rows = await load();
      if (after !== undefined && wait > 0 && rows.length === 0) {
        // Long-poll: woken by the web deliverer (follow-ups), re-checked every second for other processes' writes.
        const deadline = Date.now() + wait * 1000;
        let gone = false;
        req.once('close', () => { gone = true; });
        while (rows.length === 0 && !gone && Date.now() < deadline) {
          await ctx.waitForDelivery(sessionId, Math.min(1000, deadline - Date.now()));
          rows = await load();
        }
      }
      const more = rows.length > limit;
      const page = after !== undefined ? rows.slice(0, limit) : rows.slice(more ? 1 : 0);
      const next = after !== undefined ? null : more ? page[0]?.seq : undefined;
      sendJson(res, 200, { messages: page.map(apiMessage), next_cursor: next ? String(next) : null });
    }) },

    { method: 'DELETE', path: '/api/chat/sessions/:session_id', handle: authed(async (req, res, who) => {
      const sessionId = await ownSession(who, req.params.session_id ?? '');
      await ctx.intake.deleteSession(who.tenantId, sessionId);
      res.sendRaw(204, '', { 'cache-control': 'no-store' });
    }) },
  ];
}
