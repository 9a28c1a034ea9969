import { MAX_PAD_CHARS } from './sizes.ts';

/**
 * What guarded SQL (docs/design.md §7) may name: the tenant-filtered views, functions, casts and parse-tree
 * node types. Everything not listed here is refused by `guardSql`.
 */

/** The tenant-filtered views with their columns, in the order the tool description lists them. */
export const QUERY_VIEWS = {
  v_products: ['id', 'pim_id', 'name', 'category', 'material_name', 'attributes (jsonb)', 'created_at', 'updated_at'],
  v_materials: ['id', 'name', 'description', 'created_at'],
  v_output_types: ['id', 'name', 'format', 'width', 'height', 'created_at'],
  v_orders: [
    'id',
    'order_number',
    'status',
    'output_type',
    'material_override',
    'render_overrides (jsonb)',
    'notes',
    'created_at',
    'submitted_at',
    'completed_at',
    'item_count',
  ],
  v_order_items: ['id', 'order_id', 'order_number', 'product_id', 'pim_id', 'product_name', 'category'],
  v_render_jobs: [
    'id',
    'order_id',
    'order_number',
    'product_id',
    'pim_id',
    'status',
    'attempts',
    'error',
    'queued_at',
    'started_at',
    'finished_at',
  ],
} as const satisfies Record<string, readonly string[]>;

/** Names of the relations guarded SQL may read (besides its own CTEs). */
export const VIEW_NAMES: ReadonlySet<string> = new Set(Object.keys(QUERY_VIEWS));

/** Base tables that have a view; used to point the model at the right one. */
export const VIEW_FOR_TABLE: Readonly<Record<string, string>> = {
  product: 'v_products',
  material: 'v_materials',
  output_type: 'v_output_types',
  render_order: 'v_orders',
  order_item: 'v_order_items',
  render_job: 'v_render_jobs',
};

/**
 * Callable functions by group (names as PostgreSQL resolves them, lower case). Deliberately small:
 * pure functions of their arguments, no settings, catalogs, files, network, sleeping or SQL-from-text.
 * `coalesce`, `nullif`, `greatest` and `least` are syntax, not functions, and are always allowed.
 * `generate_series` and `unnest` are here for date spines and arrays; rows stream, so the statement
 * timeout bounds them. Each needs a size rule in sizes.ts (what it can build from its arguments).
 */
export const FUNCTION_GROUPS = {
  aggregate: [
    'count',
    'sum',
    'avg',
    'min',
    'max',
    'bool_and',
    'bool_or',
    'every',
    'percentile_cont',
    'percentile_disc',
    'mode',
    'stddev',
    'stddev_samp',
    'stddev_pop',
    'variance',
    'var_samp',
    'var_pop',
  ],
  window: [
    'row_number',
    'rank',
    'dense_rank',
    'percent_rank',
    'cume_dist',
    'ntile',
    'lag',
    'lead',
    'first_value',
    'last_value',
    'nth_value',
  ],
  'date/time': [
    'now',
    'date_trunc',
    'date_part',
    'extract',
    'age',
    'to_char',
    'to_date',
    'to_timestamp',
    'make_date',
    'make_time',
    'make_timestamp',
    'make_timestamptz',
    'make_interval',
    'justify_days',
    'justify_hours',
    'justify_interval',
    'date_bin',
    'isfinite',
    'generate_series',
  ],
  string: [
    'lower',
    'upper',
    'length',
    'char_length',
    'character_length',
    'substr',
    'substring',
    'trim',
    'btrim',
    'ltrim',
    'rtrim',
    'replace',
    'concat',
    'concat_ws',
    'split_part',
    'left',
    'right',
    'position',
    'strpos',
    'initcap',
    'lpad',
    'rpad',
    'starts_with',
    'reverse',
    'regexp_replace',
    'to_number',
  ],
  math: [
    'round',
    'floor',
    'ceil',
    'ceiling',
    'abs',
    'power',
    'sqrt',
    'mod',
    'trunc',
    'sign',
    'div',
    'ln',
    'log',
    'exp',
    'width_bucket',
  ],
  jsonb: [
    'jsonb_extract_path_text',
    'jsonb_extract_path',
    'jsonb_array_length',
    'jsonb_typeof',
    'jsonb_object_keys',
    'jsonb_array_elements',
    'jsonb_array_elements_text',
    'jsonb_each',
    'jsonb_each_text',
  ],
  array: ['array_length', 'cardinality', 'array_to_string', 'unnest'],
} as const satisfies Record<string, readonly string[]>;

/** Every allowed function name. */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set(Object.values(FUNCTION_GROUPS).flat());

/**
 * Functions the parser itself emits as `pg_catalog.<name>` for SQL syntax: EXTRACT, SUBSTRING … FROM,
 * POSITION … IN, TRIM, AT TIME ZONE, SIMILAR TO. Only these may appear schema-qualified.
 */
export const SYNTAX_FUNCTIONS: ReadonlySet<string> = new Set([
  'extract',
  'substring',
  'position',
  'btrim',
  'ltrim',
  'rtrim',
  'timezone',
  'similar_to_escape',
]);

/** Refused functions with a specific explanation, checked before the generic "not allowed" answer. */
export const DENIED_FUNCTIONS: readonly { test: RegExp; why: string }[] = [
  {
    test: /^(set_config|current_setting)$/,
    why: 'reads or changes server settings; the tenant is applied automatically',
  },
  { test: /^pg_sleep/, why: 'sleeps on the server' },
  {
    test: /^(array_agg|string_agg|json_agg|jsonb_agg|json_object_agg|jsonb_object_agg|json_arrayagg|json_objectagg|xmlagg|range_agg|range_intersect_agg)/,
    why: "gathers the values of all rows into one value, which can exhaust the server's memory; return the rows (GROUP BY …) or count them instead",
  },
  {
    test: /^(repeat|array_fill|format)$/,
    why: `builds values of any size; use lpad or rpad with a literal length of at most ${MAX_PAD_CHARS.toLocaleString('en-US')} characters`,
  },
  { test: /^(pg_read_file|pg_read_binary_file|pg_ls_|pg_stat_file|pg_file_)/, why: 'reads the server file system' },
  { test: /^(lo_|loread$|lowrite$)/, why: 'accesses large objects on the server' },
  { test: /^dblink/, why: 'opens connections to other databases' },
  {
    test: /^(query_to_xml|table_to_xml|cursor_to_xml|schema_to_xml|database_to_xml|query_to_xmlschema)/,
    why: 'runs SQL given as text',
  },
  {
    test: /^(pg_|has_.*privilege$|current_user$|current_database$|current_schemas?$|version$|inet_)/,
    why: 'exposes system catalogs or server internals',
  },
];

/** Type names casts may target (after `pg_catalog.` is stripped); arrays of these are fine too. */
export const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  'bool',
  'boolean',
  'int2',
  'int4',
  'int8',
  'smallint',
  'integer',
  'int',
  'bigint',
  'numeric',
  'decimal',
  'float4',
  'float8',
  'real',
  'text',
  'varchar',
  'bpchar',
  'char',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'json',
  'jsonb',
]);

/** Casts that turn names into catalog lookups (`'tenant'::regclass` reveals what exists). */
export const CATALOG_TYPES = /^(reg[a-z]*|oid|xid|xid8|cid|tid|pg_.*|name|aclitem)$/;

/**
 * CURRENT_DATE and friends; the session-information forms (CURRENT_USER, CURRENT_SCHEMA …) are
 * refused because they describe the server, not the tenant's data.
 */
export const ALLOWED_VALUE_FUNCTIONS: ReadonlySet<string> = new Set([
  'SVFOP_CURRENT_DATE',
  'SVFOP_CURRENT_TIME',
  'SVFOP_CURRENT_TIME_N',
  'SVFOP_CURRENT_TIMESTAMP',
  'SVFOP_CURRENT_TIMESTAMP_N',
  'SVFOP_LOCALTIME',
  'SVFOP_LOCALTIME_N',
  'SVFOP_LOCALTIMESTAMP',
  'SVFOP_LOCALTIMESTAMP_N',
]);

/**
 * Parse-tree node types an analytic SELECT needs that need no check of their own (SelectStmt,
 * RangeVar, FuncCall, TypeCast, SQLValueFunction, A_Expr and CommonTableExpr are checked by the guard).
 * Any other node type — XML, JSON_TABLE, TABLESAMPLE, column definition lists, $n parameters … — is refused.
 */
export const PLAIN_NODES: ReadonlySet<string> = new Set([
  'ResTarget',
  'ColumnRef',
  'A_Star',
  'A_Const',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'BitString',
  'BoolExpr',
  'TypeName',
  'TypeCast',
  'Alias',
  'JoinExpr',
  'RangeSubselect',
  'RangeFunction',
  'SubLink',
  'CaseExpr',
  'CaseWhen',
  'CoalesceExpr',
  'MinMaxExpr',
  'NullTest',
  'BooleanTest',
  'SortBy',
  'WindowDef',
  'A_Indirection',
  'A_Indices',
  'A_ArrayExpr',
  'RowExpr',
  'GroupingSet',
  'GroupingFunc',
  'CollateClause',
  'List',
  'NamedArgExpr',
  'WithClause',
  'CTESearchClause',
  'CTECycleClause',
]);

/** Readable names for statements that are not a SELECT, for the rejection message. */
export const STATEMENT_LABELS: Readonly<Record<string, string>> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  ViewStmt: 'CREATE VIEW',
  IndexStmt: 'CREATE INDEX',
  CreateFunctionStmt: 'CREATE FUNCTION',
  DropStmt: 'DROP',
  AlterTableStmt: 'ALTER TABLE',
  TruncateStmt: 'TRUNCATE',
  RenameStmt: 'ALTER … RENAME',
  GrantStmt: 'GRANT/REVOKE',
  GrantRoleStmt: 'GRANT/REVOKE role',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  VariableSetStmt: 'SET/RESET',
  VariableShowStmt: 'SHOW',
  TransactionStmt: 'transaction control (BEGIN/COMMIT/ROLLBACK)',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  ExplainStmt: 'EXPLAIN',
  ListenStmt: 'LISTEN',
  NotifyStmt: 'NOTIFY',
  UnlistenStmt: 'UNLISTEN',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  LockStmt: 'LOCK',
  VacuumStmt: 'VACUUM/ANALYZE',
  DeclareCursorStmt: 'DECLARE CURSOR',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  DiscardStmt: 'DISCARD',
  LoadStmt: 'LOAD',
  CheckPointStmt: 'CHECKPOINT',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  AlterSystemStmt: 'ALTER SYSTEM',
  CommentStmt: 'COMMENT',
};
