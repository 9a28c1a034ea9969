import { describe, expect, it } from 'vitest';
import { ALLOWED_FUNCTIONS, SYNTAX_FUNCTIONS } from '../core/sql/allowlist.ts';
import { guardSql, MAX_SQL_LENGTH } from '../core/sql/guard.ts';
import { SIZED_FUNCTIONS } from '../core/sql/sizes.ts';
import { doubling, joinedViews } from './support/sql-attacks.ts';

/** [what it tries, SQL, a substring the rejection reason must contain] */
const hostile: [string, string, string][] = [
  // writes
  [
    'insert',
    `insert into product (tenant_id, pim_id, name, category) values (gen_random_uuid(), 'x', 'x', 'x')`,
    'found INSERT',
  ],
  ['update', `update product set name = 'pwned'`, 'found UPDATE'],
  ['delete', `delete from render_order`, 'found DELETE'],
  ['merge', `merge into product p using v_products v on p.id = v.id when matched then delete`, 'found MERGE'],
  ['insert into a view', `insert into v_products (pim_id) values ('x')`, 'found INSERT'],
  // DDL
  ['create table', `create table loot as select * from tenant`, 'found CREATE TABLE AS'],
  ['create function', `create function f() returns int language sql as 'select 1'`, 'found CREATE FUNCTION'],
  ['drop table', `drop table tenant`, 'found DROP'],
  ['alter table', `alter table tenant add column x int`, 'found ALTER TABLE'],
  ['truncate', `truncate chat_message`, 'found TRUNCATE'],
  ['grant', `grant select on tenant to renderbot_query`, 'found GRANT/REVOKE'],
  // batches and comments
  ['two statements', `select 1; drop table tenant`, 'Found 2 statements'],
  ['statement after a line comment', `select 1 -- harmless\n; delete from tenant`, 'Found 2 statements'],
  ['statement after a block comment', `select 1 /* ; */; delete from tenant`, 'Found 2 statements'],
  ['comment-only', `-- select * from v_products`, 'empty'],
  // SELECT that writes or locks
  ['data-modifying CTE', `with x as (delete from product returning *) select * from x`, 'data-modifying WITH (DELETE)'],
  [
    'nested data-modifying CTE',
    `select * from (with x as (update product set name = 'a' returning id) select * from x) s`,
    'data-modifying WITH (UPDATE)',
  ],
  ['SELECT INTO', `select * into loot from v_products`, 'INTO'],
  ['FOR UPDATE', `select * from v_orders for update`, 'Locking clauses'],
  ['FOR SHARE in a subquery', `select * from (select * from v_orders for share) s`, 'Locking clauses'],
  ['FOR NO KEY UPDATE SKIP LOCKED', `select id from v_render_jobs for no key update skip locked`, 'Locking clauses'],
  // settings and session
  [
    'set_config tenant switch',
    `select set_config('renderbot.tenant_id', '00000000-0000-0000-0000-000000000000', false)`,
    'set_config() is not allowed',
  ],
  [
    'set_config in a subquery',
    `select * from v_products where (select set_config('renderbot.tenant_id', 'x', true)) is not null`,
    'set_config() is not allowed',
  ],
  [
    'set_config in FROM',
    `select * from set_config('renderbot.tenant_id', 'x', true) s, v_products`,
    'set_config() is not allowed',
  ],
  [
    'set_config in ORDER BY',
    `select pim_id from v_products order by set_config('renderbot.tenant_id', 'x', true)`,
    'set_config() is not allowed',
  ],
  [
    'set_config in a CTE',
    `with s as (select set_config('role', 'postgres', true)) select * from s`,
    'set_config() is not allowed',
  ],
  [
    'set_config in a lateral join',
    `select * from v_products p cross join lateral (select set_config('a.b', p.name, true)) x`,
    'set_config() is not allowed',
  ],
  [
    'set_config in an aggregate FILTER',
    `select count(*) filter (where set_config('a.b', 'c', true) = 'c') from v_orders`,
    'set_config() is not allowed',
  ],
  ['current_setting', `select current_setting('renderbot.tenant_id')`, 'current_setting() is not allowed'],
  [
    'current_setting in CASE',
    `select case when current_setting('is_superuser') = 'on' then 1 end from v_products`,
    'current_setting() is not allowed',
  ],
  ['SET ROLE', `set role postgres`, 'found SET/RESET'],
  ['SET tenant', `set renderbot.tenant_id = '00000000-0000-0000-0000-000000000000'`, 'found SET/RESET'],
  ['RESET', `reset role`, 'found SET/RESET'],
  ['SHOW', `show search_path`, 'found SHOW'],
  ['current_user', `select current_user`, 'Session information'],
  ['BEGIN', `begin`, 'transaction control'],
  ['COMMIT', `commit`, 'transaction control'],
  // relations
  ['base table tenant', `select * from tenant`, 'Relation "tenant" is not available'],
  ['base table product', `select * from product`, 'use the view v_products instead'],
  ['base table render_order', `select * from render_order`, 'use the view v_orders instead'],
  ['base table chat_message', `select content from chat_message`, 'Relation "chat_message" is not available'],
  ['base table pending_action', `select plan from pending_action`, 'Relation "pending_action" is not available'],
  ['base table in a join', `select * from v_products p join tenant t on true`, 'Relation "tenant" is not available'],
  [
    'base table in EXISTS',
    `select 1 where exists (select 1 from tenant where slug = 'acme')`,
    'Relation "tenant" is not available',
  ],
  [
    'base table in IN',
    `select * from v_products where id in (select id from product)`,
    'use the view v_products instead',
  ],
  [
    'base table in UNION',
    `select name from v_products union select name from tenant`,
    'Relation "tenant" is not available',
  ],
  ['TABLE tenant', `table tenant`, 'Relation "tenant" is not available'],
  ['quoted identifier', `select * from "tenant"`, 'Relation "tenant" is not available'],
  ['unicode-escaped identifier', `select * from U&"\\0074enant"`, 'Relation "tenant" is not available'],
  [
    'CTE shadows only inside its scope',
    `select * from (with tenant as (select 1) select * from tenant) a, tenant`,
    'Relation "tenant" is not available',
  ],
  [
    'non-recursive CTE cannot see a later sibling',
    `with a as (select * from b), b as (select 1) select * from a`,
    'Relation "b" is not available',
  ],
  ['pg_catalog.pg_tables', `select * from pg_catalog.pg_tables`, 'System catalogs'],
  ['information_schema.tables', `select table_name from information_schema.tables`, 'System catalogs'],
  ['pg_user', `select usename from pg_user`, 'System catalogs (pg_user)'],
  ['pg_shadow', `select passwd from pg_shadow`, 'System catalogs (pg_shadow)'],
  ['schema-qualified view', `select * from public.v_products`, 'Schema-qualified names (public.v_products)'],
  ['database-qualified view', `select * from renderbot.public.v_products`, 'Schema-qualified names'],
  ['pg_temp table', `select * from pg_temp.v_products`, 'System catalogs'],
  // functions
  ['pg_read_file', `select pg_read_file('/etc/passwd')`, 'reads the server file system'],
  ['pg_ls_dir', `select * from pg_ls_dir('.')`, 'reads the server file system'],
  ['lo_import', `select lo_import('/etc/passwd')`, 'large objects'],
  ['dblink', `select * from dblink('host=evil', 'select 1') as t(x int)`, 'other databases'],
  ['pg_sleep', `select pg_sleep(10)`, 'sleeps'],
  ['pg_sleep_for in WHERE', `select * from v_orders where pg_sleep_for('1 minute') is not null`, 'sleeps'],
  [
    'query_to_xml runs SQL text',
    `select query_to_xml('select * from tenant', true, true, '')`,
    'runs SQL given as text',
  ],
  ['pg_terminate_backend', `select pg_terminate_backend(1)`, 'system catalogs or server internals'],
  ['has_table_privilege', `select has_table_privilege('tenant', 'select')`, 'server internals'],
  ['version()', `select version()`, 'server internals'],
  ['unknown function', `select md5(name) from v_products`, 'md5() is not on the allowlist'],
  ['qualified function', `select pg_catalog.lower(name) from v_products`, 'Schema-qualified function names'],
  ['qualified operator', `select 1 operator(pg_catalog.+) 1`, 'Schema-qualified operators'],
  [
    'record function with a column list',
    `select * from jsonb_to_recordset('[]') as t(a int)`,
    'jsonb_to_recordset() is not on the allowlist',
  ],
  ['function-style regclass', `select regclass('tenant')`, 'not on the allowlist'],
  // casts
  ['::regclass', `select 'tenant'::regclass`, 'Casts to regclass'],
  ['::regproc', `select 'pg_sleep'::regproc`, 'Casts to regproc'],
  ['::oid', `select 1::oid`, 'Casts to oid'],
  ['regrole literal', `select regrole 'postgres'`, 'Casts to regrole'],
  ['cast to an unlisted type', `select '1'::money`, 'Type money is not allowed'],
  ['CAST in WHERE', `select * from v_products where cast(name as regclass) is null`, 'Casts to regclass'],
  // utility
  ['COPY to a file', `copy tenant to '/tmp/t.csv'`, 'found COPY'],
  ['COPY from program', `copy product from program 'curl evil'`, 'found COPY'],
  ['DO block', `do $$ begin perform 1; end $$`, 'found DO'],
  ['CALL', `call some_procedure()`, 'found CALL'],
  ['EXPLAIN ANALYZE', `explain analyze delete from product`, 'found EXPLAIN'],
  ['LISTEN', `listen renderbot`, 'found LISTEN'],
  ['NOTIFY', `notify renderbot, 'x'`, 'found NOTIFY'],
  ['PREPARE', `prepare p as delete from product`, 'found PREPARE'],
  ['EXECUTE', `execute p`, 'found EXECUTE'],
  ['LOCK', `lock table tenant`, 'found LOCK'],
  ['VACUUM', `vacuum product`, 'found VACUUM'],
  ['DECLARE CURSOR', `declare c cursor for select * from tenant`, 'found DECLARE CURSOR'],
  // other constructs
  ['$1 parameter', `select * from v_products where pim_id = $1`, 'Parameters such as $1'],
  ['XML', `select xmlelement(name x, name) from v_products`, 'XmlExpr is not supported'],
  ['TABLESAMPLE', `select * from v_products tablesample bernoulli (50)`, 'RangeTableSample is not supported'],
  ['syntax error', `selec * from v_products`, 'Syntax error'],
  ['unterminated string', `select 'abc from v_products`, 'Syntax error'],
  ['empty', ``, 'empty'],
  ['too long', `select ${'1 + '.repeat(MAX_SQL_LENGTH / 4)}1`, `limit is ${MAX_SQL_LENGTH}`],
  // deep nesting (a stack overflow inside the guard before) and function calls written as attributes
  ['600 nested subqueries', `select ${'(select '.repeat(600)}1${')'.repeat(600)}`, 'nested too deeply'],
  [
    '1,100 nested subqueries (as deep as 10,000 characters go)',
    `select ${'(select '.repeat(1100)}1${')'.repeat(1100)}`,
    'nested too deeply',
  ],
  ['2,400 nested parentheses', `select ${'(1+'.repeat(2400)}1${')'.repeat(2400)}`, 'nested too deeply'],
  ['function call as an attribute', `select p.row_to_json from v_products p`, 'has no column "row_to_json"'],
  ['function call as a field of a row', `select (p).to_jsonb from v_products p`, 'has no column "to_jsonb"'],
  [
    'function call on a subquery row',
    `select s.row_to_json from (select id from v_products) s`,
    's has no column "row_to_json"',
  ],
  [
    'function call via an alias defined elsewhere',
    `with x as (select 1 as row_to_json) select y.row_to_json from (select 1 as a) y, x`,
    'y has no column "row_to_json"',
  ],
  [
    'function call on a CTE row',
    `with c as (select pim_id from v_products) select c.pg_column_size from c`,
    'has no column "pg_column_size"',
  ],
  [
    'function call on a view named without alias',
    `select v_orders.row_to_json from v_orders`,
    'has no column "row_to_json"',
  ],
  [
    'function call on a function alias',
    `select g.row_to_json from generate_series(1, 3) g`,
    'has no column "row_to_json"',
  ],
  ['field of an expression', `select (row(1, 2)).f1`, 'field of an expression'],
  ['schema-qualified column', `select public.v_products.name from v_products`, 'not allowed'],
  // memory: values built from little SQL (PostgreSQL has no memory limit per connection)
  [
    "the issue's array_agg of lpad (2.4 GB)",
    `select array_length(array_agg(lpad('x',100000000,'y')),1) from generate_series(1,9)`,
    'array_agg() is not allowed: it gathers the values of all rows',
  ],
  ['string_agg', `select category, string_agg(name, ', ') from v_products group by 1`, 'string_agg() is not allowed'],
  ['jsonb_agg', `select jsonb_agg(p) from v_products p`, 'jsonb_agg() is not allowed'],
  ['xmlagg', `select xmlagg(name) from v_products`, 'xmlagg() is not allowed'],
  ['lpad of 100 million characters', `select length(lpad('x', 100000000, 'y'))`, 'the limit is 2,000 characters'],
  ['rpad just over the limit', `select rpad(name, 2001, '.') from v_products`, 'the limit is 2,000 characters'],
  [
    'lpad with a computed length',
    `select lpad('x', g, 'y') from generate_series(1, 100000000) g`,
    'lpad() needs its length as a number literal',
  ],
  ['repeat', `select length(repeat('x', 100000000))`, 'repeat() is not allowed: it builds values of any size'],
  ['array_fill', `select array_fill(1, array[100000000])`, 'array_fill() is not allowed'],
  ['format with a width', `select format('%100000000s', 'x')`, 'format() is not allowed'],
  [
    'ARRAY of a subquery',
    `select cardinality(array(select g from generate_series(1, 100000000) g))`,
    'ARRAY(SELECT …) gathers every row',
  ],
  [
    '|| doubling through 17 CTEs (256 MB, planned as 131,072 copies)',
    doubling(`lpad('', 2000, 'x')`, 's || s', 17),
    'expressions once its CTEs and subqueries are inlined',
  ],
  [
    '|| doubling through 7 CTEs (256 kB made of 4 MB of intermediates)',
    doubling(`lpad('', 2000, 'x')`, 's || s', 7),
    'could build about',
  ],
  [
    'x + x through 20 CTEs (the planner copies the expression a million times)',
    doubling('1', 's + s', 20),
    'expressions once its CTEs and subqueries are inlined',
  ],
  [
    'recursive doubling',
    `with recursive t(s) as (select 'x' union all select s || s from t where length(s) < 1000000000) select max(length(s)) from t`,
    'Column s of the recursive WITH t grows with every step',
  ],
  [
    'recursive appending',
    `with recursive t(n, s) as (select 1, 'x' union all select n + 1, s || 'x' from t where n < 1000000) select max(length(s)) from t`,
    'Column s of the recursive WITH t grows',
  ],
  [
    'recursive array growth',
    `with recursive t(n, a) as (select 1, array[1] union all select n + 1, a || n from t where n < 1000000) select max(cardinality(a)) from t`,
    'Column a of the recursive WITH t grows',
  ],
  [
    'recursive UNION (keeps every row to drop duplicates)',
    `with recursive t(i) as (select 1 union select i + 1 from t) select count(*) from t`,
    'must use UNION ALL',
  ],
  [
    'SEARCH clause (a path per row)',
    `with recursive t(i) as (select 1 union all select i + 1 from t where i < 1000000) search depth first by i set path select count(*) from t`,
    'SEARCH and CYCLE',
  ],
  [
    'CYCLE clause',
    `with recursive t(i) as (select 1 union all select i + 1 from t) cycle i set seen using path select count(*) from t`,
    'SEARCH and CYCLE',
  ],
  [
    'nested replace (2,000 × 2,000 × 2,000 characters)',
    `select length(replace(replace(lpad('', 2000, 'a'), 'a', lpad('', 2000, 'a')), 'a', lpad('', 2000, 'a')))`,
    'could build about',
  ],
  [
    'regexp_replace with a long replacement',
    `select length(regexp_replace(lpad('', 2000, 'a'), 'a', lpad('', 2000, 'b'), 'g'))`,
    'could build about',
  ],
  [
    'regexp_replace repeating every stored character 300 times',
    `select regexp_replace(name, '(.)', '${'\\1'.repeat(300)}', 'g') from v_products`,
    'could copy stored values',
  ],
  [
    'array_to_string with a long separator',
    `select length(array_to_string(array[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16], lpad('', 2000, 'x')))`,
    'could build about',
  ],
  [
    'jsonb of numbers with huge exponents',
    `select jsonb_array_length('[${Array(40).fill('1e99999').join(',')}]'::jsonb)`,
    'could build about',
  ],
  [
    'text cast to jsonb (numbers may hide exponents)',
    `select (name || name)::jsonb from v_products`,
    'could copy stored values',
  ],
  ['char(10,000,000)', `select cast('x' as char(10000000))`, 'could build about'],
  [
    'NOT IN a subquery (a hash table of the whole subquery)',
    `select count(*) from generate_series(1, 10) x where x not in (select g from generate_series(1, 100000000) g where g * 0 = 0)`,
    'write NOT EXISTS',
  ],
  [
    'a constant IN a subquery (hashed: 230 MB for 2 million rows)',
    `select count(*) from v_products where 0 in (select g from generate_series(1, 100000000) g where g * 0 = 0)`,
    'needs a column of this query on its left',
  ],
  [
    'a column of an outer query IN a subquery (hashed as well)',
    `select (select count(*) from v_products p where o.id in (select order_id from v_order_items)) from v_orders o`,
    'needs a column of this query on its left',
  ],
  [
    'EXISTS with a WITH of its own (hashed)',
    `select * from v_products p where exists (with i as (select product_id from v_order_items) select 1 from i where i.product_id = p.id)`,
    'put the WITH at the top of the query',
  ],
  [
    'IN a subquery in the select list',
    `select id, id in (select product_id from v_order_items) as ordered from v_products`,
    'allowed only as WHERE conditions joined with AND',
  ],
  [
    'IN a subquery in HAVING',
    `select category from v_products group by 1 having category in (select category from v_products)`,
    'allowed only as WHERE conditions',
  ],
  [
    'EXISTS under OR',
    `select * from v_products p where p.category = 'x' or exists (select 1 from v_order_items i where i.product_id = p.id)`,
    'EXISTS (SELECT …) is allowed only as a WHERE condition',
  ],
  [
    'EXCEPT (a hash table of one side)',
    `select g::text from generate_series(1, 100000000) g except select 'a'`,
    'INTERSECT and EXCEPT are not supported',
  ],
  [
    'INTERSECT',
    `select pim_id from v_products intersect select pim_id from v_order_items`,
    'INTERSECT and EXCEPT are not supported',
  ],
  [
    'nested counted repetition (85 MB compiled, cached across queries)',
    `select count(*) from v_products where name ~ '(a{0,255}){0,60}'`,
    'compiles to about 15,300 states',
  ],
  [
    'a pattern taken from the data',
    `select count(*) from v_products where name ~ category`,
    'must be a string literal',
  ],
  [
    'patterns from a subquery',
    `select count(*) from v_products where name ~ any (select category from v_products)`,
    'must be a string literal',
  ],
  [
    'patterns in an array',
    `select count(*) from v_products where name ~* any (array['x', '((a{0,16}){0,16}){0,16}'])`,
    'compiles to about 4,',
  ],
  [
    'SIMILAR TO with nested counts',
    `select count(*) from v_products where name similar to '%(a{0,255}){0,60}%'`,
    'SIMILAR TO compiles to about',
  ],
  [
    'regexp_replace with nested counts',
    `select regexp_replace(name, '(a{0,255}){0,60}', 'x') from v_products`,
    'regexp_replace() compiles to about',
  ],
  [
    'substring FROM a computed pattern',
    `select substring(name from category) from v_products`,
    'must be a string literal',
  ],
  [
    'jsonpath like_regex with nested counts',
    `select count(*) from v_products where attributes @? '$.tags[*] ? (@ like_regex "(a{0,255}){0,60}")'`,
    'like_regex compiles to about',
  ],
  ['17 joined views (planning memory)', joinedViews(17), 'tables once views, CTEs and subqueries are expanded'],
  [
    '22 sorted subqueries (each sort may hold work_mem)',
    `select ${Array.from({ length: 22 }, () => '(select g from generate_series(1, 2) g order by g limit 1)').join(' + ')}`,
    'sort, hash, grouping or join steps',
  ],
];

/** Analytics a tenant may reasonably ask for. */
const legitimate: [string, string][] = [
  ['simple select', `select pim_id, name from v_products order by pim_id limit 10`],
  ['trailing semicolon and comment', `select count(*) from v_orders; -- how many`],
  [
    'join of views',
    `select o.order_number, p.pim_id from v_orders o join v_order_items i on i.order_id = o.id join v_products p on p.id = i.product_id`,
  ],
  [
    'group by / having',
    `select category, count(*) as n from v_products group by category having count(*) > 1 order by n desc`,
  ],
  [
    'window functions',
    `select pim_id, row_number() over (partition by category order by name) as rn, lag(name) over (order by name) from v_products`,
  ],
  [
    'CTE of selects',
    `with done as (select order_id, count(*) as n from v_render_jobs where status = 'completed' group by order_id) select o.order_number, coalesce(d.n, 0) from v_orders o left join done d on d.order_id = o.id`,
  ],
  ['recursive CTE', `with recursive n(i) as (select 1 union all select i + 1 from n where i < 5) select i from n`],
  ['UNION', `select name from v_materials union select material_name from v_products`],
  [
    'date_trunc and intervals',
    `select date_trunc('week', created_at) as week, count(*) from v_orders where created_at > now() - interval '30 days' group by 1 order by 1`,
  ],
  ['count filter', `select count(*) filter (where status = 'failed') as failed, count(*) as total from v_render_jobs`],
  [
    'subquery in WHERE / IN',
    `select * from v_products where id in (select product_id from v_order_items) and category = (select max(category) from v_products)`,
  ],
  [
    'CASE',
    `select pim_id, case when material_name is null then 'none' else upper(material_name) end as m from v_products`,
  ],
  [
    'jsonb operators',
    `select pim_id, attributes->>'color' as color from v_products where attributes ? 'color' and attributes @> '{"size": "L"}'`,
  ],
  [
    'extract, age, to_char',
    `select extract(epoch from finished_at - started_at) as secs, age(now(), queued_at), to_char(queued_at, 'YYYY-MM-DD') from v_render_jobs`,
  ],
  [
    'percentile within group',
    `select percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at)) from v_render_jobs`,
  ],
  [
    'SQL-syntax functions',
    `select substring(name from 1 for 3), position('a' in name), trim(both ' ' from name), now() at time zone 'UTC', name similar to '%x%' from v_products`,
  ],
  [
    'casts',
    `select id::text, attempts::numeric(10, 2), '2026-01-01'::date, cast(attempts as bigint), '{}'::jsonb, array['a']::text[] from v_render_jobs`,
  ],
  [
    'date spine with generate_series',
    `select d::date, count(o.id) from generate_series(current_date - 6, current_date, interval '1 day') d left join v_orders o on o.created_at::date = d::date group by 1 order by 1`,
  ],
  ['lateral jsonb', `select p.pim_id, k from v_products p cross join lateral jsonb_object_keys(p.attributes) k`],
  ['VALUES list', `select * from (values ('draft', 1), ('completed', 2)) as s(status, rank)`],
  [
    'CTE named like a table, used in scope',
    `with tenant as (select count(*) as n from v_products) select n from tenant`,
  ],
  [
    'grouping sets, distinct, coalesce, nullif, greatest',
    `select distinct category, greatest(1, 2), nullif(category, ''), coalesce(material_name, '-') from v_products group by rollup (category, material_name)`,
  ],
  [
    'current_date and string functions',
    `select current_date, lower(name), concat_ws(' / ', pim_id, name), split_part(pim_id, '-', 1), lpad(pim_id, 12, '.') from v_products`,
  ],
  ['unicode text literals', `select 'Größe ✓' as label, name from v_products where name ilike '%lager%'`],
  [
    'qualified columns of CTEs, subqueries and select *',
    `with c as (select category, count(*) from v_products group by 1), s as (select * from v_orders)
    select c.category, c.count, s.order_number, x.n, x.m from c, s, (select count(*) as n, max(pim_id) from v_products) as x(n, m)`,
  ],
  [
    'qualified columns of set-returning functions',
    `select p.pim_id, e.key, e.value, g.g, t.ordinality from v_products p cross join lateral jsonb_each(p.attributes) e,
    generate_series(1, 2) g, unnest(array['a']) with ordinality t`,
  ],
  [
    'implicit column names',
    `select q.lower, q.case, q.int4, q.coalesce from (select lower(name), case when true then 1 end, '1'::int, coalesce(name, '') from v_products) q`,
  ],
  ['nesting a person would write', `select ${'(select '.repeat(30)}1${')'.repeat(30)}`],
  // within the memory budget
  [
    'a counting recursion',
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000) select max(i) from n`,
  ],
  [
    'NOT EXISTS and IN in WHERE',
    `select pim_id from v_products p where not exists (select 1 from v_order_items i where i.product_id = p.id)
    and p.category in (select category from v_products where name like 'A%')`,
  ],
  [
    'EXISTS without correlation, correlated inside a subquery, and over a WITH of the query',
    `with m as (select id from v_materials)
    select (select count(*) from v_order_items i where exists (select 1 from v_products p where p.id = i.product_id)) as n
    from v_orders o where exists (select 1 from m) and exists (select 1 from m where m.id = o.id)`,
  ],
  [
    'a count instead of EXISTS in the select list',
    `select pim_id, (select count(*) from v_order_items i where i.product_id = p.id) > 0 as ordered from v_products p`,
  ],
  [
    'jsonb numbers, shares and averages',
    `select category, round(100.0 * count(*) filter (where j.status = 'failed') / nullif(count(*), 0), 1) as fail_pct,
    avg((p.attributes->>'weight')::numeric) as weight from v_render_jobs j join v_products p on p.id = j.product_id group by 1`,
  ],
  [
    'labels built from a few columns',
    `select p.pim_id, coalesce(upper(trim(p.material_name)), '') as m, lower(p.category) || ' / ' || lower(p.name) as label,
    replace(p.name, ' ', '_'), regexp_replace(p.name, '\\s+', ' ', 'g'), rpad(p.pim_id, 20, '.') || to_char(p.created_at, 'YYYY-MM-DD') from v_products p`,
  ],
  ['eight joined views', joinedViews(8)],
  [
    'regular expressions of a usual size',
    `select name, substring(name from '[0-9]+') from v_products where name ~ '^[A-Z][a-z]+ (bearing|seal)$'
    and pim_id ~* '^a-[0-9]{1,3}$' and name similar to '%(bearing|seal)%' and attributes @? '$.tags[*] ? (@ like_regex "^kl")'`,
  ],
  [
    'a billion generated rows, counted (the timeout stops it)',
    `select count(*) from generate_series(1, 1000) a, generate_series(1, 1000) b, generate_series(1, 1000) c`,
  ],
];

describe('guardSql', () => {
  it.each(hostile)('refuses %s', async (_what, sql, reason) => {
    const verdict = await guardSql(sql);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toContain(reason);
  });

  it.each(legitimate)('accepts %s', async (_what, sql) => {
    expect(await guardSql(sql)).toMatchObject({ ok: true });
  });

  it('returns the statement without a trailing semicolon or what follows it', async () => {
    expect(await guardSql('  select 1 as "Größe";  -- done\n')).toEqual({ ok: true, statement: 'select 1 as "Größe"' });
    expect(await guardSql('select 1 -- note')).toEqual({ ok: true, statement: 'select 1 -- note' });
  });

  it('lists the allowed functions when refusing an unknown one, so the model can pick another', async () => {
    const verdict = await guardSql('select soundex(name) from v_products');
    expect(verdict).toMatchObject({ ok: false });
    if (!verdict.ok) expect(verdict.reason).toMatch(/aggregate: count, sum.*date\/time: now, date_trunc/);
  });

  it('knows how large a value every allowed function can build', () => {
    const unsized = [...ALLOWED_FUNCTIONS, ...SYNTAX_FUNCTIONS].filter((fn) => !SIZED_FUNCTIONS.has(fn));
    expect(unsized).toEqual([]);
  });

  it('has enough cases to mean something', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(30);
    expect(legitimate.length).toBeGreaterThanOrEqual(10);
  });
});
