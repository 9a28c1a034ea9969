import { guardSql, loadSqlParser } from '../core/sql/guard.ts';

/** Realistic model-written analytics, plus one refusal, as the guard sees them in a chat. */
const statements = [
  `select pim_id, name from v_products order by pim_id limit 20`,
  `select status, count(*) as n from v_orders group by status order by n desc`,
  `select o.order_number, count(j.id) filter (where j.status = 'failed') as failed, count(j.id) as jobs
     from v_orders o join v_render_jobs j on j.order_id = o.id group by o.order_number having count(j.id) > 0`,
  `select date_trunc('day', finished_at) as day, avg(extract(epoch from finished_at - started_at)) as secs
     from v_render_jobs where finished_at > now() - interval '7 days' group by 1 order by 1`,
  `with per_cat as (select category, count(*) as n from v_products group by category)
     select category, n, rank() over (order by n desc) as r from per_cat`,
  `select p.category, count(distinct i.order_id) from v_products p left join v_order_items i on i.product_id = p.id group by 1`,
  `select pim_id, attributes->>'color' as color from v_products where attributes ? 'color' and lower(name) like '%lager%'`,
  `select name, format, width * height as pixels from v_output_types union all select name, null, null from v_materials`,
  `select order_number, case when completed_at is null then 'open' else to_char(completed_at, 'YYYY-MM-DD') end
     from v_orders where id in (select order_id from v_render_jobs where attempts > 1)`,
  `select * from v_products p join tenant t on true where set_config('renderbot.tenant_id', 'x', true) is not null`,
];

/** Times `guardSql` over the statement mix; returns the mean milliseconds per statement (parser load excluded). */
export async function benchGuard(iterations = 2000): Promise<{ perStatementMs: number }> {
  await loadSqlParser();
  for (const sql of statements) await guardSql(sql); // warm up
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await guardSql(statements[i % statements.length]!);
  return { perStatementMs: (performance.now() - started) / iterations };
}

if (import.meta.main) {
  const { perStatementMs } = await benchGuard();
  console.log(`guardSql: ${perStatementMs.toFixed(3)} ms per statement`);
}
