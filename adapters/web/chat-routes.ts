import { z } from 'zod';
import type { Owner, TokenIdentity } from '../../core/conversations/intake.ts';
import { HttpError, sendJson, type HttpRequest } from '../http.ts';
import type { AuthedHandler, WebRouteDeps, WebRoute } from './route-deps.ts';
import { searchParams } from './http.ts';
import { apiMessage, apiSession, sessionCursors } from './present.ts';
import { stopResultSchema } from './schemas.ts';
import { STOPPING_TEXT } from '../../core/conversations/stop-texts.ts';
import { sendMessageRoute } from './send-message.ts';
import { uploadRoute } from './upload-route.ts';

/** Longest a long-poll for new messages may wait. */
const MAX_WAIT_S = 25;

const notFound = (what: string) => new HttpError(404, 'not_found', `${what} was not found.`);

function pageLimit(req: HttpRequest, fallback: number): number {
  const raw = searchParams(req).get('limit');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new HttpError(400, 'invalid_query', 'limit must be a whole number from 1 to 100.');
  return n;
}

/** `/api/chat/*`: send messages (JSON or SSE), list, read and delete the caller's sessions. */
export function chatRoutes(ctx: WebRouteDeps, authed: (h: AuthedHandler) => WebRoute['handle']): WebRoute[] {
  const owner = (who: TokenIdentity): Owner => ({ tenantId: who.tenantId, platform: 'web', userId: who.userId });
  /** The caller's own session id; 404 for other people's, other tenants' and unknown ids alike. */
  const ownSession = async (who: TokenIdentity, sessionId: string): Promise<string> => {
    const own = z.uuid().safeParse(sessionId).success ? await ctx.intake.ownSession(owner(who), sessionId) : undefined;
    if (!own) throw notFound('This conversation');
    return own;
  };

  return [
    sendMessageRoute(ctx, authed),
    uploadRoute(ctx, authed),

    {
      method: 'GET',
      path: '/api/chat/sessions',
      handle: authed(async (req, res, who) => {
        const limit = pageLimit(req, 20);
        const cursor = searchParams(req).get('cursor');
        const before = cursor ? sessionCursors.decode(cursor) : undefined;
        if (cursor && !before) throw new HttpError(400, 'invalid_query', 'cursor is not a next_cursor of this API.');
        const rows = await ctx.intake.listSessions(owner(who), { limit: limit + 1, ...(before ? { before } : {}) });
        const page = rows.slice(0, limit);
        const tail = page.at(-1);
        sendJson(res, 200, {
          sessions: page.map(apiSession),
          next_cursor: rows.length > limit && tail ? sessionCursors.encode(tail) : null,
        });
      }),
    },

    {
      method: 'GET',
      path: '/api/chat/sessions/:session_id/messages',
      handle: authed(async (req, res, who) => {
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
        const load = () =>
          ctx.intake.sessionMessages(sessionId, {
            limit: limit + 1,
            ...(after !== undefined ? { after } : {}),
            ...(before !== undefined ? { before } : {}),
          });
        let rows = await load();
        if (after !== undefined && wait > 0 && rows.length === 0) {
          // Long-poll: woken by the web deliverer (follow-ups), re-checked every second for other processes' writes.
          const deadline = Date.now() + wait * 1000;
          let gone = false;
          req.once('close', () => {
            gone = true;
          });
          while (rows.length === 0 && !gone && Date.now() < deadline) {
            await ctx.waitForDelivery(sessionId, Math.min(1000, deadline - Date.now()));
            rows = await load();
          }
        }
        const more = rows.length > limit;
        const page = after !== undefined ? rows.slice(0, limit) : rows.slice(more ? 1 : 0);
        const next = after !== undefined ? null : more ? page[0]?.seq : undefined;
        sendJson(res, 200, { messages: page.map(apiMessage), next_cursor: next ? String(next) : null });
      }),
    },

    {
      method: 'POST',
      path: '/api/chat/sessions/:session_id/stop',
      handle: authed(async (req, res, who) => {
        const sessionId = await ownSession(who, req.params.session_id ?? '');
        const outcome = await ctx.conversations.stop(
          { tenantId: who.tenantId, userId: who.userId, role: who.role, platform: 'web' },
          sessionId,
        );
        if (outcome.status === 'refused') throw new HttpError(403, 'forbidden', outcome.text);
        sendJson(
          res,
          200,
          stopResultSchema.parse({
            status: outcome.status,
            message: outcome.status === 'stopping' ? STOPPING_TEXT : outcome.text,
          }),
        );
      }),
    },

    {
      method: 'DELETE',
      path: '/api/chat/sessions/:session_id',
      handle: authed(async (req, res, who) => {
        const sessionId = await ownSession(who, req.params.session_id ?? '');
        await ctx.intake.deleteSession(who.tenantId, sessionId);
        res.sendRaw(204, '', { 'cache-control': 'no-store' });
      }),
    },
  ];
}
