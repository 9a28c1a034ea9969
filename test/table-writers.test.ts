import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allEntities } from '../core/db/entities/index.ts';
import { tsFiles } from './support/boundaries.ts';

/** Who writes each table (docs/ARCHITECTURE.md "Tables and their writers"): the owner's path prefix. */
const writers: Record<string, string> = {
  tenant: 'core/tenancy/',
  platform_link: 'core/tenancy/',
  link_code: 'core/tenancy/',
  tenant_user: 'core/tenancy/',
  api_token: 'core/tenancy/',
  web_login_code: 'core/tenancy/',
  slack_installation: 'core/tenancy/',
  chat_session: 'core/history/',
  chat_message: 'core/history/',
  token_usage: 'core/history/',
  answer_feedback: 'core/history/',
  answer_post: 'core/history/',
  turn_inbox: 'core/queue/',
  session_lease: 'core/queue/',
  inbound_event: 'core/queue/',
  queue_worker: 'core/queue/',
  rate_limit: 'core/rate-limits.ts',
  idempotency_key: 'core/idempotency.ts',
  pending_action: 'core/actions/',
  audit_log: 'core/actions/',
  product: 'core/pipeline/',
  material: 'core/pipeline/',
  output_type: 'core/pipeline/',
  product_selection: 'core/pipeline/',
  order_counter: 'core/pipeline/',
  order_item: 'core/pipeline/',
  render_job_tally: 'core/pipeline/',
  render_order: 'core/pipeline/',
  render_job: 'core/pipeline/',
  render_callback: 'core/renders/',
  uploaded_file: 'core/files/',
};

const tables = Object.keys(writers).join('|');
/** A write to a table: SQL text or Kysely's builders (a table name may carry an alias). */
const writes = new RegExp(
  `\\b(?:insert\\s+into|update|delete\\s+from)\\s+(${tables})\\b|\\b(?:insertInto|updateTable|deleteFrom|mergeInto)\\(\\s*['"\`](${tables})\\b`,
  'gi',
);

/** Every write in the application's code, as `table file`; the demo and bench seeds write what they seed. */
function allWrites(): { table: string; file: string }[] {
  const files = ['core', 'adapters', 'bot']
    .flatMap((d) => tsFiles(d))
    .filter((f) => !f.startsWith('bot/seed/') && !f.includes('/panel/'));
  return files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(writes)].map((m) => ({ table: (m[1] ?? m[2]!).toLowerCase(), file })),
  );
}

describe('one writer per table (docs/ARCHITECTURE.md)', () => {
  it('every table has its writers named', () => {
    expect(allEntities.map((e) => e.meta.tableName).filter((t) => !(t in writers))).toEqual([]);
  });

  it('no table is written outside its owner', () => {
    const found = allWrites();
    const outside = found.filter((w) => !w.file.startsWith(writers[w.table]!)).map((w) => `${w.table}: ${w.file}`);
    expect(outside).toEqual([]);
    // The scan sees the writes it guards: the owners' own.
    expect(found).toContainEqual({ table: 'tenant', file: 'core/tenancy/tenants.ts' });
    expect(found).toContainEqual({ table: 'render_order', file: 'core/pipeline/order-notices.ts' });
    expect(found).toContainEqual({ table: 'session_lease', file: 'core/queue/session-lease.ts' });
  });
});
