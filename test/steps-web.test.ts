import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { readEvents, startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { threeToolSteps, threeToolTurn } from './support/steps-script.ts';

let h: WebHarness;
let acme: TenantFixture;
let alice: string;

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
});
afterAll(async () => {
  await h.close();
});

type Step = { id: string; title: string; state: string; result?: string };
type Msg = { role: string; content: string; reply: { steps?: Step[] } | null };

describe('steps on the web (docs/design.md §12)', () => {
  it('streams a step event as each tool call starts and ends, before the text, and returns them in the reply', async () => {
    h.llm.enqueue(...threeToolTurn());
    const res = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'ball bearings and my orders?' },
      headers: { accept: 'text/event-stream' },
    });
    const events = await readEvents(res);
    const steps = events.filter((e) => e.event === 'step').map((e) => e.data as Step);
    // Each call: running first, then its end state; calls run in parallel, so only the per-call order is fixed.
    for (const expected of threeToolSteps) {
      const mine = steps.filter((s) => s.id === expected.id);
      expect(mine).toEqual([{ id: expected.id, title: expected.title, state: 'running' }, expected]);
    }
    const firstToken = events.findIndex((e) => e.event === 'token');
    const lastStep = events.findLastIndex((e) => e.event === 'step');
    expect(lastStep).toBeLessThan(firstToken);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect((done.data as { response: Msg }).response.reply?.steps).toEqual(threeToolSteps);
    h.llm.assertDone();
  });

  it('stores the steps with the answer: a reloaded session shows them, and a turn without tools has none', async () => {
    h.llm.enqueue(...threeToolTurn('Here is what I found.'));
    const res = await h.api('/api/chat/messages', { token: alice, body: { message: 'again please' } });
    const { session_id: sessionId } = (await res.json()) as { session_id: string };
    h.llm.enqueue({ content: 'You are welcome.' });
    await h.api('/api/chat/messages', { token: alice, body: { message: 'thanks', session_id: sessionId } });

    const page = (await (await h.api(`/api/chat/sessions/${sessionId}/messages`, { token: alice })).json()) as {
      messages: Msg[];
    };
    const answers = page.messages.filter((m) => m.role === 'assistant');
    expect(answers.map((m) => m.content)).toEqual(['Here is what I found.', 'You are welcome.']);
    expect(answers[0]!.reply?.steps).toEqual(threeToolSteps);
    expect(answers[1]!.reply?.steps).toBeUndefined();
    h.llm.assertDone();
  });
});
