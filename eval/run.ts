/**
 * `npm run eval -- --tenant <slug>`: runs the evaluation cases (eval/cases.yaml) against the
 * tenant's configured model on a throwaway copy of the demo data — a fresh database on the same
 * server (eval/sandbox.ts), dropped afterwards, also when interrupted (SIGINT, SIGTERM); sandboxes
 * an earlier run could not drop are dropped once they are an hour old — and prints per case the
 * tools called with their arguments, the plan proposed, tokens and latency, then the pass rate.
 * Nothing is ever confirmed. Exit code: 0 when the pass rate reaches --min-pass (default 0.9),
 * 1 below it, 2 for bad usage, 130 / 143 when interrupted.
 *
 * `npm run eval -- --from-feedback --tenant <slug> [--since 30d] [--out file.yaml]` runs nothing:
 * it writes the tenant's 👎 turns as draft cases (eval/from-feedback.ts) for a person to complete.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { RenderBotError } from '../core/errors.ts';
import { createFinishedItems } from '../core/conversations/finished.ts';
import { createConversations } from '../core/conversations/service.ts';
import { openDatabase } from '../core/db/database.ts';
import { createModelProvider } from '../core/llm/provider.ts';
import { loadTenantAi, setTenantAi } from '../core/llm/settings.ts';
import { createLogger } from '../core/logger.ts';
import { seedDemo } from '../bot/seed/demo.ts';
import { exitWhenIdle } from '../bot/exit-when-idle.ts';
import { getTenantBySlug } from '../core/tenancy/tenants.ts';
import { defaultTools } from '../core/tools/index.ts';
import { loadCases, type EvalCase } from './cases.ts';
import { draftCasesFromFeedback } from './from-feedback.ts';
import { listFeedback } from '../core/history/feedback.ts';
import { sinceDate } from '../core/history/since.ts';
import { runEval } from './harness.ts';
import { formatCase, formatSummary } from './report.ts';
import { createSandbox, dropStaleSandboxes, type Sandbox } from './sandbox.ts';

const usage =
  'usage: npm run eval -- --tenant <slug> [--cases eval/cases.yaml] [--only id,id] [--json report.json] [--min-pass 0.9]\n       npm run eval -- --from-feedback --tenant <slug> [--since 30d] [--out eval/feedback-<slug>.yaml]';

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** `--from-feedback`: where the draft cases of which tenant's 👎 since when go. */
type FromFeedback = { tenant: string; since: string; out: string };

/** The flags of a run over cases. */
type EvalFlags = { tenant: string; cases: EvalCase[]; json?: string; minPass: number; fromFeedback?: undefined };

/** The command line, checked: the tenant, the cases to run, where to write JSON, the pass threshold — or what to draft from feedback. */
function readFlags(): EvalFlags | { fromFeedback: FromFeedback } {
  let values;
  try {
    values = parseArgs({
      options: {
        tenant: { type: 'string' },
        cases: { type: 'string', default: fileURLToPath(new URL('./cases.yaml', import.meta.url)) },
        only: { type: 'string' },
        json: { type: 'string' },
        'min-pass': { type: 'string', default: '0.9' },
        help: { type: 'boolean' },
        'from-feedback': { type: 'boolean' },
        since: { type: 'string', default: '30d' },
        out: { type: 'string' },
      },
    }).values;
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (!values.tenant) fail(`--tenant is required.\n${usage}`);
  if (values['from-feedback'])
    return {
      fromFeedback: {
        tenant: values.tenant,
        since: values.since,
        out: values.out ?? `eval/feedback-${values.tenant}.yaml`,
      },
    };
  const minPass = Number(values['min-pass']);
  if (!(minPass >= 0 && minPass <= 1)) fail('--min-pass must be a number between 0 and 1, e.g. 0.9');
  let cases: EvalCase[];
  try {
    cases = loadCases(values.cases);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (values.only) {
    const only = new Set(values.only.split(',').map((s) => s.trim()));
    cases = cases.filter((c) => only.has(c.id));
    if (cases.length === 0) fail(`--only matched no case id of ${values.cases}`);
  }
  return { tenant: values.tenant, cases, minPass, ...(values.json ? { json: values.json } : {}) };
}

const flags = readFlags();
const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn');
const db = await openDatabase(config, log, { poolMax: 2 });
let sandbox: Sandbox | undefined;
// Interrupted (Ctrl-C, a stopped CI job): the sandbox, which holds a copy of the tenant's encrypted AI key, is dropped first.
for (const [signal, exitCode] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(
      `${signal}: dropping the sandbox database${sandbox ? ` ${sandbox.name}` : ''} before exiting.\n`,
    );
    void (sandbox?.drop() ?? Promise.resolve())
      .catch((err: unknown) =>
        process.stderr.write(`Could not drop ${sandbox?.name}: ${err instanceof Error ? err.message : String(err)}\n`),
      )
      .finally(() => process.exit(exitCode));
  });
}
try {
  process.exitCode = flags.fromFeedback
    ? await writeDraftCases(flags.fromFeedback).then(() => 0)
    : await evaluate(flags);
} catch (err) {
  if (!(err instanceof RenderBotError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 2;
} finally {
  await sandbox?.drop();
  await db.close();
}
exitWhenIdle();

async function evaluate({ tenant: slug, cases, json, minPass }: EvalFlags): Promise<number> {
  const em = db.orm.em.fork();
  const tenant = await getTenantBySlug(em, slug);
  const ai = await loadTenantAi(em, config.secretsKey, tenant.id);
  if (!ai) {
    process.stderr.write(
      `${tenant.name} has no AI configured; set it with: npm run renderbot -- admin tenant ai --tenant ${tenant.slug} …\n`,
    );
    return 2;
  }
  const model =
    ai.settings.provider === 'azure' ? `azure ${ai.settings.deployment}` : `openai-compatible ${ai.settings.model}`;
  for (const name of await dropStaleSandboxes(db.url, new Date()))
    process.stdout.write(`Dropped ${name}, a sandbox database left over by an earlier run.\n`);
  sandbox = createSandbox(db.url, new Date());
  process.stdout.write(
    `Evaluating ${model} (tenant ${tenant.slug}) on ${cases.length} cases, on a throwaway copy of the demo data (database ${sandbox.name})…\n\n`,
  );

  const orm = await sandbox.open();
  const sem = orm.em.fork();
  const demo = await seedDemo(sem, { slug: 'eval', name: tenant.name });
  await setTenantAi(sem, config.secretsKey, demo.tenant.id, ai.settings, ai.apiKey);
  const conversations = createConversations({
    orm,
    log,
    tools: defaultTools,
    now: () => new Date(),
    models: createModelProvider(config.secretsKey, log),
    deliverers: new Map(),
    finished: createFinishedItems(),
  });
  const report = await runEval(
    { orm, tenantId: demo.tenant.id, respond: (turn, text) => conversations.respond(turn, text) },
    cases,
    {
      onCase: (r) => process.stdout.write(`${formatCase(r)}\n\n`),
    },
  );
  process.stdout.write(`${formatSummary(report, model)}\n`);
  if (json) writeFileSync(json, JSON.stringify({ model, tenant: tenant.slug, ...report }, null, 2));
  const good = report.passRate >= minPass;
  process.stdout.write(
    good
      ? `Good enough: at least ${minPass * 100} % passed.\n`
      : `Not good enough: below ${minPass * 100} %. Read the failures above before rolling the bot out.\n`,
  );
  return good ? 0 : 1;
}

/** Writes the tenant's 👎 turns since `since` as draft cases to `out`; says how many, or that there were none. */
async function writeDraftCases(o: FromFeedback): Promise<void> {
  const em = db.orm.em.fork();
  const tenant = await getTenantBySlug(em, o.tenant);
  const since = sinceDate(o.since, new Date());
  const { yaml, count } = draftCasesFromFeedback(
    await listFeedback(em, tenant.id, { since, negative: true, limit: 500 }),
  );
  if (count === 0) {
    process.stdout.write(
      `No 👎 feedback with a request for ${tenant.slug} since ${since.toISOString().slice(0, 10)}; nothing written.\n`,
    );
    return;
  }
  writeFileSync(o.out, yaml);
  process.stdout.write(
    `Wrote ${count} draft case${count === 1 ? '' : 's'} from 👎 feedback of ${tenant.slug} to ${o.out}. Complete each case's expect, then add them to eval/cases.yaml.\n`,
  );
}
