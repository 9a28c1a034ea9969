import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the bot made to the Bot Connector REST API. */
export type ConnectorCall = {
  kind: 'send' | 'reply' | 'update' | 'member';
  method: string;
  path: string;
  conversationId: string;
  /** Reply target (`/activities/{id}`) or updated activity id. */
  activityId?: string;
  headers: IncomingHttpHeaders;
  /** The activity body (send/reply/update). */
  activity: Record<string, unknown>;
  /** Id the fake assigned (send/reply). */
  id?: string;
  /** The status the fake refused this call with (see `refuse`). */
  refused?: number;
};

/**
 * An upload session in the user's OneDrive, as Teams hands one to the bot in a file consent
 * accept (`uploadInfo.uploadUrl`): the bot PUTs the bytes with `Content-Range: bytes 0-(n-1)/n`.
 */
type FakeUpload = {
  id: string;
  name: string;
  uploadUrl: string;
  contentUrl: string;
  bytes?: Buffer;
  contentRange?: string;
  authorization?: string;
  /** A slow OneDrive: the PUT is answered only once this settles. */
  answerAfter?: Promise<void>;
};

/** A running fake connector; see `startFakeConnector`. */
export type FakeConnector = {
  /** Use as the activities' `serviceUrl`. */
  readonly url: string;
  readonly calls: ConnectorCall[];
  /** Calls that posted or updated a message (not typing, not roster reads). */
  messages(): ConnectorCall[];
  /**
   * The next messages posted or updated into `conversationId` (not typing indicators) are refused with these statuses, in order, as
   * the Bot Connector does when throttling (429 with `Retry-After` seconds) or when Teams is
   * unavailable (502, 503); recorded with `refused`.
   */
  refuse(conversationId: string, ...answers: { status: number; retryAfter?: number }[]): void;
  /**
   * The person presses Stop on the streaming message in `conversationId`: from now on every
   * streaming call into it (typing or final with a `streamType`) is refused with 403 and error
   * code ContentStreamNotAllowed, as Teams does; recorded with `refused`.
   */
  stopStream(conversationId: string): void;
  /** Opens a fake OneDrive upload session for a file named `name` (what a consent accept carries). */
  uploadSession(name: string, o?: { answerAfter?: Promise<void> }): FakeUpload;
  /** The upload sessions, with the bytes PUT to them. */
  uploads(): FakeUpload[];
  /** Teams `userRole` the roster returns for a user id (`from.id`); default 'user'. */
  setMemberRole(userId: string, role: 'user' | 'guest' | 'anonymous'): void;
  /** Resolves with the matching calls once at least `count` calls match (default: any message). */
  waitFor(count: number, match?: (c: ConnectorCall) => boolean, timeoutMs?: number): Promise<ConnectorCall[]>;
  close(): Promise<void>;
};

const isMessage = (c: ConnectorCall) =>
  (c.kind === 'send' || c.kind === 'reply' || c.kind === 'update') &&
  c.activity.type !== 'typing' &&
  c.refused === undefined;

/**
 * A fake Bot Framework Connector on 127.0.0.1 (docs/design.md §11): records
 * `POST /v3/conversations/{id}/activities[/{replyTo}]` and `PUT …/activities/{id}`, answers
 * `GET /v3/conversations/{id}/members/{user}` from a roster, and returns realistic `{ id }`s.
 */
export async function startFakeConnector(): Promise<FakeConnector> {
  const calls: ConnectorCall[] = [];
  const roles = new Map<string, string>();
  const refusals = new Map<string, { status: number; retryAfter?: number }[]>();
  const stoppedStreams = new Set<string>();
  const waiters: { count: number; match: (c: ConnectorCall) => boolean; resolve: (c: ConnectorCall[]) => void }[] = [];
  let seq = 0;
  const notify = () => {
    for (const w of [...waiters]) {
      const found = calls.filter(w.match);
      if (found.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  /** Open streams by id: the last sequence number and whether response text has started. */
  const streams = new Map<string, { sequence: number; streaming: boolean }>();
  let pendingStreamStart: { sequence: number; streaming: boolean } | undefined;
  /**
   * Teams' streaming rules for a typing activity with stream info: sequence numbers start at 1 and
   * go up by one per stream, informative updates (at most 1,000 characters) only before the
   * response text streams, a final message closes the stream. Returns what Teams would refuse.
   */
  const checkStream = (activity: Record<string, unknown>): string | undefined => {
    const info = activity.channelData as
      { streamType?: string; streamSequence?: number; streamId?: string } | undefined;
    if (!info?.streamType) return undefined;
    if (info.streamType === 'final') {
      if (!info.streamId || !streams.has(info.streamId)) return 'final message for an unknown stream';
      streams.delete(info.streamId);
      return undefined;
    }
    if (activity.type !== 'typing') return 'stream updates are typing activities';
    if (info.streamType === 'informative' && String(activity.text ?? '').length > 1000)
      return 'informative update over 1000 characters';
    const stream = info.streamId ? streams.get(info.streamId) : { sequence: 0, streaming: false };
    if (!stream) return 'unknown streamId';
    if (info.streamSequence !== stream.sequence + 1)
      return `streamSequence ${info.streamSequence} after ${stream.sequence}`;
    if (info.streamType === 'informative' && stream.streaming)
      return 'informative update after the response started streaming';
    stream.sequence += 1;
    if (info.streamType === 'streaming') stream.streaming = true;
    if (!info.streamId) pendingStreamStart = stream;
    return undefined;
  };

  const uploads = new Map<string, FakeUpload>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const session = /^\/onedrive\/upload\/([\w-]+)$/.exec(url.pathname);
    if (session) {
      // A OneDrive upload session: one PUT of the whole file with its Content-Range; 201 and the driveItem when complete.
      const up = uploads.get(session[1]!);
      const bytes = Buffer.concat(chunks);
      const range = String(req.headers['content-range'] ?? '');
      const whole = `bytes 0-${bytes.length - 1}/${bytes.length}`;
      if (!up || req.method !== 'PUT' || up.bytes) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'itemNotFound', message: 'The upload session was not found.' } }));
        return;
      }
      if (range !== whole) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { code: 'invalidRange', message: `Content-Range ${range} does not match ${bytes.length} bytes.` },
          }),
        );
        return;
      }
      await up.answerAfter;
      Object.assign(up, {
        bytes,
        contentRange: range,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: up.id, name: up.name, size: bytes.length, file: {} }));
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const m = /^\/v3\/conversations\/([^/]+)\/(activities|members)(?:\/([^/]+))?$/.exec(url.pathname);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return send(404, { error: { code: 'NotFound', message: `no route ${req.method} ${url.pathname}` } });
    const conversationId = decodeURIComponent(m[1]!);
    const sub = m[3] ? decodeURIComponent(m[3]) : undefined;
    if (m[2] === 'members' && req.method === 'GET' && sub) {
      calls.push({
        kind: 'member',
        method: 'GET',
        path: url.pathname,
        conversationId,
        activityId: sub,
        headers: req.headers,
        activity: {},
      });
      return send(200, {
        id: sub,
        name: `Member ${sub}`,
        aadObjectId: sub,
        userRole: roles.get(sub) ?? 'user',
        tenantId: 'fake',
      });
    }
    const activity = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const channelData = activity.channelData as { streamType?: unknown } | undefined;
    if (m[2] === 'activities' && stoppedStreams.has(conversationId) && typeof channelData?.streamType === 'string') {
      calls.push({
        kind: req.method === 'PUT' ? 'update' : sub ? 'reply' : 'send',
        method: req.method ?? 'POST',
        path: url.pathname,
        conversationId,
        headers: req.headers,
        activity,
        refused: 403,
      });
      return send(403, {
        error: { code: 'ContentStreamNotAllowed', message: 'Content stream was cancelled by user.' },
      });
    }
    const refusal =
      m[2] === 'activities' && activity.type === 'message' ? refusals.get(conversationId)?.shift() : undefined;
    if (refusal) {
      calls.push({
        kind: req.method === 'PUT' ? 'update' : sub ? 'reply' : 'send',
        method: req.method ?? 'POST',
        path: url.pathname,
        conversationId,
        headers: req.headers,
        activity,
        refused: refusal.status,
      });
      res.writeHead(refusal.status, {
        'content-type': 'application/json',
        ...(refusal.retryAfter !== undefined ? { 'retry-after': String(refusal.retryAfter) } : {}),
      });
      res.end(
        JSON.stringify({
          error: {
            code: refusal.status === 429 ? 'TooManyRequests' : 'ServiceError',
            message: refusal.status === 429 ? 'Too many requests' : 'Bad gateway',
          },
        }),
      );
      return;
    }
    const streamProblem = m[2] === 'activities' && req.method === 'POST' ? checkStream(activity) : undefined;
    if (streamProblem) {
      calls.push({
        kind: sub ? 'reply' : 'send',
        method: 'POST',
        path: url.pathname,
        conversationId,
        headers: req.headers,
        activity,
        refused: 400,
      });
      return send(400, { error: { code: 'BadArgument', message: streamProblem } });
    }
    if (m[2] === 'activities' && req.method === 'POST') {
      const id = `1${String(Date.now()).slice(-9)}${String(++seq).padStart(3, '0')}`;
      calls.push({
        kind: sub ? 'reply' : 'send',
        method: 'POST',
        path: url.pathname,
        conversationId,
        ...(sub ? { activityId: sub } : {}),
        headers: req.headers,
        activity,
        id,
      });
      // A stream's first update: its id is the stream's id from now on.
      if (pendingStreamStart) streams.set(id, pendingStreamStart);
      pendingStreamStart = undefined;
      send(200, { id });
      return notify();
    }
    if (m[2] === 'activities' && req.method === 'PUT' && sub) {
      calls.push({
        kind: 'update',
        method: 'PUT',
        path: url.pathname,
        conversationId,
        activityId: sub,
        headers: req.headers,
        activity,
        id: sub,
      });
      send(200, { id: sub });
      return notify();
    }
    send(405, { error: { code: 'MethodNotAllowed', message: `${req.method} ${url.pathname}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    messages: () => calls.filter(isMessage),
    uploadSession(name, o = {}) {
      const id = `up-${++seq}`;
      const up: FakeUpload = {
        ...o,
        id,
        name,
        uploadUrl: `http://127.0.0.1:${port}/onedrive/upload/${id}`,
        contentUrl: `https://contoso.sharepoint.com/personal/u/Documents/Applications/${encodeURIComponent(name)}`,
      };
      uploads.set(id, up);
      return up;
    },
    uploads: () => [...uploads.values()],
    setMemberRole: (userId, role) => {
      roles.set(userId, role);
    },
    stopStream: (conversationId) => {
      stoppedStreams.add(conversationId);
    },
    refuse: (conversationId, ...answers) => {
      refusals.set(conversationId, [...(refusals.get(conversationId) ?? []), ...answers]);
    },
    waitFor(count, match = isMessage, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `fake connector: waited ${timeoutMs} ms for ${count} matching calls; have ${calls.filter(match).length}: ${JSON.stringify(calls.map((c) => `${c.kind} ${c.activity.type ?? ''}`))}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          count,
          match,
          resolve: (found) => {
            clearTimeout(timer);
            resolve(found);
          },
        });
        notify();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
