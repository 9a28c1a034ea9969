import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitedFor } from '../adapters/slack/deliver.ts';
import { createChannelPacer } from '../core/pacer.ts';
import { silentLog } from './support/core.ts';
import { makeTenant } from './support/fixtures.ts';
import { echoStep } from './fakes/llm-server.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { mentionEvent } from './fakes/slack-request.ts';

/*
 * Slack answers a write over a channel's rate limit with 429 and Retry-After. Replies wait as
 * told, in order, none lost or doubled — and only in that channel: the Web API client's own
 * handling would pause every call of every workspace.
 */

const rateLimited = (retryAfter: number) =>
  Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter });

describe('the channel pacer', () => {
  it('waits out one channel’s rate limit without holding up another, keeps order, and sends only the newest pending edit of a message', async () => {
    const pacer = createChannelPacer({ log: silentLog, waitFor: rateLimitedFor });
    const sent: string[] = [];
    let limitedOnce = false;
    const write = (key: string, what: string) => async () => {
      if (key === 'A' && !limitedOnce) {
        limitedOnce = true;
        throw rateLimited(0.3);
      }
      sent.push(`${key}:${what}`);
      return what;
    };
    const a1 = pacer.run('A', write('A', 'post 1'));
    const a2 = pacer.run('A', write('A', 'edit 33%'), { coalesce: 'update:1' });
    const a3 = pacer.run('A', write('A', 'edit 67%'), { coalesce: 'update:1' });
    const a4 = pacer.run('A', write('A', 'post 2'));
    const b1 = pacer.run('B', write('B', 'post 1'));
    expect(await b1).toBe('post 1');
    // B went out while A was still waiting for its rate limit.
    expect(sent).toEqual(['B:post 1']);
    expect(await Promise.all([a1, a2, a3, a4])).toEqual(['post 1', 'edit 67%', 'edit 67%', 'post 2']);
    expect(sent).toEqual(['B:post 1', 'A:post 1', 'A:edit 67%', 'A:post 2']);
  });

  it('passes other failures on at once', async () => {
    const pacer = createChannelPacer({ log: silentLog, waitFor: rateLimitedFor });
    await expect(
      pacer.run('A', async () => {
        throw new Error('channel_not_found');
      }),
    ).rejects.toThrow('channel_not_found');
    expect(await pacer.run('A', async () => 'next')).toBe('next');
  });
});

describe('Slack replies under a channel rate limit', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness();
    h.slack.addTeam(TEAM);
    h.slack.addUser({ id: 'U0ALICE001', teamId: TEAM.teamId, name: 'alice' });
    const acme = await makeTenant(h.em(), 'acme');
    await h.link(acme.tenant.id, TEAM.teamId);
  });
  afterAll(async () => {
    await h?.close();
  });

  const answersIn = (channel: string, question: string) =>
    h.slack.messages(channel).filter((m) => JSON.stringify([m.text, m.blocks]).includes(`answer to ${question}`));

  it('are delivered after waiting as told, each once, while another channel goes on undelayed', async () => {
    const limited = 'C0LIMITED1';
    const free = 'C0FREECHN1';
    h.slack.rateLimitChannel(limited, { calls: 4, retryAfter: 4 });
    h.llm.enqueue(...Array.from({ length: 6 }, () => echoStep()));
    const asked: { channel: string; question: string }[] = [];
    for (const [i, channel] of [limited, free, limited, free, limited, free].entries()) {
      const question = `rl-${i}`;
      const res = await h.send.event(
        mentionEvent({ teamId: TEAM.teamId, userId: 'U0ALICE001', channel }, question, { botUserId: TEAM.botUserId }),
      );
      expect(res.status).toBe(200);
      asked.push({ channel, question });
    }
    for (const a of asked) {
      await h.logs.waitFor(
        (l) => l.msg === 'slack reply posted' && l.channel === a.channel && answersIn(a.channel, a.question).length > 0,
        30_000,
      );
    }
    for (const a of asked) expect(answersIn(a.channel, a.question), a.question).toHaveLength(1);

    // Slack refused writes into the limited channel; RenderBot waited as told there, and only there.
    const writes = h.slack.calls.filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method));
    const refusedAt = writes.map((c, i) => (c.rateLimited ? i : -1)).filter((i) => i >= 0);
    expect(refusedAt).toHaveLength(4);
    const firstLimitedAnswer = writes.findIndex(
      (c) => !c.rateLimited && c.body.channel === limited && JSON.stringify(c.body).includes('answer to'),
    );
    const freeAnswers = writes
      .map((c, i) => (c.body.channel === free && JSON.stringify(c.body).includes('answer to') ? i : -1))
      .filter((i) => i >= 0);
    expect(freeAnswers).toHaveLength(3);
    expect(Math.max(...freeAnswers)).toBeLessThan(firstLimitedAnswer);
    expect(
      h.logs.lines.some(
        (l) =>
          l.msg === 'rate limit in this conversation; waiting as told' && l.channel === `${TEAM.teamId}:${limited}`,
      ),
    ).toBe(true);
    expect(h.slack.failures).toEqual([]);
  }, 60_000);
});
