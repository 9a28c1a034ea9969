import type { IncomingMessage } from 'node:http';
import type { Intake, TokenIdentity } from '../../core/conversations/intake.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import type { Files } from '../../core/files/service.ts';
import type { Logger } from '../../core/logger.ts';
import type { TurnStep } from '../../core/replies/steps.ts';
import type { RateLimit, RateVerdict } from '../../core/rate-limits.ts';
import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from '../http.ts';

/*
 * What the web channel's route files share: their settings, dependencies and handler types, and
 * the rate-limit response. adapter.ts mounts the routes; the routes import only this file, so no
 * file of the channel imports the one that imports it.
 */

/** A route as bot/server.ts mounts it. */
export type WebRoute = HttpRoute;

/** Web channel settings. */
export type WebSettings = {
  /** Origins (scheme://host[:port]) of the SaaS pages that embed the panel; others get no CORS headers. */
  allowedOrigins: readonly string[];
  /** Requests per minute per token (counted in PostgreSQL, across processes). */
  rateLimitPerMinute: number;
  /** Sign-in attempts per minute per client address (default LOGINS_PER_MINUTE). */
  loginsPerMinute?: number;
  /** Proxies whose X-Forwarded-For is believed (addresses, subnets, loopback/uniquelocal/linklocal); unset: none. */
  trustProxy?: readonly string[];
  /** Directory of the built panel (adapters/web/panel/dist); routes under /chat serve it. */
  panelDir: string;
};

/** The intake calls the web API uses: tokens, sign-in links, the caller's sessions, context summaries. */
type WebIntake = Pick<
  Intake,
  | 'verifyToken'
  | 'redeemLogin'
  | 'overview'
  | 'openSession'
  | 'ownSession'
  | 'listSessions'
  | 'sessionMessages'
  | 'deleteSession'
  | 'subjectSummary'
  | 'setSessionSubject'
>;

export type WebAdapterDeps = {
  conversations: Pick<
    Conversations,
    'submit' | 'result' | 'confirm' | 'cancel' | 'feedback' | 'stop' | 'idempotency' | 'starters'
  >;
  /** The core's intake (never a database handle, docs/design.md §1). */
  intake: WebIntake;
  /** Uploaded files (core/files): `POST /api/chat/files` hands them their bytes. */
  files: Pick<Files, 'upload'>;
  log: Logger;
  now: () => Date;
  settings: WebSettings;
  /** Shared rate limits: `api` per token, `login` per client address. */
  limits: { api: RateLimit; login: RateLimit };
};

/** Receives a streamed turn: the model's text as it is written and each step's newest state. */
export type TurnListener = { onText(delta: string): void; onStep(step: TurnStep): void };

/** What a route handler gets: the authenticated caller plus shared helpers. */
export type WebRouteDeps = WebAdapterDeps & {
  cors(req: IncomingMessage): Record<string, string>;
  /** The client's address (from X-Forwarded-For only behind a trusted proxy). */
  clientAddress(req: IncomingMessage): string;
  /** Resolves on the next delivery (e.g. a confirm's follow-up) to the session, or after `ms`. */
  waitForDelivery(sessionId: string, ms: number): Promise<void>;
  /** Sends the model's text and the steps of the turn answering inbox item `itemId`, when this process runs it, to `listener` until the returned function is called. */
  streamTo(itemId: string, listener: TurnListener): () => void;
};

/** An API handler: errors it throws (HttpError, RenderBotError) are answered by the server, with the CORS headers. */
export type ApiHandler = (req: HttpRequest, res: HttpResponse) => Promise<void>;

/** A handler that needs a valid bearer token. */
export type AuthedHandler = (req: HttpRequest, res: HttpResponse, who: TokenIdentity) => Promise<void>;

/** 429 over the limit (503 when the counters cannot be read), with Retry-After. */
export function throwIfLimited(rate: RateVerdict, what: string): void {
  if (rate.ok) return;
  const headers = { 'retry-after': String(rate.retryAfterS) };
  if (rate.unavailable)
    throw new HttpError(
      503,
      'unavailable',
      `The service cannot check its rate limits right now; retry in ${rate.retryAfterS} s.`,
      headers,
    );
  throw new HttpError(429, 'rate_limited', `${what}; retry in ${rate.retryAfterS} s.`, headers);
}
