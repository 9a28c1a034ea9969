import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idRow } from '../core/db/sql.ts';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { slashCommand, type Who } from './fakes/slack-request.ts';
import { dbStatements } from '../core/db/statements.ts';

/*
 * What one durable Slack agent turn costs in round trips to PostgreSQL (issue 21 item 7), counted
 * as bench:slack counts them (renderbot_db_statements_total): a `/render <question>` in a new
 * thread, one model round, from the signed request to the item marked done and the lease given
 * up. The number is pinned so a turn cannot grow more expensive unnoticed; lower it here when a
 * change saves a statement. The job queue's own pool (graphile-worker's polling) is not a turn's.
 */
const TURN_STATEMENTS = 8;

let h: SlackHarness;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };

// Nothing but the turn talks to the database while it is measured: no poll for missed work, no lease renewal.
beforeAll(async () => {
  h = await startSlackHarness({ turnPollMs: 3_600_000, env: { TURN_LEASE_SECONDS: '3600' } });
  await h.acmeWithAlice(alice.userId);
});
afterAll(async () => {
  await h?.close();
});

/** Statements sent so far on the pools a turn uses (the ORM's and the intake's). */
async function turnPoolStatements(): Promise<Record<string, number>> {
  const counted = (await dbStatements.get()).values;
  return Object.fromEntries(
    ['orm', 'intake'].map((pool) => [
      pool,
      counted.filter((v) => v.labels.pool === pool).reduce((n, v) => n + v.value, 0),
    ]),
  );
}

/** Sends `/render <question>` and resolves with the answer posted into the thread it started. */
async function ask(question: string, answer: string): Promise<string> {
  h.llm.enqueue({ content: answer });
  await h.send.command(slashCommand(alice, question, h.slack.responseUrl()));
  const root = await h.slack.waitFor('chat.postMessage', (c) => String(c.body.text).includes(`asked: ${question}`));
  const reply = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === root.response!.ts);
  return String(reply.body.text);
}

describe('the cost of a Slack agent turn', () => {
  it(`takes ${TURN_STATEMENTS} SQL statements from the signed request to the item done and the lease given up`, async () => {
    // A first turn fills the caches a workspace's first message fills (who is speaking, the tenant's model client).
    expect(await ask('how are the renders of this week doing?', 'All 12 rendered.')).toContain('All 12 rendered.');
    const [first] = await rows(h.em(), idRow, `select id::text as id from turn_inbox order by id desc limit 1`);
    await h.app.conversations.result(first!.id);

    const before = await turnPoolStatements();
    expect(await ask('and the renders of last week?', 'All 9 rendered.')).toContain('All 9 rendered.');
    // Stopping waits for the running turn to finish (its item marked done) and runs no statement of its own.
    await h.app.stopTurns();
    const after = await turnPoolStatements();

    const used = Object.fromEntries(Object.entries(after).map(([pool, n]) => [pool, n - (before[pool] ?? 0)]));
    const total = Object.values(used).reduce((a, b) => a + b, 0);
    expect({ total, used }).toMatchObject({ total: TURN_STATEMENTS });
    const [item] = await rows(
      h.em(),
      z.object({ done: z.boolean(), attempts: z.number() }),
      `select done_at is not null as done, attempts from turn_inbox order by id desc limit 1`,
    );
    expect(item).toEqual({ done: true, attempts: 1 });
    const leases = await rows(
      h.em(),
      z.object({ owner: z.string() }),
      `select l.owner from session_lease l join turn_inbox i on i.session_id = l.session_id where i.id = (select max(id) from turn_inbox)`,
    );
    expect(leases).toEqual([]);
    h.llm.assertDone();
  });
});
