import { randomUUID } from 'node:crypto';
import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeMrkdwn } from '../adapters/slack/render.ts';
import { createSlackStreamer } from '../adapters/slack/stream.ts';
import type { SentMessage } from '../core/replies/delivery.ts';
import { startFakeSlack, streamedText, type FakeSlack } from './fakes/slack-api.ts';
import { TEAM } from './fakes/slack-harness.ts';
import { silentLog } from './support/core.ts';

/** The Slack streamer against the fake Web API through the real Web API client (no app, no database). */
describe('Slack streamer', () => {
  let slack: FakeSlack;
  let client: webApi.WebClient;
  beforeAll(async () => {
    slack = await startFakeSlack();
    slack.addTeam(TEAM);
    client = new webApi.WebClient(undefined, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await slack?.close();
  });

  let seq = 0;
  const target = (extra: Record<string, unknown> = {}) => ({
    teamId: TEAM.teamId,
    tenantId: randomUUID(),
    channel: 'C0STREAM01',
    userId: 'U0ALICE001',
    threadTs: `1700000000.${String(++seq).padStart(6, '0')}`,
    ...extra,
  });
  const streamer = () => createSlackStreamer({ client, tokenFor: async () => TEAM.token, log: silentLog });
  const first = 'Three orders are rendering: <!channel> look at <https://evil.example|this> & ';

  it('streams through the client’s chatStream helper: the message is reported as soon as it exists, text escaped, one start, appends, one stop', async () => {
    const t = target();
    const from = slack.calls.length;
    let reported: (m: SentMessage) => void = () => {};
    const onMessage = new Promise<SentMessage>((resolve) => {
      reported = resolve;
    });
    const stream = streamer()(t, { sessionId: randomUUID(), onMessage: (m) => reported(m) })!;
    stream.push(first.padEnd(200, '.'));
    const sent = await onMessage;
    // Reported while the stream is still open: an interrupted turn's answer can replace it.
    const start = slack.callsOf('chat.startStream', (c) => c.body.thread_ts === t.threadTs)[0]!;
    // Marked as still streaming: a later attempt's answer stops the stream before replacing it.
    expect(sent).toEqual({ channel: t.channel, ts: start.response!.ts, streaming: true });
    expect(slack.messages(t.channel, t.threadTs)[0]).toMatchObject({ ts: sent.ts, streaming: true });
    expect(start.body).toMatchObject({ recipient_team_id: TEAM.teamId, recipient_user_id: t.userId });

    stream.push(' and <@U0BOSS0001> should know.');
    expect(await stream.end()).toEqual({ channel: t.channel, ts: sent.ts });
    const calls = slack.calls.slice(from).filter((c) => c.method.endsWith('Stream'));
    expect(calls.map((c) => c.method)).toEqual(['chat.startStream', 'chat.appendStream', 'chat.stopStream']);
    // The helper's wire format: markdown in chunks.
    expect(calls[0]!.body.chunks).toEqual([{ type: 'markdown_text', text: escapeMrkdwn(first.padEnd(200, '.')) }]);
    const full = `${first.padEnd(200, '.')} and <@U0BOSS0001> should know.`;
    expect(calls.map(streamedText).join('')).toBe(escapeMrkdwn(full));
    expect(slack.messages(t.channel, t.threadTs)).toEqual([
      expect.objectContaining({ text: escapeMrkdwn(full), streaming: false }),
    ]);
    expect(slack.failures).toEqual([]);
  });

  it('where streaming is unavailable it edits the placeholder instead, and reports nothing new', async () => {
    slack.setStreaming(false);
    try {
      const placeholder = await client.chat.postMessage({
        token: TEAM.token,
        channel: 'C0STREAM01',
        text: 'working on it…',
      });
      const t = target({ placeholderTs: placeholder.ts });
      const reported: SentMessage[] = [];
      const stream = streamer()(t, { sessionId: randomUUID(), onMessage: (m) => reported.push(m) })!;
      stream.push(first.padEnd(200, '.'));
      expect(await stream.end()).toEqual({ channel: t.channel, ts: placeholder.ts });
      const edit = slack.callsOf('chat.update', (c) => c.body.ts === placeholder.ts).at(-1)!;
      expect(String(edit.body.text)).toMatch(/^Three orders are rendering: &lt;!channel&gt; .* …$/);
      expect(reported).toEqual([]);
    } finally {
      slack.setStreaming(true);
    }
  });

  it('without a thread (a top-level DM) it posts one message, edits it, and reports it', async () => {
    const t = target({ channel: 'D0ALICEDM9', threadTs: undefined });
    const reported: SentMessage[] = [];
    const stream = streamer()(t, { sessionId: randomUUID(), onMessage: (m) => reported.push(m) })!;
    stream.push('x'.repeat(200));
    stream.push('y'.repeat(10));
    const sent = await stream.end();
    expect(reported).toEqual([sent]);
    expect(slack.messages('D0ALICEDM9').map((m) => m.text)).toEqual([`${'x'.repeat(200)}${'y'.repeat(10)} …`]);
    expect(slack.callsOf('chat.startStream', (c) => c.body.channel === 'D0ALICEDM9')).toEqual([]);
  });
});
