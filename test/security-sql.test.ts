import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { doubling } from './support/sql-attacks.ts';
import { waitFor } from './support/renders.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import { MAX_TOOL_MESSAGE_CHARS } from '../core/history/messages.ts';
import { createQueryPool } from '../core/db/query-pool.ts';
import { RESULT_BYTES, runGuardedQuery, VALUE_CHARS } from '../core/sql/runner.ts';
import { z } from 'zod';
import { rows, pgRow } from './support/rows.ts';

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
afterAll(async () => {
  await h?.close();
});

type ToolMessage = { role: string; tool_call_id: string; content: string };
const toolMessages = (req: FakeLlmRequest) => req.body.messages.filter((m) => m.role === 'tool') as ToolMessage[];

/** One model response calling query_database with each of `sqls`, then a short answer once the results are in. */
function scriptQueries(sqls: string[]): FakeStep {
  return (req) =>
    toolMessages(req).length
      ? { content: 'Done.' }
      : { toolCalls: sqls.map((sql) => ({ name: 'query_database', arguments: { sql } })) };
}

async function ask(token: string, message: string) {
  const res = await h.api('/api/chat/messages', { token, body: { message } });
  expect(res.status).toBe(200);
  return (await res.json()) as { session_id: string };
}

describe('query_database cannot hurt the server (issue 12 item 2)', () => {
  it('long values are cut by PostgreSQL: the model is told, and neither it nor the stored tool message gets them whole', async () => {
    const viewer = await h.token(acme.tenant.id, 'vera', 'viewer');
    const pad = (column: string) => `rpad(${column}, 2000, '.') || rpad(${column}, 1000, '.')`; // 3,000 characters from pads the guard allows
    h.llm.enqueue(
      scriptQueries([
        `select rpad('x', 2000, 'y') || rpad('x', 2000, 'y') as big from generate_series(1, 10)`,
        `select ${pad('pim_id')} as a, ${pad('name')} as b from v_products, generate_series(1, 20)`, // 100 wide rows
      ]),
    );
    const { session_id } = await ask(viewer, 'Show me big values');
    const [huge, wide] = toolMessages(h.llm.requests.at(-1)!).map((m) => ({
      raw: m.content,
      data: JSON.parse(m.content) as { rows: string[][]; truncated: boolean; values_cut?: boolean; note?: string },
    }));
    expect(huge!.data).toMatchObject({
      row_count: 10,
      truncated: false,
      values_cut: true,
      note: expect.stringContaining(`longer than ${VALUE_CHARS} characters were cut`),
    });
    for (const [big] of huge!.data.rows) expect(big).toHaveLength(VALUE_CHARS);
    // 100 rows of 4,000 characters are more than the byte budget: reading stopped there, and the model knows.
    expect(wide!.data.rows.length).toBeGreaterThan(5);
    expect(wide!.data.rows.length).toBeLessThan(100);
    expect(wide!.data).toMatchObject({
      truncated: true,
      values_cut: true,
      note: expect.stringContaining('more rows exist'),
    });
    for (const m of [huge!, wide!]) expect(Buffer.byteLength(m.raw)).toBeLessThan(RESULT_BYTES + 1024);

    const stored = await rows(
      h.em(),
      z.object({ n: z.number() }),
      `select length(content)::int as n from chat_message where session_id = ? and role = 'tool'`,
      [session_id],
    );
    expect(stored).toHaveLength(2);
    for (const row of stored) expect(row.n).toBeLessThanOrEqual(MAX_TOOL_MESSAGE_CHARS);
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  }, 60_000);

  it('deep nesting and function calls written as attributes come back to the model as clear rejections', async () => {
    const viewer = await h.token(acme.tenant.id, 'vic', 'viewer');
    h.llm.enqueue(
      scriptQueries([`select ${'(select '.repeat(600)}1${')'.repeat(600)}`, 'select p.row_to_json from v_products p']),
    );
    await ask(viewer, 'Try these');
    const [nested, attribute] = toolMessages(h.llm.requests.at(-1)!);
    expect(nested!.content).toMatch(/^Error: Query rejected: The query is nested too deeply/);
    expect(attribute!.content).toMatch(/^Error: Query rejected: "p\.row_to_json": p has no column "row_to_json"/);
  }, 60_000);

  it("another tenant's /api/me is answered while 16 heavy queries of one tenant run", async () => {
    const heavy = 'select count(*) from (select generate_series(1, 100000000000) as g) s';
    const tokens = await Promise.all(['ann', 'ben', 'cai', 'dot'].map((u) => h.token(acme.tenant.id, u, 'operator')));
    const gus = await h.token(globex.tenant.id, 'gus', 'operator');
    h.llm.enqueue(...tokens.map(() => scriptQueries([heavy, heavy, heavy, heavy])));
    const asking = Promise.all(tokens.map((t, i) => ask(t, `heavy ${i}`)));

    // The heavy queries' backends, once several run at once.
    const running = () =>
      rows(
        h.em(),
        z.object({ pid: z.number(), xact: z.string() }),
        `select pid, xact_start::text as xact from pg_stat_activity
      where datname = current_database() and state = 'active' and (query like '%fetch % from renderbot_q%' or query like '%100000000000%')`,
      );
    const before = await waitFor(async () => {
      const r = await running();
      return r.length >= 4 ? r : undefined;
    }, 'heavy queries to run');

    const me = await h.api('/api/me', { token: gus });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user_id: 'gus', tenant: { slug: 'globex' } });
    // Answered while the very transactions seen before were still running, not after they ended.
    const after = await running();
    expect(after.filter((r) => before.some((b) => b.pid === r.pid && b.xact === r.xact)).length).toBeGreaterThan(0);

    await asking;
    const results = h.llm.requests
      .slice(-4)
      .flatMap(toolMessages)
      .map((m) => m.content);
    expect(results).toHaveLength(16);
    for (const r of results) expect(r).toMatch(/^Error: .*(longer than 3000 ms|busy)/);
  }, 120_000);
});

/** The backend's peak resident memory so far (VmHWM) in MB, read from /proc: the test runs on PostgreSQL's machine. */
function backendPeakMb(pid: number, database: string): number {
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  // Make sure the pid is that backend here, not a process of another PID namespace (PostgreSQL in a container).
  if (!command.startsWith('postgres') || !command.includes(database)) {
    throw new Error(
      `/proc/${pid} is not the PostgreSQL backend of ${database}; this test needs PostgreSQL on the same machine`,
    );
  }
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(peak?.[1]) / 1024;
}

/** Runs `sql` through the real guard and runner on a connection of its own; how it ended and that backend's peak memory. */
async function runMeasured(url: string, tenantId: string, sql: string): Promise<{ outcome: string; peakMb: number }> {
  const pool = createQueryPool(url, 1);
  try {
    const { pid } = (await pgRow(pool, z.object({ pid: z.number() }), 'select pg_backend_pid() as pid'))!;
    const outcome = await runGuardedQuery(pool, tenantId, sql).then(
      (r) => `${r.rowCount} rows`,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    return { outcome, peakMb: backendPeakMb(pid, new URL(url).pathname.slice(1)) };
  } finally {
    await pool.end();
  }
}

/** Peak memory of one PostgreSQL backend running a guarded query, in MB; an idle backend takes about 15. */
const PEAK_MB = 200;

describe("query_database cannot exhaust the database's memory", () => {
  /*
   * Each attack either comes back as a rejection that explains itself, or runs (or fails in
   * PostgreSQL) while its backend stays below PEAK_MB. Sizes are scaled down from the issue's
   * 2.4 GB so that, unguarded, they still took 100–630 MB each (PostgreSQL 15); guarded, about 20.
   */
  const attacks: [string, string, RegExp | 'runs'][] = [
    [
      "the issue's array_agg of lpad, scaled down",
      `select array_length(array_agg(lpad('x', 25000000, 'y')), 1) from generate_series(1, 9)`,
      /array_agg\(\) is not allowed/,
    ],
    [
      '|| doubling through 14 CTEs',
      doubling(`lpad('', 2000, 'x')`, 's || s', 14),
      /expressions once its CTEs and subqueries are inlined/,
    ],
    [
      'x + x through 18 CTEs (the planner copies the expression)',
      doubling('1', 's + s', 18),
      /expressions once its CTEs and subqueries are inlined/,
    ],
    [
      'NOT IN a subquery the planner thinks small',
      `select count(*) from generate_series(1, 10) x
      where x not in (select g from (select generate_series(1, 2000000) g) s where g * 0 = 0 and g * 0 + 1 = 1)`,
      /write NOT EXISTS/,
    ],
    [
      'a constant IN a subquery the planner thinks small',
      `select count(*) from generate_series(1, 10) x
      where 0 in (select g from (select generate_series(1, 2000000) g) s where g * 0 = 0 and g * 0 + 1 = 1)`,
      /needs a column of this query on its left/,
    ],
    [
      'recursive UNION',
      `with recursive t(i) as (select 1 union select i + 1 from t where i < 3000000) select count(*) from t`,
      /must use UNION ALL/,
    ],
    [
      'EXCEPT of a side the planner thinks small',
      `select count(*) from (select lpad('', 300, 'x') || g from (select generate_series(1, 1000000) g) s
      where g * 0 = 0 and g * 0 + 1 = 1 except select 'a') q`,
      /INTERSECT and EXCEPT are not supported/,
    ],
    [
      "a regular expression that compiles to 85 MB and stays in the connection's cache",
      `select count(*) from v_products where name ~ '(a{0,255}){0,60}'`,
      /compiles to about 15,300 states/,
    ],
    // Accepted, and bounded: numbers are capped by PostgreSQL, values by the guard, rows only cost time.
    [
      'the largest numerics',
      `select length((10::numeric ^ 131000)::text || (10::numeric ^ 131000)::text || (10::numeric ^ 131000)::text)`,
      'runs',
    ],
    ['a numeric too large to exist', `select length((10::numeric ^ 100000000)::text)`, 'runs'],
    ['|| doubling within the budget', doubling(`lpad('', 2000, 'x')`, 's || s', 3), 'runs'],
    [
      '100 columns of 2,000 characters over a million rows, sorted',
      `select count(*) from (select ${Array.from({ length: 100 }, (_, i) => `lpad(g::text, 2000, '${i % 10}') as c${i}`).join(', ')}
      from generate_series(1, 1000000) g order by c1 desc) s`,
      'runs',
    ],
    [
      'a billion generated rows, summed',
      `select sum(c) from generate_series(1, 1000) a, generate_series(1, 1000) b, generate_series(1, 1000) c`,
      'runs',
    ],
  ];

  it.each(attacks)(
    '%s',
    async (_what, sql, expected) => {
      const { outcome, peakMb } = await runMeasured(h.db.url, acme.tenant.id, sql);
      if (expected === 'runs') expect(outcome).not.toMatch(/^Query rejected/);
      else expect(outcome).toMatch(expected);
      expect(peakMb, outcome).toBeLessThan(PEAK_MB);
    },
    30_000,
  );
});
