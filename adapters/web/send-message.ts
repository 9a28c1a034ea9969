import { z } from 'zod';
import type { TurnScope } from '../../core/turn-scope.ts';
import type { Owner, TokenIdentity } from '../../core/conversations/intake.ts';
import { UserInputError } from '../../core/errors.ts';
import type { TurnStep } from '../../core/replies/steps.ts';
import { HttpError, sendJson, type HttpRequest, type HttpResponse } from '../http.ts';
import type { AuthedHandler, TurnListener, WebRouteDeps, WebRoute } from './route-deps.ts';
import { MAX_BODY_BYTES } from './http.ts';
import { turnResult } from './present.ts';
import { postMessageSchema, zodMessage, type PostMessage } from './schemas.ts';
import { openEventStream, wantsEventStream } from './sse.ts';
import { isStopRequest } from '../../core/commands/grammar.ts';
import { STOPPING_TEXT } from '../../core/conversations/stop-texts.ts';
import { textReply } from '../../core/replies/reply.ts';

/** The `Idempotency-Key` header's value: 1–255 visible ASCII characters. */
const idempotencyKeySchema = z.string().regex(/^[!-~]{1,255}$/);

/** The request's Idempotency-Key, undefined when none was sent; 400 for one that is malformed. */
function idempotencyKey(req: HttpRequest): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success)
    throw new HttpError(
      400,
      'invalid_header',
      'Idempotency-Key must be 1 to 255 visible ASCII characters (e.g. a UUID).',
    );
  return parsed.data;
}

/** The API's response to a message (the `done` event of a stream). */
type ChatResult = ReturnType<typeof turnResult> & { session_id: string };

const notFound = (what: string) => new HttpError(404, 'not_found', `${what} was not found.`);

/**
 * `POST /api/chat/messages`: queues the message into the session's inbox like every other
 * platform (one turn per session at a time, across processes) and answers with the turn's
 * result, as JSON or as server-sent events. With an `Idempotency-Key` a repeat of the same
 * request gets the first one's response (waiting for it while it runs) and starts no second turn.
 */
export function sendMessageRoute(ctx: WebRouteDeps, authed: (h: AuthedHandler) => WebRoute['handle']): WebRoute {
  const owner = (who: TokenIdentity): Owner => ({ tenantId: who.tenantId, platform: 'web', userId: who.userId });
  const keys = ctx.conversations.idempotency;

  /** Checks the session and its subject, creating the session when needed — all before any model call. */
  const prepare = async (body: PostMessage, who: TokenIdentity): Promise<TurnScope> => {
    // Other people's, other tenants' and unknown sessions alike are not found.
    if (body.session_id && !(await ctx.intake.ownSession(owner(who), body.session_id)))
      throw notFound('This conversation');
    const subject =
      body.context_type && body.context_type !== 'general' && body.context_id
        ? { type: body.context_type, id: body.context_id }
        : undefined;
    if (subject) {
      try {
        await ctx.intake.subjectSummary(who.tenantId, subject);
      } catch (err) {
        if (err instanceof UserInputError) throw notFound(`This ${subject.type}`);
        throw err;
      }
    }
    const sessionId = body.session_id ?? (await ctx.intake.openSession(owner(who)));
    if (body.context_type) await ctx.intake.setSessionSubject(who.tenantId, sessionId, subject);
    return { tenantId: who.tenantId, userId: who.userId, role: who.role, sessionId, platform: 'web' };
  };

  /** Queues the message; its inbox item id. */
  const queue = async (turn: TurnScope, text: string, files?: string[]): Promise<string> => {
    let submitted;
    try {
      submitted = await ctx.conversations.submit({
        turn,
        text,
        delivery: { platform: 'web', target: {} },
        ...(files ? { files } : {}),
      });
    } catch (err) {
      // Other tenants' files, like their sessions, are not found.
      if (err instanceof UserInputError && err.code === 'file_not_found') throw notFound('This file');
      throw err;
    }
    // Without an event id nothing is a redelivery; the check only narrows the type.
    if (submitted.status !== 'queued') throw new Error('a web message was taken for a redelivery');
    return submitted.itemId;
  };

  /** The API response to a finished turn: the stored user message and the turn's replies. */
  const chatResult = async (
    sessionId: string,
    text: string,
    done: { replies: Parameters<typeof turnResult>[1]; fromSeq?: string },
  ): Promise<ChatResult> => {
    const stored = done.fromSeq
      ? await ctx.intake.sessionMessages(sessionId, { after: Number(done.fromSeq) - 1, limit: 100 })
      : [];
    return { session_id: sessionId, ...turnResult(text, done.replies, stored, ctx.now()) };
  };

  /**
   * Waits for the item's result; the model's text streams to `onText` when this process runs the
   * turn. Without `signal` (keyed requests) it waits even when the client left, so the response is
   * stored for its retries; otherwise a client that goes away leaves the turn running and its
   * replies in the session.
   */
  const waitForResult = async (
    itemId: string,
    sessionId: string,
    text: string,
    opts: { signal?: AbortSignal; listener?: TurnListener | undefined },
  ) => {
    const unstream = opts.listener ? ctx.streamTo(itemId, opts.listener) : () => {};
    try {
      const done = await ctx.conversations.result(itemId, opts.signal ? { signal: opts.signal } : {});
      return done ? chatResult(sessionId, text, done) : undefined;
    } finally {
      unstream();
    }
  };

  /** How the response goes out: JSON, or server-sent events (`session`, `token` and `step`…, then `done`). */
  const output = (req: HttpRequest, res: HttpResponse) => {
    if (!wantsEventStream(req.headers.accept)) {
      return {
        started: (_sessionId: string) => {},
        listener: undefined,
        finish: (result: unknown, replayed: boolean) =>
          sendJson(res, 200, result, replayed ? { 'idempotent-replayed': 'true' } : {}),
        fail: (err: unknown) => {
          throw err;
        },
      };
    }
    let stream: ReturnType<typeof openEventStream> | undefined;
    const open = (replayed: boolean) =>
      (stream ??= openEventStream(res, replayed ? { 'idempotent-replayed': 'true' } : {}));
    return {
      started: (sessionId: string) => open(false).send('session', { session_id: sessionId }),
      listener: {
        onText: (text: string) => stream?.send('token', { text }),
        onStep: (step: TurnStep) => stream?.send('step', step),
      } satisfies TurnListener,
      finish: (result: unknown, replayed: boolean) => {
        const s = open(replayed);
        if (replayed) s.send('session', { session_id: (result as ChatResult).session_id });
        s.send('done', result);
        s.end();
      },
      fail: (err: unknown) => {
        // Before the stream opened, errors are answered as JSON with their status.
        if (!stream) throw err;
        ctx.log.error({ err }, 'streamed turn failed');
        stream.send('error', { error: { code: 'internal', message: 'Internal error; it was logged.' } });
        stream.end();
      },
    };
  };

  const closed = (res: HttpResponse) => {
    const stop = new AbortController();
    res.once('close', () => stop.abort());
    return stop.signal;
  };

  /** The message `stop` in a conversation: handled on arrival (never queued behind the turn it stops), answered at once. */
  const stop = async (
    req: HttpRequest,
    res: HttpResponse,
    who: TokenIdentity,
    body: PostMessage,
    sessionId: string,
  ) => {
    if (!(await ctx.intake.ownSession(owner(who), sessionId))) throw notFound('This conversation');
    const outcome = await ctx.conversations.stop(
      { tenantId: who.tenantId, userId: who.userId, role: who.role, platform: 'web' },
      sessionId,
    );
    const out = output(req, res);
    out.started(sessionId);
    out.finish(
      {
        session_id: sessionId,
        ...turnResult(
          body.message,
          [textReply(outcome.status === 'stopping' ? STOPPING_TEXT : outcome.text)],
          [],
          ctx.now(),
        ),
      },
      false,
    );
  };

  /** A message without an Idempotency-Key. */
  const plain = async (req: HttpRequest, res: HttpResponse, who: TokenIdentity, body: PostMessage) => {
    const out = output(req, res);
    const turn = await prepare(body, who);
    try {
      out.started(turn.sessionId);
      const itemId = await queue(turn, body.message, body.files);
      const result = await waitForResult(itemId, turn.sessionId, body.message, {
        signal: closed(res),
        listener: out.listener,
      });
      if (result) out.finish(result, false);
    } catch (err) {
      out.fail(err);
    }
  };

  /** A message with an Idempotency-Key: the first request does the work and stores the response; repeats get it. */
  const keyed = async (req: HttpRequest, res: HttpResponse, who: TokenIdentity, body: PostMessage, key: string) => {
    const out = output(req, res);
    const signal = closed(res);
    const me = owner(who);
    for (;;) {
      const claim = await keys.claim(me, key, body);
      if (claim.status === 'reused')
        throw new HttpError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was sent with another request; use a new key for a new message.',
        );
      if (claim.status === 'new') break;
      const outcome = await keys.waitFor(me, key, signal);
      if (!outcome) return;
      if (outcome.status === 'released') continue;
      if (outcome.status === 'lost')
        throw new HttpError(
          409,
          'idempotency_key_lost',
          'The request with this Idempotency-Key was answered, but its answer is no longer kept; its messages are in the conversation.',
        );
      const response =
        outcome.status === 'stored'
          ? outcome.response
          : await keys.settle(me, key, await chatResult(outcome.sessionId, body.message, outcome.result));
      out.finish(response, true);
      return;
    }
    let turn: TurnScope;
    let itemId: string;
    try {
      turn = await prepare(body, who);
      itemId = await queue(turn, body.message, body.files);
      await keys.attach(me, key, { itemId, sessionId: turn.sessionId });
    } catch (err) {
      await keys.release(me, key);
      throw err;
    }
    try {
      out.started(turn.sessionId);
      const result = await waitForResult(itemId, turn.sessionId, body.message, { listener: out.listener });
      if (!result) return;
      const response = await keys.settle(me, key, result);
      if (!signal.aborted) out.finish(response, false);
    } catch (err) {
      out.fail(err);
    }
  };

  return {
    method: 'POST',
    path: '/api/chat/messages',
    body: { kind: 'json', maxBytes: MAX_BODY_BYTES },
    handle: authed(async (req, res, who) => {
      const parsed = postMessageSchema.safeParse(req.body ?? {});
      if (!parsed.success) throw new HttpError(400, 'invalid_body', zodMessage(parsed.error));
      const key = idempotencyKey(req);
      if (parsed.data.session_id && isStopRequest(parsed.data.message))
        return stop(req, res, who, parsed.data, parsed.data.session_id);
      await (key ? keyed(req, res, who, parsed.data, key) : plain(req, res, who, parsed.data));
    }),
  };
}
