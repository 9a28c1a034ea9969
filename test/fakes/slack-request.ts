import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LooseJson } from '../support/loose-json.ts';

const fixtureDir = join(import.meta.dirname, '..', 'fixtures', 'slack');

/** A payload fixture from test/fixtures/slack (a fresh copy each time). */
export function slackFixture<T = LooseJson>(name: string): T {
  return JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8')) as T;
}

/** Slack's v0 request signature: HMAC-SHA256 over `v0:timestamp:body`. */
function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Options for one request: a wrong secret, an old timestamp, Slack retry headers. */
export type SignOptions = { secret?: string; timestamp?: number; retryNum?: number; retryReason?: string };

/** A request exactly as Slack sends it: raw body, content type and signature headers. */
export type SignedRequest = { body: string; headers: Record<string, string> };

/** Signs a raw body with the given content type. */
function signRequest(secret: string, body: string, contentType: string, opts: SignOptions = {}): SignedRequest {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(opts.secret ?? secret, timestamp, body),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  };
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = opts.retryReason ?? 'http_timeout';
  }
  return { body, headers };
}

/** Sends signed Slack requests to `${baseUrl}/slack/events`, the way Slack does. */
export function createSlackSender(baseUrl: string, signingSecret: string) {
  const send = (req: SignedRequest) =>
    fetch(`${baseUrl}/slack/events`, { method: 'POST', headers: req.headers, body: req.body });
  return {
    /** Signs without sending (to replay the identical request later). */
    sign: {
      event: (envelope: object, opts?: SignOptions) =>
        signRequest(signingSecret, JSON.stringify(envelope), 'application/json', opts),
      command: (fields: Record<string, string>, opts?: SignOptions) =>
        signRequest(signingSecret, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', opts),
      action: (payload: object, opts?: SignOptions) =>
        signRequest(
          signingSecret,
          new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
          'application/x-www-form-urlencoded',
          opts,
        ),
    },
    send,
    /** Events API envelope (JSON). */
    event(envelope: object, opts?: SignOptions) {
      return send(this.sign.event(envelope, opts));
    },
    /** Slash command (form-encoded fields). */
    command(fields: Record<string, string>, opts?: SignOptions) {
      return send(this.sign.command(fields, opts));
    },
    /** Interactivity payload (form-encoded `payload=`). */
    action(payload: object, opts?: SignOptions) {
      return send(this.sign.action(payload, opts));
    },
  };
}

let counter = 0;
/** A unique Slack-looking id/ts suffix for a test. */
const uniq = () => String(++counter).padStart(6, '0');
/** A message ts like Slack's. */
export const newTs = () => `${Math.floor(Date.now() / 1000)}.${uniq()}`;

/** Identity of the sender of a fixture-based payload. */
export type Who = { teamId: string; userId: string; channel: string };

/** An app_mention envelope (fixture app_mention.json) with the given text, ids and optional thread. */
export function mentionEvent(
  who: Who,
  text: string,
  o: { botUserId: string; ts?: string; threadTs?: string; eventId?: string },
) {
  const env = slackFixture('app_mention');
  const ts = o.ts ?? newTs();
  Object.assign(env, {
    team_id: who.teamId,
    context_team_id: who.teamId,
    event_id: o.eventId ?? `Ev${uniq()}M`,
    event_time: Math.floor(Date.now() / 1000),
  });
  env.authorizations[0].team_id = who.teamId;
  env.authorizations[0].user_id = o.botUserId;
  Object.assign(env.event, {
    user: who.userId,
    team: who.teamId,
    channel: who.channel,
    ts,
    event_ts: ts,
    text: `<@${o.botUserId}> ${text}`,
  });
  env.event.blocks[0].elements[0].elements = [
    { type: 'user', user_id: o.botUserId },
    { type: 'text', text: ` ${text}` },
  ];
  if (o.threadTs) env.event.thread_ts = o.threadTs;
  return env;
}

/** A direct message envelope (message_im.json). */
export function dmEvent(who: Who, text: string, o: { eventId?: string; threadTs?: string } = {}) {
  const env = slackFixture('message_im');
  const ts = newTs();
  Object.assign(env, { team_id: who.teamId, context_team_id: who.teamId, event_id: o.eventId ?? `Ev${uniq()}D` });
  env.authorizations[0].team_id = who.teamId;
  Object.assign(env.event, {
    user: who.userId,
    team: who.teamId,
    channel: who.channel,
    ts,
    event_ts: ts,
    text,
    ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
  });
  env.event.blocks[0].elements[0].elements = [{ type: 'text', text }];
  return env;
}

/**
 * A reply in a channel thread as message.channels (or, `channelType` 'group', message.groups for
 * private channels) delivers it (message_channels.json). `text` is sent as is, so a reply that
 * mentions the bot carries `<@BOTID>` like Slack's.
 */
export function threadReplyEvent(
  who: Who,
  text: string,
  o: { threadTs: string; ts?: string; eventId?: string; channelType?: 'channel' | 'group' },
) {
  const env = slackFixture('message_channels');
  const ts = o.ts ?? newTs();
  Object.assign(env, {
    team_id: who.teamId,
    context_team_id: who.teamId,
    event_id: o.eventId ?? `Ev${uniq()}T`,
    event_time: Math.floor(Date.now() / 1000),
  });
  env.authorizations[0].team_id = who.teamId;
  Object.assign(env.event, {
    user: who.userId,
    team: who.teamId,
    channel: who.channel,
    ts,
    event_ts: ts,
    thread_ts: o.threadTs,
    text,
    channel_type: o.channelType ?? 'channel',
  });
  env.event.blocks[0].elements[0].elements = [{ type: 'text', text }];
  return env;
}

/**
 * An `agent_session_stopped` envelope: a person clicked the native stop button of an agent
 * session (its event as Slack's reference shows it: channel, user, thread_ts, the stopped
 * streams' timestamps, event_ts), in the Events API envelope of app_mention.json.
 */
export function agentSessionStoppedEvent(who: Who, o: { threadTs: string; streamingTs?: string[]; eventId?: string }) {
  const env = slackFixture('app_mention');
  const ts = newTs();
  Object.assign(env, {
    team_id: who.teamId,
    context_team_id: who.teamId,
    event_id: o.eventId ?? `Ev${uniq()}S`,
    event_time: Math.floor(Date.now() / 1000),
  });
  env.authorizations[0].team_id = who.teamId;
  env.event = {
    type: 'agent_session_stopped',
    channel: who.channel,
    user: who.userId,
    thread_ts: o.threadTs,
    streaming_message_ts: o.streamingTs ?? [],
    event_ts: ts,
  };
  return env;
}

/** Slash command fields (slash_command.json). */
export function slashCommand(who: Who, text: string, responseUrl: string): Record<string, string> {
  const f = slackFixture<Record<string, string>>('slash_command');
  return {
    ...f,
    team_id: who.teamId,
    user_id: who.userId,
    channel_id: who.channel,
    text,
    response_url: responseUrl,
    trigger_id: `${uniq()}.738474920.${uniq()}`,
  };
}

/** A block_actions payload (block_actions.json) for a button click on a posted card. */
export function buttonClick(
  who: Who,
  o: {
    actionId: 'renderbot.confirm' | 'renderbot.cancel' | 'renderbot.stop';
    value: string;
    messageTs: string;
    threadTs?: string;
    responseUrl: string;
    blocks?: unknown[];
  },
) {
  const p = slackFixture('block_actions');
  p.user = { id: who.userId, username: who.userId.toLowerCase(), name: who.userId.toLowerCase(), team_id: who.teamId };
  p.team = { id: who.teamId, domain: who.teamId.toLowerCase() };
  p.channel = { id: who.channel, name: 'renders' };
  p.container = {
    type: 'message',
    message_ts: o.messageTs,
    channel_id: who.channel,
    is_ephemeral: false,
    ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
  };
  p.message = { ...p.message, ts: o.messageTs, team: who.teamId, blocks: o.blocks ?? [] };
  if (o.threadTs) p.message.thread_ts = o.threadTs;
  else delete p.message.thread_ts;
  p.response_url = o.responseUrl;
  p.trigger_id = `${uniq()}.1395872398.${uniq()}`;
  p.actions[0] = {
    ...p.actions[0],
    action_id: o.actionId,
    value: o.value,
    block_id: `renderbot.confirm.${o.value}`,
    action_ts: newTs(),
    style: o.actionId === 'renderbot.confirm' ? 'primary' : 'danger',
    text: { type: 'plain_text', text: o.actionId === 'renderbot.confirm' ? 'Confirm' : 'Cancel', emoji: true },
  };
  return p;
}

/** A block_actions payload for a click on an agent answer's 👍/👎 (`feedback_buttons` in a `context_actions` block). */
export function feedbackClick(
  who: Who,
  o: { value: string; messageTs: string; threadTs?: string; responseUrl: string },
) {
  const p = buttonClick(who, {
    actionId: 'renderbot.confirm',
    value: o.value,
    messageTs: o.messageTs,
    responseUrl: o.responseUrl,
    ...(o.threadTs ? { threadTs: o.threadTs } : {}),
  });
  const answerId = o.value.slice(o.value.indexOf(':') + 1);
  p.actions[0] = {
    type: 'feedback_buttons',
    action_id: 'renderbot.feedback',
    block_id: `renderbot.feedback.${answerId}`,
    value: o.value,
    action_ts: newTs(),
    text: { type: 'plain_text', text: o.value.startsWith('up:') ? '👍' : '👎', emoji: true },
  };
  return p;
}

/** An app_home_opened envelope. */
export function homeOpened(who: Who) {
  const env = slackFixture('app_home_opened');
  Object.assign(env, { team_id: who.teamId, event_id: `Ev${uniq()}H` });
  Object.assign(env.event, { user: who.userId, event_ts: newTs() });
  return env;
}
