import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LooseJson } from '../support/loose-json.ts';

/** One request the fake received: a Web API method (or 'response_url'), its token and parsed body. */
export type SlackCall = {
  method: string;
  token?: string;
  body: Record<string, unknown>;
  path: string;
  response?: Record<string, unknown>;
  rateLimited?: boolean;
};

/** A workspace the fake knows: its bot token and ids (answers auth.test). */
export type FakeTeam = {
  token: string;
  teamId: string;
  teamName?: string;
  botUserId: string;
  botId: string;
  enterpriseId?: string;
};

/** A user for users.info. */
type FakeUser = {
  id: string;
  teamId: string;
  name: string;
  real_name?: string;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  is_bot?: boolean;
  /** A Slack Connect user: visible to workspaces sharing a channel with `teamId` (users.info answers with their own team_id). */
  connect?: boolean;
};

/** A message as the fake holds it now: posted by chat.postMessage, changed by chat.update, gone after chat.delete. */
type FakeMessage = {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: unknown;
  blocks?: unknown;
  streaming?: boolean;
  metadata?: unknown;
  /** A streamed message's tasks by id, newest state (task_update chunks), and its display mode. */
  tasks?: Map<string, Record<string, unknown>>;
  taskDisplayMode?: string;
};

/**
 * A file uploaded the files.uploadV2 way: reserved by files.getUploadURLExternal (name, length),
 * its bytes POSTed to the upload URL, then shared by files.completeUploadExternal.
 */
type FakeFile = {
  id: string;
  filename: string;
  length: number;
  bytes?: Buffer;
  title?: string;
  channel?: string;
  threadTs?: string;
  completed: boolean;
};

/** An oauth.v2.access answer for a code. */
type FakeOAuthGrant = {
  code: string;
  team: FakeTeam;
  authedUser: string;
  scope: string;
  /** The app has token rotation on: the bot token expires (12 h) and comes with a refresh token Slack revokes once used. */
  rotation?: boolean;
};

/** A running fake Slack Web API; see `startFakeSlack`. */
export type FakeSlack = {
  /** Base URL (http://127.0.0.1:port). */
  readonly url: string;
  /** What SLACK_API_URL should be: `${url}/api/`. */
  readonly apiUrl: string;
  /** Every call in arrival order. */
  readonly calls: SlackCall[];
  /** Problems: unknown methods, bad tokens, invalid blocks. Tests assert it stays empty. */
  readonly failures: string[];
  addTeam(team: FakeTeam): void;
  addUser(user: FakeUser): void;
  addGrant(grant: FakeOAuthGrant): void;
  /**
   * Hosts a file shared in `team`'s workspace; returns its `url_private_download`. Like Slack's
   * file host, it serves the bytes only to a request carrying that team's bot token as
   * `Authorization: Bearer`; others are redirected (302) to the sign-in page, an HTML page.
   * Every request is recorded as method 'file_download' with the token it carried.
   */
  addFile(team: FakeTeam, file: { id: string; name: string; bytes: Uint8Array }): string;
  /** Revokes every refresh token issued so far (a refresh then answers invalid_refresh_token). */
  revokeRefreshTokens(): void;
  /** Whether chat.startStream works (as in workspaces with AI app streaming); default true. */
  setStreaming(enabled: boolean): void;
  /** Whether streams take `task_update` / `plan_update` chunks; refused, a call carrying one fails with `invalid_chunks` and changes nothing. Default true. */
  setTaskChunks(enabled: boolean): void;
  /** chat.postMessage into `channel` fails with `error` (e.g. not_in_channel). */
  failChannel(channel: string, error: string): void;
  /**
   * Writes into `channel` (chat.postMessage, chat.update, chat.delete) over Slack's rate limit —
   * the next `calls` of them, or those beyond `perSecond` in any second — get HTTP 429 with
   * `Retry-After: retryAfter` and `{ ok: false, error: 'ratelimited' }`, recorded with
   * `rateLimited: true`; nothing is posted.
   */
  rateLimitChannel(
    channel: string,
    opts: { calls: number; retryAfter: number } | { perSecond: number; retryAfter: number },
  ): void;
  /** A fresh response_url served by the fake; posts to it are recorded as method 'response_url'. */
  responseUrl(): string;
  /** The messages the bot posted that still exist, in posting order, with their current text/blocks; optionally one thread's (or only top-level ones: `threadTs` null). */
  messages(channel: string, threadTs?: string | null): FakeMessage[];
  /** Files reserved with files.getUploadURLExternal, in order, with what was uploaded and where they were shared. */
  files(): FakeFile[];
  /** Calls of `method` (optionally filtered). */
  callsOf(method: string, where?: (c: SlackCall) => boolean): SlackCall[];
  /**
   * Resolves with the first call (at index ≥ `from`, default 0) matching `method` and `where`,
   * already received or future. Rejects after `timeoutMs` (default 15 s) listing what arrived.
   */
  waitFor(
    method: string,
    where?: (c: SlackCall) => boolean,
    opts?: { from?: number; timeoutMs?: number },
  ): Promise<SlackCall>;
  close(): Promise<void>;
};

const MAX_BLOCKS = 50;

/**
 * Starts a fake Slack Web API on 127.0.0.1 (docs/design.md §11): auth.test, chat.postMessage,
 * files.getUploadURLExternal + upload URL + files.completeUploadExternal (see `FakeFile`),
 * chat.update, chat.delete, conversations.replies (with message metadata), chat.startStream/appendStream/stopStream, assistant.threads.setStatus, assistant.threads.setSuggestedPrompts, chat.postEphemeral, users.info, views.publish, oauth.v2.access, plus response_url
 * receivers. Posted messages are kept, so chat.update and chat.delete of an unknown message
 * fail with `message_not_found` like Slack's. Tokens are checked (Authorization: Bearer, or `token` in the body) like Slack does
 * (`invalid_auth`); answers are Slack-shaped (`ok`, `ts`, `error`), blocks are checked against
 * the main limits (50 blocks, 3000-char section text, 10 fields, 150-char header, 4000-char
 * chat.update text) and the table block's shape and limits (one per message, see `tableProblem`).
 */
export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const failures: string[] = [];
  const teams = new Map<string, FakeTeam>();
  const users = new Map<string, FakeUser>();
  const grants = new Map<string, FakeOAuthGrant>();
  const refreshTokens = new Map<string, FakeTeam>();
  const channelErrors = new Map<string, string>();
  type Limit = { retryAfter: number; calls?: number; perSecond?: number; window: number[] };
  const rateLimits = new Map<string, Limit>();
  /** Whether a write is over the channel's limit now (and counts it against the limit when it is not). */
  const overLimit = (l: Limit): boolean => {
    if (l.calls !== undefined) return l.calls-- > 0;
    const now = Date.now();
    while (l.window.length && l.window[0]! <= now - 1000) l.window.shift();
    if (l.window.length >= (l.perSecond ?? Infinity)) return true;
    l.window.push(now);
    return false;
  };
  let streaming = true;
  let taskChunks = true;
  const messages = new Map<string, FakeMessage>();
  const files = new Map<string, FakeFile>();
  let baseUrl = '';
  const msgKey = (channel: unknown, ts: unknown) => `${String(channel)}/${String(ts)}`;
  const waiters: { method: string; where: (c: SlackCall) => boolean; from: number; resolve: (c: SlackCall) => void }[] =
    [];
  let seq = 0;
  let responseSeq = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;

  function record(call: SlackCall) {
    calls.push(call);
    const index = calls.length - 1;
    for (const w of [...waiters]) {
      if (w.method === call.method && index >= w.from && w.where(call)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(call);
      }
    }
  }

  function blockProblems(blocks: unknown): string | undefined {
    if (blocks === undefined) return undefined;
    if (!Array.isArray(blocks)) return 'blocks is not an array';
    if (blocks.length > MAX_BLOCKS) return `${blocks.length} blocks > ${MAX_BLOCKS}`;
    if (blocks.filter((b) => (b as { type?: unknown })?.type === 'table').length > 1)
      return 'more than one table block';
    for (const b of blocks as LooseJson[]) {
      if (b.type === 'table') {
        const problem = tableProblem(b);
        if (problem) return problem;
      }
      if (b.type === 'section') {
        if (b.text && String(b.text.text).length > 3000) return 'section text > 3000';
        if (b.fields && b.fields.length > 10) return 'more than 10 fields';
        if (!b.text && !b.fields) return 'section without text or fields';
      }
      if (b.type === 'header' && String(b.text?.text).length > 150) return 'header > 150';
      if (b.type === 'actions' && (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25))
        return 'actions elements';
      if (
        b.type === 'actions' &&
        new Set(b.elements.map((e: Record<string, unknown>) => e.action_id)).size !== b.elements.length
      )
        return 'duplicate action_id in a block';
      for (const e of b.type === 'actions' ? b.elements : []) {
        if (e.type === 'button' && (String(e.text?.text ?? '').length > 75 || String(e.value ?? '').length > 2000))
          return 'button text > 75 or value > 2000';
      }
      if (b.type === 'context' && (!Array.isArray(b.elements) || b.elements.length > 10)) return 'context elements';
      if (b.type === 'context_actions') {
        const problem = contextActionsProblem(b);
        if (problem) return problem;
      }
    }
    return undefined;
  }

  /**
   * A context_actions block as Slack's Block Kit reference states it: 1–5 elements, each a
   * feedback_buttons (positive and negative button, plain_text ≤ 75, value ≤ 2000) or an
   * icon_button; block_id ≤ 255.
   */
  function contextActionsProblem(b: LooseJson): string | undefined {
    if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 5)
      return 'context_actions elements';
    if (b.block_id !== undefined && String(b.block_id).length > 255) return 'block_id > 255';
    for (const e of b.elements as LooseJson[]) {
      if (e.type === 'icon_button') continue;
      if (e.type !== 'feedback_buttons') return `context_actions element ${String(e.type)}`;
      if (e.action_id !== undefined && String(e.action_id).length > 255) return 'action_id > 255';
      for (const button of [e.positive_button, e.negative_button]) {
        if (!button || button.text?.type !== 'plain_text' || !button.text.text || String(button.text.text).length > 75)
          return 'feedback button text';
        if (typeof button.value !== 'string' || button.value.length > 2000) return 'feedback button value';
        if (button.accessibility_label !== undefined && String(button.accessibility_label).length > 75)
          return 'feedback button accessibility_label';
      }
    }
    return undefined;
  }

  function api(method: string, token: string | undefined, body: LooseJson): Record<string, unknown> {
    if (method === 'oauth.v2.access') {
      const installed = (team: FakeTeam, token: string, rotation: boolean, extra: Record<string, unknown> = {}) => {
        teams.set(token, team);
        const refresh = rotation ? `xoxe-1-${team.teamId}-${++seq}` : undefined;
        if (refresh) refreshTokens.set(refresh, team);
        return {
          ok: true,
          app_id: 'A0RENDERBOT',
          token_type: 'bot',
          access_token: token,
          bot_user_id: team.botUserId,
          team: { id: team.teamId, name: team.teamName ?? team.teamId },
          enterprise: team.enterpriseId ? { id: team.enterpriseId, name: 'Enterprise' } : null,
          is_enterprise_install: false,
          ...(refresh ? { refresh_token: refresh, expires_in: 43_200 } : {}),
          ...extra,
        };
      };
      if (body.grant_type === 'refresh_token') {
        const team = refreshTokens.get(String(body.refresh_token));
        if (!team) return { ok: false, error: 'invalid_refresh_token' };
        // A refresh token works once: Slack revokes it when it issues the next.
        refreshTokens.delete(String(body.refresh_token));
        return installed(team, `xoxb-rotated-${team.teamId}-${++seq}`, true);
      }
      const grant = grants.get(String(body.code));
      if (!grant) return { ok: false, error: 'invalid_code' };
      grants.delete(grant.code);
      return installed(grant.team, grant.team.token, grant.rotation === true, {
        authed_user: { id: grant.authedUser },
        scope: grant.scope,
      });
    }
    const team = token ? teams.get(token) : undefined;
    if (!team) {
      failures.push(`${method}: invalid token ${token ? token.slice(0, 9) + '…' : '(none)'}`);
      return { ok: false, error: token ? 'invalid_auth' : 'not_authed' };
    }
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: `https://${team.teamId.toLowerCase()}.slack.com/`,
          team: team.teamName ?? team.teamId,
          user: 'renderbot',
          team_id: team.teamId,
          user_id: team.botUserId,
          bot_id: team.botId,
          is_enterprise_install: false,
        };
      case 'chat.postMessage': {
        if (!body.channel) return { ok: false, error: 'channel_not_found' };
        const err = channelErrors.get(String(body.channel));
        if (err) return { ok: false, error: err };
        if (!body.text && !body.blocks) return { ok: false, error: 'no_text' };
        const problem = blockProblems(body.blocks);
        if (problem) {
          failures.push(`chat.postMessage: ${problem}`);
          return { ok: false, error: 'invalid_blocks' };
        }
        const metadata = typeof body.metadata === 'string' ? JSON.parse(body.metadata) : body.metadata;
        if (
          metadata !== undefined &&
          (typeof metadata?.event_type !== 'string' || typeof metadata?.event_payload !== 'object')
        )
          return { ok: false, error: 'invalid_metadata_format' };
        const ts = nextTs();
        messages.set(msgKey(body.channel, ts), {
          channel: String(body.channel),
          ts,
          ...(body.thread_ts ? { thread_ts: String(body.thread_ts) } : {}),
          text: body.text,
          ...(body.blocks ? { blocks: body.blocks } : {}),
          ...(metadata ? { metadata } : {}),
        });
        return {
          ok: true,
          channel: body.channel,
          ts,
          message: {
            type: 'message',
            text: body.text,
            ts,
            bot_id: team.botId,
            user: team.botUserId,
            ...(body.thread_ts ? { thread_ts: body.thread_ts } : {}),
            ...(body.blocks ? { blocks: body.blocks } : {}),
          },
        };
      }
      case 'chat.update': {
        if (!body.channel || !body.ts) return { ok: false, error: 'message_not_found' };
        if (String(body.text ?? '').length > 4000) {
          failures.push('chat.update: text > 4000');
          return { ok: false, error: 'msg_too_long' };
        }
        const problem = blockProblems(body.blocks);
        if (problem) {
          failures.push(`chat.update: ${problem}`);
          return { ok: false, error: 'invalid_blocks' };
        }
        const msg = messages.get(msgKey(body.channel, body.ts));
        if (!msg) return { ok: false, error: 'message_not_found' };
        if (msg.streaming) {
          failures.push('chat.update: message is still streaming');
          return { ok: false, error: 'cant_update_message' };
        }
        msg.text = body.text;
        if (body.blocks !== undefined) msg.blocks = body.blocks;
        return {
          ok: true,
          channel: body.channel,
          ts: body.ts,
          text: body.text,
          message: { text: body.text, blocks: body.blocks },
        };
      }
      case 'assistant.threads.setStatus': {
        // Only threads of the app's DM are assistant threads.
        if (!String(body.channel_id ?? '').startsWith('D') || !body.thread_ts)
          return { ok: false, error: 'invalid_thread' };
        if (typeof body.status !== 'string') return { ok: false, error: 'invalid_arguments' };
        const loading = body.loading_messages;
        if (
          loading !== undefined &&
          (!Array.isArray(loading) || loading.length > 10 || loading.some((m) => typeof m !== 'string'))
        ) {
          failures.push(`assistant.threads.setStatus: bad loading_messages ${JSON.stringify(loading)}`);
          return { ok: false, error: 'invalid_arguments' };
        }
        return { ok: true };
      }
      case 'assistant.threads.setSuggestedPrompts': {
        // Up to four prompts, each a title and the message it sends; only threads of the app's DM are assistant threads.
        if (!body.channel_id) return { ok: false, error: 'channel_not_found' };
        if (!String(body.channel_id).startsWith('D') || !body.thread_ts)
          return { ok: false, error: 'invalid_thread_ts' };
        const prompts = typeof body.prompts === 'string' ? JSON.parse(body.prompts) : body.prompts;
        if (
          !Array.isArray(prompts) ||
          prompts.length === 0 ||
          prompts.length > 4 ||
          !prompts.every(
            (p: Record<string, unknown>) =>
              typeof p?.title === 'string' && p.title && typeof p?.message === 'string' && p.message,
          )
        ) {
          failures.push('assistant.threads.setSuggestedPrompts: prompts must be 1..4 objects with title and message');
          return { ok: false, error: 'invalid_arguments' };
        }
        return { ok: true };
      }
      case 'chat.startStream': {
        if (!streaming) return { ok: false, error: 'feature_not_enabled' };
        if (!body.channel || !body.thread_ts) return { ok: false, error: 'invalid_arguments' };
        if (!String(body.channel).startsWith('D') && (!body.recipient_user_id || !body.recipient_team_id)) {
          failures.push('chat.startStream: recipient missing outside a DM');
          return { ok: false, error: 'invalid_arguments' };
        }
        if (
          body.task_display_mode !== undefined &&
          body.task_display_mode !== 'plan' &&
          body.task_display_mode !== 'timeline'
        )
          return { ok: false, error: 'invalid_arguments' };
        const start = streamedMarkdown(body, true, taskChunks);
        if ('refused' in start) return { ok: false, error: 'invalid_chunks' };
        if ('problem' in start) {
          failures.push(`chat.startStream: ${start.problem}`);
          return { ok: false, error: 'invalid_arguments' };
        }
        const ts = nextTs();
        messages.set(msgKey(body.channel, ts), {
          channel: String(body.channel),
          ts,
          thread_ts: String(body.thread_ts),
          text: start.text,
          streaming: true,
          tasks: new Map(start.tasks.map((t) => [String(t.id), t])),
          taskDisplayMode: typeof body.task_display_mode === 'string' ? body.task_display_mode : 'timeline',
        });
        return { ok: true, channel: body.channel, ts };
      }
      case 'chat.appendStream':
      case 'chat.stopStream': {
        const msg = messages.get(msgKey(body.channel, body.ts));
        if (!msg) return { ok: false, error: 'message_not_found' };
        if (!msg.streaming) {
          failures.push(`${method}: stream already stopped`);
          return { ok: false, error: 'message_not_in_streaming_state' };
        }
        const more = streamedMarkdown(body, method === 'chat.appendStream', taskChunks);
        if ('refused' in more) return { ok: false, error: 'invalid_chunks' };
        if ('problem' in more) {
          failures.push(`${method}: ${more.problem}`);
          return { ok: false, error: 'invalid_arguments' };
        }
        msg.text = `${String(msg.text ?? '')}${more.text}`;
        for (const t of more.tasks) (msg.tasks ??= new Map()).set(String(t.id), t);
        if (method === 'chat.stopStream') msg.streaming = false;
        return { ok: true, channel: body.channel, ts: body.ts };
      }
      case 'conversations.replies': {
        // A thread, parent first, 'limit' per page with a cursor; metadata only with include_all_metadata, as Slack does.
        if (!body.channel || !body.ts) return { ok: false, error: 'invalid_arguments' };
        const thread = [...messages.values()]
          .filter(
            (m) => m.channel === String(body.channel) && (m.ts === String(body.ts) || m.thread_ts === String(body.ts)),
          )
          .sort((a, b) => a.ts.localeCompare(b.ts));
        if (thread.length === 0) return { ok: false, error: 'thread_not_found' };
        const limit = Math.min(Number(body.limit ?? 1000), 1000);
        const start = body.cursor ? Number(Buffer.from(String(body.cursor), 'base64').toString()) : 0;
        const page = thread.slice(start, start + limit);
        const withMetadata = body.include_all_metadata === true || body.include_all_metadata === 'true';
        const more = start + limit < thread.length;
        return {
          ok: true,
          has_more: more,
          messages: page.map((m) => ({
            type: 'message',
            ts: m.ts,
            ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
            text: m.text,
            bot_id: team.botId,
            ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
          })),
          ...(more
            ? { response_metadata: { next_cursor: Buffer.from(String(start + limit)).toString('base64') } }
            : {}),
        };
      }
      case 'chat.delete': {
        if (!messages.delete(msgKey(body.channel, body.ts))) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: body.channel, ts: body.ts };
      }
      case 'chat.postEphemeral': {
        const err = channelErrors.get(String(body.channel));
        if (err) return { ok: false, error: err };
        return { ok: true, message_ts: nextTs() };
      }
      case 'users.info': {
        const u = users.get(String(body.user));
        if (!u || (u.teamId !== team.teamId && !u.connect)) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: u.id,
            team_id: u.teamId,
            name: u.name,
            real_name: u.real_name ?? u.name,
            deleted: false,
            is_bot: Boolean(u.is_bot),
            is_admin: false,
            is_owner: false,
            is_restricted: Boolean(u.is_restricted),
            is_ultra_restricted: Boolean(u.is_ultra_restricted),
            profile: { real_name: u.real_name ?? u.name, display_name: u.name },
          },
        };
      }
      case 'files.getUploadURLExternal': {
        const length = Number(body.length);
        if (typeof body.filename !== 'string' || !body.filename || !Number.isInteger(length) || length <= 0) {
          failures.push(
            `files.getUploadURLExternal: bad arguments ${JSON.stringify({ filename: body.filename, length: body.length })}`,
          );
          return { ok: false, error: 'invalid_arguments' };
        }
        const id = `F${String(++seq).padStart(9, '0')}`;
        files.set(id, { id, filename: body.filename, length, completed: false });
        return { ok: true, upload_url: `${baseUrl}/upload/v1/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const list = typeof body.files === 'string' ? safeJson(body.files) : body.files;
        if (!Array.isArray(list) || list.length === 0) return { ok: false, error: 'invalid_arguments' };
        const found = list.map((f: { id?: unknown }) => files.get(String(f?.id)));
        // A file id that was never reserved, or whose bytes never arrived, is not found.
        if (found.some((f) => !f || !f.bytes || f.completed)) return { ok: false, error: 'file_not_found' };
        const channelError = body.channel_id ? channelErrors.get(String(body.channel_id)) : undefined;
        if (channelError) return { ok: false, error: channelError };
        if (body.thread_ts && !body.channel_id) return { ok: false, error: 'invalid_arguments' };
        found.forEach((f, i) =>
          Object.assign(f!, {
            completed: true,
            title: (list[i] as { title?: string }).title,
            channel: body.channel_id ? String(body.channel_id) : undefined,
            threadTs: body.thread_ts ? String(body.thread_ts) : undefined,
          }),
        );
        return {
          ok: true,
          files: found.map((f) => ({ id: f!.id, name: f!.filename, title: f!.title ?? f!.filename, size: f!.length })),
        };
      }
      case 'views.publish': {
        const view = typeof body.view === 'string' ? JSON.parse(body.view) : body.view;
        const problem = blockProblems(view?.blocks);
        if (!body.user_id || view?.type !== 'home' || problem) {
          failures.push(`views.publish: ${problem ?? 'bad view'}`);
          return { ok: false, error: 'invalid_arguments' };
        }
        return { ok: true, view: { id: `V${++seq}`, team_id: team.teamId, type: 'home', blocks: view.blocks } };
      }
      default:
        failures.push(`unexpected method ${method}`);
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** Files shared in workspaces, by path, with the bot token that may read them. */
  const hosted = new Map<string, { token: string; bytes: Uint8Array }>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const upload = /^\/upload\/v1\/(F\d+)$/.exec(path);
    if (upload) {
      // Slack's upload URL: raw bytes (or multipart) in a POST, no token; 200 "OK - <bytes>" when taken.
      const file = files.get(upload[1]!);
      const bytes = Buffer.concat(chunks);
      const auth = req.headers.authorization;
      record({
        method: 'upload',
        body: { file_id: upload[1], bytes: bytes.length },
        path,
        ...(auth ? { token: auth } : {}),
      });
      if (!file || req.method !== 'POST' || file.completed) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('Not Found');
        return;
      }
      if (bytes.length !== file.length)
        failures.push(`upload ${file.id}: ${bytes.length} bytes, reserved ${file.length}`);
      file.bytes = bytes;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${bytes.length}`);
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = parseBody(raw, String(req.headers['content-type'] ?? ''));
    if (path.startsWith('/files-pri/') || path === '/signin') {
      const auth = String(req.headers.authorization ?? '');
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
      record({ method: 'file_download', body: {}, path, ...(token ? { token } : {}) });
      const file = hosted.get(path);
      if (path === '/signin' || !file) {
        res.writeHead(path === '/signin' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!DOCTYPE html><html><body>Sign in to Slack</body></html>');
      } else if (token !== file.token) {
        res.writeHead(302, { location: `/signin?redir=${encodeURIComponent(path)}` });
        res.end();
      } else {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(file.bytes.byteLength),
        });
        res.end(Buffer.from(file.bytes));
      }
      return;
    }
    if (path.startsWith('/response/')) {
      record({ method: 'response_url', body, path });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    const m = /^\/api\/([\w.]+)$/.exec(path);
    if (!m) {
      res.writeHead(404);
      res.end();
      return;
    }
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof body.token === 'string' ? body.token : undefined;
    const limited = rateLimits.get(String(body.channel ?? ''));
    if (limited && ['chat.postMessage', 'chat.update', 'chat.delete'].includes(m[1]!) && overLimit(limited)) {
      const refusal = { ok: false, error: 'ratelimited' };
      record({ method: m[1]!, body, path, response: refusal, rateLimited: true, ...(token ? { token } : {}) });
      res.writeHead(429, {
        'content-type': 'application/json; charset=utf-8',
        'retry-after': String(limited.retryAfter),
      });
      res.end(JSON.stringify(refusal));
      return;
    }
    const answer = api(m[1]!, token, body);
    const call: SlackCall = { method: m[1]!, body, path, response: answer, ...(token ? { token } : {}) };
    record(call);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  baseUrl = url;

  return {
    url,
    apiUrl: `${url}/api/`,
    calls,
    failures,
    addTeam: (t) => {
      teams.set(t.token, t);
    },
    addUser: (u) => {
      users.set(u.id, u);
    },
    addGrant: (g) => {
      grants.set(g.code, g);
    },
    addFile: (team, file) => {
      const path = `/files-pri/${team.teamId}-${file.id}/download/${encodeURIComponent(file.name)}`;
      hosted.set(path, { token: team.token, bytes: file.bytes });
      return `${url}${path}`;
    },
    revokeRefreshTokens: () => {
      refreshTokens.clear();
    },
    failChannel: (channel, error) => {
      channelErrors.set(channel, error);
    },
    rateLimitChannel: (channel, o) => {
      rateLimits.set(channel, { ...o, window: [] });
    },
    setStreaming: (enabled) => {
      streaming = enabled;
    },
    setTaskChunks: (enabled) => {
      taskChunks = enabled;
    },
    responseUrl: () => `${url}/response/${++responseSeq}`,
    messages: (channel, threadTs) =>
      [...messages.values()].filter(
        (m) =>
          m.channel === channel &&
          (threadTs === undefined || (threadTs === null ? m.thread_ts === undefined : m.thread_ts === threadTs)),
      ),
    files: () => [...files.values()],
    callsOf: (method, where = () => true) => calls.filter((c) => c.method === method && where(c)),
    waitFor(method, where = () => true, opts = {}) {
      const from = opts.from ?? 0;
      const found = calls.find((c, i) => i >= from && c.method === method && where(c));
      if (found) return Promise.resolve(found);
      return new Promise<SlackCall>((resolve, reject) => {
        const waiter = {
          method,
          where,
          from,
          resolve: (c: SlackCall) => {
            clearTimeout(timer);
            resolve(c);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `fake Slack: no matching ${method} call; received: ${
                calls
                  .slice(from)
                  .map((c) => c.method)
                  .join(', ') || 'nothing'
              }; failures: ${failures.join('; ') || 'none'}`,
            ),
          );
        }, opts.timeoutMs ?? 15_000);
        waiters.push(waiter);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const TABLE_MAX_ROWS = 100;
const TABLE_MAX_CELLS = 20;
const TABLE_MAX_CHARS = 10_000;

/**
 * Slack's `table` block rules (https://docs.slack.dev/reference/block-kit/blocks/table-block):
 * 1–100 rows of 1–20 cells, each `raw_text` (non-empty `text`), `raw_number` or `rich_text`;
 * at most 20 `column_settings` of `align` left|center|right and boolean `is_wrapped`; at most
 * 10,000 characters over all cells.
 */
function tableProblem(block: LooseJson): string | undefined {
  const rows: unknown = block.rows;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > TABLE_MAX_ROWS)
    return `table rows: 1–${TABLE_MAX_ROWS} required`;
  let chars = 0;
  for (const row of rows as unknown[]) {
    if (!Array.isArray(row) || row.length === 0 || row.length > TABLE_MAX_CELLS)
      return `table row: 1–${TABLE_MAX_CELLS} cells required`;
    for (const cell of row as LooseJson[]) {
      if (cell?.type === 'raw_text' || cell?.type === 'raw_number') {
        if (typeof cell.text !== 'string' || cell.text.length === 0)
          return `table cell: ${cell.type} needs a non-empty text`;
        if (cell.type === 'raw_number' && typeof cell.value !== 'number')
          return 'table cell: raw_number needs a numeric value';
        chars += cell.text.length;
      } else if (cell?.type === 'rich_text') {
        if (!Array.isArray(cell.elements)) return 'table cell: rich_text needs elements';
      } else {
        return `table cell: unknown type ${String(cell?.type)}`;
      }
    }
  }
  if (chars > TABLE_MAX_CHARS) return `table cells: ${chars} characters > ${TABLE_MAX_CHARS}`;
  const settings: unknown = block.column_settings;
  if (settings !== undefined) {
    if (!Array.isArray(settings) || settings.length > TABLE_MAX_CELLS)
      return `table column_settings: at most ${TABLE_MAX_CELLS}`;
    for (const c of settings as (Record<string, unknown> | null)[]) {
      if (c === null) continue;
      if (c.align !== undefined && !['left', 'center', 'right'].includes(String(c.align)))
        return `table column_settings: bad align ${String(c.align)}`;
      if (c.is_wrapped !== undefined && typeof c.is_wrapped !== 'boolean')
        return 'table column_settings: is_wrapped must be a boolean';
      if (Object.keys(c).some((k) => k !== 'align' && k !== 'is_wrapped'))
        return 'table column_settings: unknown field';
    }
  }
  return undefined;
}

/** Form bodies (how @slack/web-api sends) with JSON-encoded values decoded, or JSON bodies. */
const TASK_STATUSES = new Set(['pending', 'in_progress', 'complete', 'error']);

/** What is wrong with a `task_update` chunk (id, title, status required; details and output at most 256 characters), if anything. */
function taskProblem(c: Record<string, unknown>): string | undefined {
  if (typeof c.id !== 'string' || !c.id) return 'task_update without id';
  if (typeof c.title !== 'string' || !c.title) return 'task_update without title';
  if (!TASK_STATUSES.has(String(c.status))) return `task_update status ${JSON.stringify(c.status)}`;
  for (const k of ['details', 'output'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'string' || c[k].length > 256))
      return `task_update ${k} not a string of at most 256 characters`;
  }
  if (Object.keys(c).some((k) => !['type', 'id', 'title', 'status', 'details', 'output', 'sources'].includes(k)))
    return 'task_update: unknown field';
  return undefined;
}

/**
 * The text and tasks a streaming call adds: `markdown_text`, or the chunks of `chunks` (how the
 * Web API client's chatStream helper sends it): `markdown_text`, `task_update` and `plan_update`.
 * Slack wants one of the two, not both; `required` for chat.startStream and chat.appendStream.
 * Without `tasksAllowed` (a workspace that refuses them) a call with a task or plan chunk is `refused`.
 */
function streamedMarkdown(
  body: Record<string, unknown>,
  required: boolean,
  tasksAllowed = true,
): { text: string; tasks: Record<string, unknown>[] } | { problem: string } | { refused: true } {
  const { markdown_text: markdown, chunks } = body;
  if (markdown !== undefined && chunks !== undefined) return { problem: 'both markdown_text and chunks' };
  if (markdown !== undefined)
    return typeof markdown === 'string' ? { text: markdown, tasks: [] } : { problem: 'markdown_text is not a string' };
  if (chunks === undefined) return required ? { problem: 'markdown_text or chunks required' } : { text: '', tasks: [] };
  if (!Array.isArray(chunks)) return { problem: 'chunks is not an array' };
  let text = '';
  const tasks: Record<string, unknown>[] = [];
  for (const c of chunks as Record<string, unknown>[]) {
    if ((c?.type === 'task_update' || c?.type === 'plan_update') && !tasksAllowed) return { refused: true };
    if (c?.type === 'markdown_text' && typeof c.text === 'string') text += c.text;
    else if (c?.type === 'task_update') {
      const problem = taskProblem(c);
      if (problem) return { problem };
      tasks.push(c);
    } else if (c?.type !== 'plan_update' || typeof c.title !== 'string')
      return { problem: `unexpected chunk ${JSON.stringify(c)}` };
  }
  if (required && chunks.length === 0) return { problem: 'chunks is empty' };
  return { text, tasks };
}

/** The text a chat.startStream / appendStream / stopStream call carried (see `streamedMarkdown`). */
export function streamedText(call: SlackCall): string {
  const r = streamedMarkdown(call.body, false);
  return 'text' in r ? r.text : '';
}

/** The `task_update` chunks a streaming call carried, in order. */
export function streamedTasks(call: SlackCall): Record<string, unknown>[] {
  const r = streamedMarkdown(call.body, false);
  return 'tasks' in r ? r.tasks : [];
}

function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
