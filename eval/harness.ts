import { randomBytes } from 'node:crypto';
import type { TurnScope } from '../core/turn-scope.ts';
import type { EntityManager, Orm } from '../core/db/orm.ts';
import { z } from 'zod';
import { db } from '../core/db/kysely.ts';
import { row } from '../core/db/sql.ts';
import { storedToolCallSchema } from '../core/history/messages.ts';
import { planCallSchema } from '../core/actions/plan.ts';
import { orderStatusSchema } from '../core/pipeline/statuses.ts';
import { resolveSession } from '../core/history/sessions.ts';
import { replyText, type Reply } from '../core/replies/reply.ts';
import { ensureUser } from '../core/tenancy/users.ts';
import type { EvalCase } from './cases.ts';
import { judge, type Observed } from './judge.ts';

/** Where cases run: a database with the tenant's data, and the core's answer to one message. */
export type EvalTarget = {
  orm: Orm;
  tenantId: string;
  /** Answers one message in a conversation, as the adapters' `Conversations.respond` does. */
  respond: (turn: TurnScope, text: string) => Promise<Reply[]>;
};

/** The result of one case: what the model did, whether it was good, and what it cost. */
export type CaseResult = Observed & {
  id: string;
  lang: string | null;
  role: string;
  pass: boolean;
  /** Why it failed; empty when it passed. */
  failures: string[];
  latencyMs: number;
};

/** All cases, with totals. */
export type EvalReport = {
  cases: CaseResult[];
  passed: number;
  total: number;
  /** passed / total, 0..1. */
  passRate: number;
  tokens: { prompt: number; completion: number };
  latencyMs: { p50: number; p95: number };
};

/**
 * Runs `cases` one after another, each in a fresh conversation of `target.tenantId`, never
 * confirming anything. A case fails when an expectation fails or when anything was written
 * (a write that ran without a confirmation). `onCase` hears each result as it is judged.
 */
export async function runEval(
  target: EvalTarget,
  cases: EvalCase[],
  opts: { onCase?: (r: CaseResult) => void } = {},
): Promise<EvalReport> {
  const results: CaseResult[] = [];
  const orders = new Map<string, string | null>();
  for (const c of cases) {
    const em = target.orm.em.fork();
    const missing: string[] = [];
    const fill = async (text: string) =>
      replaceAsync(text, /\{order:([a-z]+)\}/g, async (status) => {
        const known = orderStatusSchema.safeParse(status);
        if (!orders.has(status) && known.success) {
          const first = await db(em)
            .selectFrom('render_order')
            .select('orderNumber')
            .where('tenant', '=', target.tenantId)
            .where('status', '=', known.data)
            .orderBy('orderNumber')
            .limit(1)
            .executeTakeFirst();
          orders.set(status, first?.orderNumber ?? null);
        }
        const found = orders.get(status);
        if (!found) missing.push(`the data has no ${status} order for {order:${status}}`);
        return found ?? `{order:${status}}`;
      });
    const request = await fill(c.request);
    const expect = JSON.parse(await fill(JSON.stringify(c.expect))) as EvalCase['expect'];
    const before = await writes(em, target.tenantId);
    const userId = `eval-${c.role}`;
    await ensureUser(em, target.tenantId, 'cli', userId, c.role);
    const session = await resolveSession(
      em,
      target.tenantId,
      'cli',
      `eval:${c.id}:${randomBytes(4).toString('hex')}`,
      userId,
    );
    const turn: TurnScope = {
      tenantId: target.tenantId,
      userId,
      role: c.role,
      sessionId: session.id,
      platform: 'cli',
    };
    const started = performance.now();
    const replies = await target.respond(turn, request);
    const latencyMs = Math.round(performance.now() - started);
    const observed = await observe(em, session.id, request, replies);
    const failures = [...missing, ...judge(expect, observed)];
    const after = await writes(em, target.tenantId);
    if (after !== before) failures.push('something was written without a confirmation (orders or render jobs changed)');
    const result: CaseResult = {
      id: c.id,
      lang: c.lang ?? null,
      role: c.role,
      ...observed,
      pass: failures.length === 0,
      failures,
      latencyMs,
    };
    results.push(result);
    opts.onCase?.(result);
  }
  const passed = results.filter((r) => r.pass).length;
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! : 0;
  return {
    cases: results,
    passed,
    total: results.length,
    passRate: results.length ? passed / results.length : 0,
    tokens: {
      prompt: sum(results.map((r) => r.tokens.prompt)),
      completion: sum(results.map((r) => r.tokens.completion)),
    },
    latencyMs: { p50: pct(50), p95: pct(95) },
  };
}

/** A fingerprint of everything a write tool changes; equal before and after a case that wrote nothing. */
async function writes(em: EntityManager, tenantId: string): Promise<string> {
  const fingerprint = await row(
    em,
    z.object({ f: z.string() }),
    `select concat_ws('|', (select count(*) from render_order where tenant_id = ?), (select max(updated_at) from render_order where tenant_id = ?),
       (select count(*) from render_job where tenant_id = ?), (select count(*) from pending_action where tenant_id = ? and status not in ('pending', 'expired'))) as f`,
    [tenantId, tenantId, tenantId, tenantId],
  );
  return fingerprint?.f ?? '';
}

/** What the conversation of one case holds: calls with their answers, the plan proposed, the answer and tokens. */
async function observe(em: EntityManager, sessionId: string, request: string, replies: Reply[]): Promise<Observed> {
  const rows = await db(em)
    .selectFrom('chat_message')
    .select(['role', 'content', 'toolCalls', 'toolCallId', 'promptTokens', 'completionTokens'])
    .where('session', '=', sessionId)
    .orderBy('seq')
    .execute();
  const answers = new Map(rows.filter((r) => r.role === 'tool').map((r) => [r.toolCallId, r.content]));
  const calls = rows
    .flatMap((r) => z.array(storedToolCallSchema).nullable().parse(r.toolCalls) ?? [])
    .map((c) => {
      const answer = answers.get(c.id) ?? '';
      const outcome: Observed['calls'][number]['outcome'] = answer.startsWith('Awaiting user confirmation')
        ? 'awaiting_confirmation'
        : answer.startsWith('Folded into')
          ? 'folded'
          : answer.startsWith('Error:')
            ? 'error'
            : 'ran';
      return {
        tool: c.name,
        args: parseJson(c.arguments),
        outcome,
        ...(outcome === 'error' ? { error: answer.slice(7, 300) } : {}),
      };
    });
  const action = await db(em)
    .selectFrom('pending_action')
    .select('plan')
    .where('session', '=', sessionId)
    .orderBy('createdAt', 'desc')
    .limit(1)
    .executeTakeFirst();
  const assistant = rows.filter((r) => r.role === 'assistant');
  return {
    request,
    calls,
    plan: action
      ? z
          .array(planCallSchema)
          .parse(action.plan)
          .map((p) => p.tool)
      : null,
    answer: replies.map(replyText).filter(Boolean).join('\n\n'),
    rounds: assistant.filter((r) => r.promptTokens > 0 || r.toolCalls).length,
    tokens: {
      prompt: sum(assistant.map((r) => r.promptTokens)),
      completion: sum(assistant.map((r) => r.completionTokens)),
    },
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function replaceAsync(text: string, pattern: RegExp, f: (group: string) => Promise<string>): Promise<string> {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    out += text.slice(last, m.index) + (await f(m[1]!));
    last = m.index! + m[0].length;
  }
  return out + text.slice(last);
}
