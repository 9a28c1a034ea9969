import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { streamedTasks, streamedText, type SlackCall } from './fakes/slack-api.ts';
import { dmEvent, mentionEvent, newTs, type Who } from './fakes/slack-request.ts';
import { threeToolSteps, threeToolTurn } from './support/steps-script.ts';

let h: SlackHarness;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const bot = { botUserId: TEAM.botUserId };

beforeAll(async () => {
  h = await startSlackHarness();
  await h.acmeWithAlice(alice.userId);
});
afterAll(async () => {
  await h?.close();
});

const streamCalls = (from: number, ts?: string) =>
  h.slack.calls
    .slice(from)
    .filter(
      (c) =>
        c.method.startsWith('chat.') &&
        c.method.endsWith('Stream') &&
        (!ts || c.body.ts === ts || c.response?.ts === ts),
    );
/** The task_update chunks as Slack would show them: status and output per task. */
const tasksOf = (calls: SlackCall[]) =>
  calls
    .flatMap(streamedTasks)
    .map((t) => ({ id: t.id, title: t.title, status: t.status, ...(t.output ? { output: t.output } : {}) }));
const slackStatus = { done: 'complete', failed: 'error' } as const;

describe('steps in Slack (docs/design.md §12)', () => {
  it('in a channel thread the answer stream carries the steps as task_update chunks of a plan, then the text', async () => {
    const answer =
      'Found 3 ball bearings in the catalogue; there are no orders yet, and SA-2026-09999 does not exist. ' +
      'Shall I render the three Kugellager products as WebP for you?';
    const [first, last] = threeToolTurn(answer);
    h.llm.enqueue(first!, { ...last!, chunkDelayMs: 300 });
    const env = mentionEvent(alice, 'ball bearings and my orders?', bot);
    const from = h.slack.calls.length;
    await h.send.event(env);
    const start = await h.slack.waitFor('chat.startStream', (c) => c.body.thread_ts === env.event.ts, { from });
    expect(start.body).toMatchObject({
      task_display_mode: 'plan',
      recipient_team_id: TEAM.teamId,
      recipient_user_id: alice.userId,
    });
    const streamTs = start.response!.ts as string;
    const final = await h.slack.waitFor('chat.update', (c) => c.body.ts === streamTs, { from });
    // The answer replaces the streamed plan and keeps the steps, small, above itself.
    const [context] = final.body.blocks as { type: string; elements?: { text: string }[] }[];
    expect(context!.type).toBe('context');
    expect(context!.elements![0]!.text.split('\n')).toEqual([
      '✓ Searching Kugellager products… — _3 found_',
      '✓ Listing orders… — _0 found_',
      '✗ Looking up SA-2026-09999… — _No order SA-2026-09999 was found._',
    ]);

    const calls = streamCalls(from, streamTs);
    const tasks = tasksOf(calls);
    for (const step of threeToolSteps) {
      // Each step: in progress first, then its end with one line of output.
      expect(tasks.filter((t) => t.id === step.id)).toEqual([
        { id: step.id, title: step.title, status: 'in_progress' },
        { id: step.id, title: step.title, status: slackStatus[step.state], output: step.result },
      ]);
    }
    // Every task chunk came before the first text.
    const firstText = calls.findIndex((c) => streamedText(c) !== '');
    expect(calls.findLastIndex((c) => streamedTasks(c).length > 0)).toBeLessThan(firstText);
    expect(calls.map(streamedText).join('')).toBe(answer);
    expect(calls.at(-1)!.method).toBe('chat.stopStream');
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it('where the workspace refuses task chunks, an assistant thread shows the steps as its status (loading_messages)', async () => {
    h.slack.setTaskChunks(false);
    try {
      h.llm.enqueue(...threeToolTurn('Three ball bearings; no orders.'));
      const dm = { ...alice, channel: 'D0ALICEDM1' };
      const threadTs = newTs();
      const from = h.slack.calls.length;
      await h.send.event(dmEvent(dm, 'ball bearings and my orders?', { threadTs }));
      await h.slack.waitFor(
        'chat.postMessage',
        (c) => c.body.thread_ts === threadTs && String(c.body.text).startsWith('Three ball bearings; no orders.'),
        { from },
      );
      const refused = h.slack.callsOf('chat.startStream', (c) => c.body.thread_ts === threadTs);
      expect(refused.map((c) => c.response?.error)).toEqual(['invalid_chunks']);
      const statuses = h.slack.calls
        .slice(from)
        .filter((c) => c.method === 'assistant.threads.setStatus' && c.body.loading_messages !== undefined);
      const shown = statuses.flatMap((c) => c.body.loading_messages as string[]);
      for (const step of threeToolSteps) expect(shown).toContain(step.title);
      // Nothing streamed, no placeholder: the answer is posted once.
      const posted = h.slack.messages(dm.channel, threadTs);
      expect(posted).toHaveLength(1);
      expect(String(posted[0]!.text)).toMatch(/^Three ball bearings; no orders\./);
      h.llm.assertDone();
      expect(h.slack.failures).toEqual([]);
    } finally {
      h.slack.setTaskChunks(true);
    }
  });

  it('elsewhere the placeholder is edited with the step lines, tenant text escaped; the answer then replaces it', async () => {
    h.slack.setTaskChunks(false);
    try {
      h.llm.enqueue(
        {
          toolCalls: [
            {
              id: 'call_evil',
              name: 'search_products',
              arguments: { category: '<!channel> & <https://evil.example|Lager>' },
            },
          ],
        },
        { content: 'No such category.' },
      );
      const env = mentionEvent(alice, 'what is in that category?', bot);
      const from = h.slack.calls.length;
      await h.send.event(env);
      const placeholder = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === env.event.ts, { from });
      const ts = placeholder.response!.ts as string;
      const final = await h.slack.waitFor(
        'chat.update',
        (c) => c.body.ts === ts && !String(c.body.text).includes('Searching'),
        { from },
      );
      const edits = h.slack.callsOf('chat.update', (c) => c.body.ts === ts && c !== final);
      const lines = edits.map((c) => String(c.body.text));
      expect(lines[0]).toContain('Searching &lt;!channel&gt; &amp; &lt;https://evil.example|Lager&gt; products…');
      expect(lines.at(-1)).toMatch(/^✗ Searching &lt;!channel&gt;.* — _No category/);
      expect(JSON.stringify(edits.map((c) => c.body.blocks))).not.toMatch(/<!channel>|<https:/);
      expect(h.slack.messages(alice.channel, env.event.ts).map((m) => m.text)).toEqual(['No such category.']);
      h.llm.assertDone();
      expect(h.slack.failures).toEqual([]);
    } finally {
      h.slack.setTaskChunks(true);
    }
  });
});
