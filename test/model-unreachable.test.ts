import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTenantAi } from '../core/llm/settings.ts';
import { freePort } from './support/db.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { mentionEvent, type Who } from './fakes/slack-request.ts';

/*
 * A tenant's model endpoint that refuses connections is the tenant's problem, not a database
 * outage: the person is told the AI service is unavailable, and the process stays ready. (Outages
 * are told apart by error codes, and a refused fetch carries the same ECONNREFUSED as a refused
 * PostgreSQL connection.)
 */
let h: SlackHarness;
let acme: string;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };

beforeAll(async () => {
  h = await startSlackHarness();
  acme = (await h.acmeWithAlice(alice.userId)).tenant.id;
  const closed = await freePort();
  if (h.llm.settings.provider !== 'azure') throw new Error('the harness model is Azure');
  await setTenantAi(
    h.em(),
    h.config.secretsKey,
    acme,
    { ...h.llm.settings, endpoint: `http://127.0.0.1:${closed}` },
    h.llm.apiKey,
  );
});
afterAll(async () => {
  await h?.close();
});

describe('a model endpoint that refuses connections', () => {
  it('answers that the AI service is unavailable, and the database is not taken for lost', async () => {
    const ask = mentionEvent(alice, 'how are the renders of this week doing?', { botUserId: TEAM.botUserId });
    expect((await h.send.event(ask)).status).toBe(200);
    const { update } = await h.answer((c) => c.body.channel === alice.channel);
    expect(String(update.body.text)).toContain('The AI service is unavailable right now');
    expect(h.app.db.availability.up).toBe(true);
    expect(h.logs.lines.some((l) => String(l.msg).startsWith('database unreachable'))).toBe(false);
    const ready = await fetch(`${h.base}/readyz`);
    expect(ready.status).toBe(200);
  }, 60_000);

  it('a model stream cut off by the connection (ECONNRESET under fetch\'s "terminated") is the model\'s failure too', async () => {
    const cutter: Who = { ...alice, channel: 'C0CUTOFF01' };
    // The tenant's model answers again, but every stream is cut after its first chunk (each attempt of the call).
    await h.link(acme, TEAM.teamId);
    for (let i = 0; i < 4; i++) h.llm.enqueue({ content: 'All twelve renders are done.', cutAfterChunks: 1 });
    expect((await h.send.event(mentionEvent(cutter, 'and now?', { botUserId: TEAM.botUserId }))).status).toBe(200);
    const { update } = await h.answer((c) => c.body.channel === cutter.channel);
    expect(String(update.body.text)).toMatch(/AI service/);
    expect(h.app.db.availability.up).toBe(true);
    expect(h.logs.lines.some((l) => String(l.msg).startsWith('database unreachable'))).toBe(false);
    h.llm.discardPending();
  }, 60_000);
});
