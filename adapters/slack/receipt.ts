import { isValidSlackRequest, type App as BoltApp } from '@slack/bolt';
import { z } from 'zod';
import { isTransientDatabaseError, type DatabaseAvailability } from '../../core/availability.ts';
import type { Intake } from '../../core/conversations/intake.ts';
import type { Logger } from '../../core/logger.ts';
import type { HttpRequest, HttpResponse } from '../http.ts';
import { STOP_ACTION_ID } from './stop.ts';

/*
 * A Slack request that may start work — a message to the bot, a slash command, a button click — is stored
 * before Slack gets its acknowledgement, so nothing acknowledged is lost: when the database is
 * out of reach the request is refused in a way Slack retries (events: 503) or the person sees
 * (slash commands, which Slack never retries: an ephemeral "try again"); when its handling stops
 * half-way (the database went away after the acknowledgement, the process died) it is replayed
 * from the stored copy. A request that was stored before (a Slack retry, a replayed signed
 * request) is acknowledged and left to its first copy.
 */

/** What a person sees when their slash command could not be taken. */
const NOT_TAKEN_TEXT =
  'RenderBot could not take that command just now (its database is unavailable). Please try again in a minute.';

/** How long a stored request's first handling may take before it is replayed. */
const REPLAY_AFTER_SECONDS = 15;
/** Replays of one request before it is given up (and logged). */
const MAX_REPLAYS = 5;
/** How often to look for requests due for a replay. */
const REPLAY_EVERY_MS = 2000;

/** The stored copy: Bolt's parsed body (without the verification token) and the retry number it came with. */
const storedSchema = z.object({ body: z.record(z.string(), z.unknown()), retryNum: z.number().int().optional() });
const eventBodySchema = z.object({
  type: z.literal('event_callback'),
  event_id: z.string().min(1).max(256),
  authorizations: z.array(z.object({ user_id: z.string().optional() })).optional(),
  event: z.object({
    type: z.string(),
    subtype: z.string().optional(),
    bot_id: z.string().optional(),
    channel_type: z.string().optional(),
    thread_ts: z.string().optional(),
    text: z.string().optional(),
  }),
});
const commandBodySchema = z.object({ command: z.string(), trigger_id: z.string().min(1).max(256) });
/** A click on a button (confirm, cancel, 👍/👎, a suggestion, a link): Slack gives each its own trigger id. */
const clickBodySchema = z.object({
  type: z.literal('block_actions'),
  trigger_id: z.string().min(1).max(256),
  actions: z.array(z.object({ action_id: z.string() })).optional(),
});

/** A click's key: its trigger id — but a Stop is acknowledged only once stored (stop.ts) and never replayed: late, it would stop newer turns. */
function clickKey(click: z.infer<typeof clickBodySchema>): string | undefined {
  return click.actions?.some((a) => a.action_id === STOP_ACTION_ID) ? undefined : click.trigger_id;
}

/**
 * The id a request is stored under — the event id of a message people send to the bot, the
 * trigger id of a slash command (the ids the listeners queue turns with) or of a button click
 * (marked handled once its listener finished: `markClicksHandled`) — or undefined for requests
 * that start nothing: the home tab, events the listeners ignore (bot posts, edits, channel
 * messages outside threads, replies that mention the bot, which come again as app_mention).
 */
export function receiptKey(body: unknown): string | undefined {
  const command = commandBodySchema.safeParse(body);
  if (command.success) return command.data.trigger_id;
  const click = clickBodySchema.safeParse(body);
  if (click.success) return clickKey(click.data);
  const envelope = eventBodySchema.safeParse(body);
  if (!envelope.success) return undefined;
  const { event } = envelope.data;
  if (event.subtype !== undefined || event.bot_id) return undefined;
  if (event.type === 'app_mention') return envelope.data.event_id;
  if (event.type !== 'message') return undefined;
  if (event.channel_type === 'im') return envelope.data.event_id;
  const botUser = envelope.data.authorizations?.[0]?.user_id;
  const mentionsBot = botUser !== undefined && (event.text ?? '').includes(`<@${botUser}>`);
  return (event.channel_type === 'channel' || event.channel_type === 'group') && event.thread_ts && !mentionsBot
    ? envelope.data.event_id
    : undefined;
}

export type SlackReceiptDeps = {
  signingSecret: string;
  intake: Pick<Intake, 'storeRequest' | 'requestHandled' | 'dueRequests'>;
  availability: DatabaseAvailability;
  log: Logger;
};

/** Parses a signed Slack request body as Bolt does (JSON, form fields, or a form `payload`). */
function parseBody(req: HttpRequest, raw: string): unknown {
  try {
    if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(raw);
      const payload = form.get('payload');
      return payload !== null ? JSON.parse(payload) : Object.fromEntries(form);
    }
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Slack's SSL check of a slash command's URL: an unsigned form with `ssl_check=1`. */
function isSslCheck(req: HttpRequest, raw: string): boolean {
  return (
    String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') &&
    new URLSearchParams(raw).get('ssl_check') === '1'
  );
}

/** Slack's (deprecated) verification token travels in every body (and a workflow function's bot_access_token in its clicks): secrets, never stored. */
function withoutToken(body: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, bot_access_token: _botToken, ...rest } = body;
  return rest;
}

/**
 * Wraps Bolt's request listener for /slack/events: a request that may start work is stored
 * first and only then handed to Bolt (which acknowledges it and runs the listeners); see above.
 */
export function createSlackReceipt(deps: SlackReceiptDeps) {
  const log = deps.log;
  /** Clicks this process is handling right now: a slow listener is not replayed alongside itself. */
  const handling = new Set<string>();

  async function receive(
    req: HttpRequest,
    res: HttpResponse,
    bolt: (req: HttpRequest, res: HttpResponse) => Promise<void>,
  ): Promise<void> {
    const raw = req.rawBody?.toString('utf8') ?? '';
    const signed = isValidSlackRequest({
      signingSecret: deps.signingSecret,
      body: raw,
      headers: {
        'x-slack-signature': String(req.headers['x-slack-signature'] ?? ''),
        'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
      },
    });
    // Slack's ssl_check (a form with ssl_check=1) comes unsigned and only wants a 200, as Bolt
    // answers it; whatever else its body carries is never read.
    if (!signed && isSslCheck(req, raw)) {
      res.sendRaw(200, '');
      return;
    }
    // The one signature check of a request (Bolt's receiver is built without its own, app.ts):
    // refused as Bolt refuses it, with nothing stored. Malformed signed bodies are Bolt's to refuse.
    if (!signed) {
      log.warn({ url: req.url }, 'refused a Slack request with a bad or stale signature');
      res.sendRaw(401, '');
      return;
    }
    const body = parseBody(req, raw);
    const key = body ? receiptKey(body) : undefined;
    if (!key || typeof body !== 'object' || body === null) return bolt(req, res);
    const retry = Number(req.headers['x-slack-retry-num']);
    let fresh: boolean;
    try {
      fresh = await deps.intake.storeRequest(
        'slack',
        key,
        {
          body: withoutToken(body as Record<string, unknown>),
          ...(Number.isInteger(retry) ? { retryNum: retry } : {}),
        },
        REPLAY_AFTER_SECONDS,
      );
    } catch (err) {
      if (!deps.availability.report(err)) log.error({ err, key }, 'could not store a Slack request; refusing it');
      if (commandBodySchema.safeParse(body).success)
        res.sendRaw(200, JSON.stringify({ response_type: 'ephemeral', text: NOT_TAKEN_TEXT }), {
          'content-type': 'application/json; charset=utf-8',
        });
      else res.sendRaw(503, '', { 'retry-after': '60' });
      return;
    }
    if (!fresh) {
      log.debug({ eventId: key, outcome: 'duplicate', retryNum: req.headers['x-slack-retry-num'] }, 'slack event done');
      res.sendRaw(200, '');
      return;
    }
    return bolt(req, res);
  }

  /**
   * A click's listener decides at once (confirm and cancel exactly once, feedback replacing an
   * earlier click, a suggestion queued under its own id): once it has finished, its stored
   * copy is marked handled. A listener cut short by a database outage throws, so the click stays
   * due and is replayed once the database is back.
   */
  function markClicksHandled(app: BoltApp): void {
    app.use(async ({ body, next }) => {
      const click = clickBodySchema.safeParse(body);
      const key = click.success ? clickKey(click.data) : undefined;
      if (key === undefined) return next();
      handling.add(key);
      try {
        await next();
      } catch (err) {
        // Cut short by the database: left due for a replay. Anything else (Slack refused an update
        // after the decision was made) would only be repeated by a replay: the click is done.
        if (isTransientDatabaseError(err)) throw err;
        await deps.intake.requestHandled('slack', key);
        throw err;
      } finally {
        handling.delete(key);
      }
      await deps.intake.requestHandled('slack', key);
    });
  }

  /** Replays stored requests whose handling did not finish, through Bolt's listeners (no HTTP response to send). */
  function startReplays(app: BoltApp): () => void {
    let running = false;
    const tick = async () => {
      if (running || !deps.availability.up) return;
      running = true;
      try {
        for (const due of await deps.intake.dueRequests('slack', 20, REPLAY_AFTER_SECONDS * 2)) {
          if (handling.has(due.eventId)) continue;
          const stored = storedSchema.safeParse(due.request);
          if (!stored.success || due.replays >= MAX_REPLAYS) {
            log.error(
              { key: due.eventId, replays: due.replays },
              'giving up on a Slack request that could not be handled',
            );
            await deps.intake.requestHandled('slack', due.eventId);
            continue;
          }
          log.info(
            { key: due.eventId, replays: due.replays },
            'replaying a Slack request whose handling did not finish',
          );
          await app
            .processEvent({
              body: stored.data.body,
              ack: async () => {},
              ...(stored.data.retryNum !== undefined ? { retryNum: stored.data.retryNum } : {}),
            })
            .catch((err: unknown) => {
              if (!deps.availability.report(err)) log.error({ err, key: due.eventId }, 'replayed Slack request failed');
            });
        }
      } catch (err) {
        if (!deps.availability.report(err)) log.error({ err }, 'could not look for Slack requests to replay');
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void tick(), REPLAY_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  return { receive, markClicksHandled, startReplays };
}
