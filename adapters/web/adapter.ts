import type { Deliverer, Streamer } from '../../core/replies/delivery.ts';
import { HttpError } from '../http.ts';
import { bearer, corsHeaders, createClientAddress, handlePreflight } from './http.ts';
import {
  throwIfLimited,
  type ApiHandler,
  type AuthedHandler,
  type TurnListener,
  type WebAdapterDeps,
  type WebRouteDeps,
  type WebRoute,
} from './route-deps.ts';
import { chatRoutes } from './chat-routes.ts';
import { actionRoutes } from './action-routes.ts';
import { panelRoutes } from './static.ts';

/**
 * The web channel (docs/design.md §1 `adapters/web`): the chat REST API with bearer API tokens, SSE
 * streaming, the OpenAPI document and the chat panel. Messages go through the session inbox like
 * every platform's (the HTTP call waits for the answer, streamed by `streamer` when this process
 * runs the turn); a confirm's follow-up or a notice is stored in the session and announced to
 * long-polling clients by the `deliverer`.
 */
export type { WebSettings } from './route-deps.ts';

export function createWebAdapter(deps: WebAdapterDeps): {
  routes: WebRoute[];
  deliverer: Deliverer;
  streamer: Streamer;
} {
  const log = deps.log.child({ component: 'web' });
  const waiters = new Map<string, Set<() => void>>();
  const live = new Map<string, TurnListener>();

  const ctx: WebRouteDeps = {
    ...deps,
    log,
    cors: (req) => corsHeaders(req, deps.settings.allowedOrigins),
    clientAddress: createClientAddress(deps.settings.trustProxy),
    waitForDelivery(sessionId, ms) {
      return new Promise((resolve) => {
        const set = waiters.get(sessionId) ?? new Set();
        waiters.set(sessionId, set);
        const done = () => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) waiters.delete(sessionId);
          resolve();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
      });
    },
    streamTo(itemId, listener) {
      live.set(itemId, listener);
      return () => {
        live.delete(itemId);
      };
    },
  };

  /** Wraps an API handler: the CORS headers go on every answer, also the server's error answers. */
  const api =
    (fn: ApiHandler): WebRoute['handle'] =>
    async (req, res) => {
      for (const [name, value] of Object.entries(ctx.cors(req))) res.setHeader(name, value);
      await fn(req, res);
    };

  /** Wraps a handler: CORS headers, bearer auth (401), per-token rate limit (429). */
  const authed = (handler: AuthedHandler) =>
    api(async (req, res) => {
      const token = bearer(req);
      if (!token)
        throw new HttpError(
          401,
          'unauthorized',
          'Send your API token as "Authorization: Bearer <token>" (renderbot admin token create).',
        );
      const who = await deps.intake.verifyToken(token);
      if (!who)
        throw new HttpError(
          401,
          'unauthorized',
          'This API token is not valid or was revoked. Ask an admin for a new one.',
        );
      throwIfLimited(await deps.limits.api.take(who.tokenId), 'Too many requests with this token');
      await handler(req, res, who);
    });

  const deliverer: Deliverer = async (_target, _reply, info) => {
    // The core already stored the reply in chat_message; wake clients waiting for it.
    log.debug({ sessionId: info.sessionId }, 'web delivery');
    for (const wake of [...(waiters.get(info.sessionId) ?? [])]) wake();
    return undefined;
  };

  /** Streams a turn's text and steps to the request waiting for it in this process (SSE), if any; the request then sends them on. */
  const streamer: Streamer = (_target, info) => {
    // Merged messages are answered by one turn: each waiting request gets its text and steps. The
    // requests are looked up at each write, not once: a turn can start (another process's NOTIFY,
    // a fast claim) before the request that queued it has begun to listen.
    const listeners = () => (info.itemIds ?? []).flatMap((id) => live.get(id) ?? []);
    return {
      push: (delta) => {
        for (const l of listeners()) l.onText(delta);
      },
      step: (step) => {
        for (const l of listeners()) l.onStep(step);
      },
      end: async () => undefined,
    };
  };

  const routes = [...chatRoutes(ctx, authed), ...actionRoutes(ctx, authed, api)];
  // Browsers send a CORS preflight before cross-origin API calls from pages that embed the panel.
  const preflights: WebRoute[] = [...new Set(routes.map((r) => r.path))].map((path) => ({
    method: 'OPTIONS',
    path,
    handle: (req, res) => handlePreflight(req, res, deps.settings.allowedOrigins),
  }));
  return { routes: [...routes, ...preflights, ...panelRoutes(ctx)], deliverer, streamer };
}
