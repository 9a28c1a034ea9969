import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { waitFor } from './support/renders.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import { MAX_TOOL_MESSAGE_CHARS } from '../core/history/messages.ts';
import { RESULT_BYTES, VALUE_CHARS } from '../core/sql/runner.ts';

/*
 * query_database cannot hurt the server (issue 12 item 2), as the attack: a viewer asks through
 * the web API, the scripted model runs whatever SQL it is told, and we look at what was stored,
 * what the model was sent, and whether another tenant is still served.
 */

let h: WebHarness;
let acme: TenantFixture;
let globex: TenantFixture;

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => { await h?.close(); });

type ToolMessage = { role: string; tool_call_id: string; content: string };
const toolMessages = (req: FakeLlmRequest) => req.body.messages.filter((m) => m.role === 'tool') as ToolMessage[];

/** One model response calling query_database with each of `sqls`, then a short answer once the results are in. */
function scriptQueries(sqls: string[]): FakeStep {
  return (req) => toolMessages(req).length
    ? { content: 'Done.' }
    : { toolCalls: sqls.map((sql) => ({ name: 'query_database', arguments: { sql } })) };
}

async function ask(token: string, message: string) {
  const res = await h.api('/api/chat/messages', { token, body: { message } });
  expect(res.status).toBe(200);
  return (await res.json()) as { session_id: string };
}

describe('query_database cannot hurt the server (issue 12 item 2)', () => {
  it('huge values are cut by PostgreSQL: the model is told, and neither it nor the stored tool message gets megabytes', async () => {
    const viewer = await h.token(acme.tenant.id, 'vera', 'viewer');
    h.llm.enqueue(scriptQueries([
      `select rpad('x', 1000000, 'y') as big from generate_series(1, 10)`, // 10 MB, the attack scaled down
      `select rpad(pim_id, 3000, '.') as a, rpad(name, 3000, '.') as b from v_products, generate_series(1, 20)`, // 100 wide rows
    ]));
    const { session_id } = await ask(viewer, 'Show me big values');
    const [huge, wide] = toolMessages(h.llm.requests.at(-1)!).map((m) => ({ raw: m.content, data: JSON.parse(m.content) as { rows: string[][]; truncated: boolean; values_cut?: boolean; note?: string } }));
    expect(huge!.data).toMatchObject({ row_count: 10, truncated: false, values_cut: true, note: expect.stringContaining(`longer than ${VALUE_CHARS} characters were cut`) });
    for (const [big] of huge!.data.rows) expect(big).toHaveLength(VALUE_CHARS);
    // 100 rows of 4,000 characters are more than the byte budget: reading stopped there, and the model knows.
    expect(wide!.data.rows.length).toBeGreaterThan(5);
    expect(wide!.data.rows.length).toBeLessThan(100);
    expect(wide!.data).toMatchObject({ truncated: true, values_cut: true, note: expect.stringContaining('more rows exist') });
    for (const m of [huge!, wide!]) expect(Buffer.byteLength(m.raw)).toBeLessThan(RESULT_BYTES + 1024);

    const stored = (await h.em().execute(`select length(content)::int as n from chat_message where session_id = ? and role = 'tool'`, [session_id])) as { n: number }[];
    expect(stored).toHaveLength(2);
    for (const row of stored) expect(row.n).toBeLessThanOrEqual(MAX_TOOL_MESSAGE_CHARS);
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  }, 60_000);

  it('deep nesting and function calls written as attributes come back to the model as clear rejections', async () => {
    const viewer = await h.token(acme.tenant.id, 'vic', 'viewer');
    h.llm.enqueue(scriptQueries([
      `select ${'(select '.repeat(600)}1${')'.repeat(600)}`,
      'select p.row_to_json from v_products p',
    ]));
    await ask(viewer, 'Try these');
    const [nested, attribute] = toolMessages(h.llm.requests.at(-1)!);
    expect(nested!.content).toMatch(/^Error: Query rejected: The query is nested too deeply/);
    expect(attribute!.content).toMatch(/^Error: Query rejected: "p\.row_to_json": p has no column "row_to_json"/);
  }, 60_000);

  it('another tenant\'s /api/me is answered while 16 heavy queries of one tenant run', async () => {
    const heavy = 'select count(*) from (select generate_series(1, 100000000000) as g) s';
    const tokens = await Promise.all(['ann', 'ben', 'cai', 'dot'].map((u) => h.token(acme.tenant.id, u, 'operator')));
    const gus = await h.token(globex.tenant.id, 'gus', 'operator');
    h.llm.enqueue(...tokens.map(() => scriptQueries([heavy, heavy, heavy, heavy])));
    const asking = Promise.all(tokens.map((t, i) => ask(t, `heavy ${i}`)));

    // The heavy queries' backends, once several run at once.
    const running = () => h.em().execute(`select pid, xact_start::text as xact from pg_stat_activity
      where datname = current_database() and state = 'active' and (query like '%fetch % from renderbot_q%' or query like '%100000000000%')`) as Promise<{ pid: number; xact: string }[]>;
    const before = await waitFor(async () => { const r = await running(); return r.length >= 4 ? r : undefined; }, 'heavy queries to run');

    const me = await h.api('/api/me', { token: gus });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user_id: 'gus', tenant: { slug: 'globex' } });
    // Answered while the very transactions seen before were still running, not after they ended.
    const after = await running();
    expect(after.filter((r) => before.some((b) => b.pid === r.pid && b.xact === r.xact)).length).toBeGreaterThan(0);

    await asking;
    const results = h.llm.requests.slice(-4).flatMap(toolMessages).map((m) => m.content);
    expect(results).toHaveLength(16);
    for (const r of results) expect(r).toMatch(/^Error: .*(longer than 3000 ms|busy)/);
  }, 120_000);
});
