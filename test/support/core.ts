import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { AgentDeps } from '../../core/agent/turn.ts';
import { createSessionDrain } from '../../core/conversations/drain.ts';
import { createFinishedItems } from '../../core/conversations/finished.ts';
import { createConversations } from '../../core/conversations/service.ts';
import type { Deliverer, Delivery } from '../../core/replies/delivery.ts';
import { startTurnRunner } from '../../core/queue/turn-runner.ts';
import { resolveSession } from '../../core/history/sessions.ts';
import type { TurnScope } from '../../core/turn-scope.ts';
import { createModelProvider } from '../../core/llm/provider.ts';
import { setTenantAi } from '../../core/llm/settings.ts';
import { installQueue } from '../../core/queue/queue.ts';
import type { Platform, Role } from '../../core/tenancy/roles.ts';
import { ensureUser } from '../../core/tenancy/users.ts';
import { defaultTools } from '../../core/tools/index.ts';
import type { Reply } from '../../core/replies/reply.ts';
import { startFakeLlm, type FakeLlm } from '../fakes/llm-server.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const silentLog = pino({ level: 'silent' });

/** A migrated database with the queue installed, a fake LLM, and the core wired like the bot does. */
export type CoreHarness = Awaited<ReturnType<typeof createCoreHarness>>;

const delivery: Delivery = { platform: 'cli', target: { channel: 'test' } };

export async function createCoreHarness(opts: { maxRounds?: number } = {}) {
  const db: TestDatabase = await createTestDatabase();
  await installQueue(db.url);
  const secretsKey = randomBytes(32);
  const llm: FakeLlm = await startFakeLlm({ provider: 'azure' });
  const delivered: { target: Record<string, unknown>; reply: Reply }[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const deliverer: Deliverer = async (target, reply, info) => {
    if (info.merged) return undefined;
    delivered.push({ target, reply });
    for (const w of waiters.filter((w) => delivered.length >= w.count)) w.resolve();
    return undefined;
  };
  const agent: AgentDeps = {
    orm: db.orm,
    log: silentLog,
    tools: defaultTools,
    now: () => new Date(),
    queryPool: db.queryPool,
    models: createModelProvider(secretsKey, silentLog, { timeoutMs: 2000 }),
    ...(opts.maxRounds ? { maxRounds: opts.maxRounds } : {}),
  };
  const core = {
    ...agent,
    deliverers: new Map<Platform, Deliverer>([['cli', deliverer]]),
    finished: createFinishedItems(),
  };
  // Drives the sessions' inboxes as `renderbot serve` does (queued messages, confirmed plans' follow-ups).
  const runner = startTurnRunner({
    orm: db.orm,
    log: silentLog,
    drain: createSessionDrain(core),
    concurrency: 50,
    leaseMs: 30_000,
    pollMs: 100,
  });
  const conversations = createConversations({ ...core, wake: runner.wake });
  return {
    db,
    llm,
    secretsKey,
    conversations,
    delivered,
    /** Where replies of this harness's turns go (the recording deliverer). */
    delivery,
    em: () => db.orm.em.fork(),
    /** The agent's dependencies as this harness's conversations use them, for calling `runAgentTurn` directly (`tools` to offer others). */
    agentDeps: (o: Partial<Pick<AgentDeps, 'tools'>> = {}): AgentDeps => ({ ...agent, ...o }),
    /** Resolves once `count` replies in total were delivered. */
    deliveredCount: (count: number) =>
      new Promise<void>((resolve) => {
        if (delivered.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
    async enableAi(tenantId: string) {
      await setTenantAi(db.orm.em.fork(), secretsKey, tenantId, llm.settings, llm.apiKey);
    },
    async turn(tenantId: string, o: { userId?: string; role?: Role; key?: string } = {}): Promise<TurnScope> {
      const em = db.orm.em.fork();
      const userId = o.userId ?? 'alice';
      const role = o.role ?? (await ensureUser(em, tenantId, 'cli', userId, 'operator'));
      const session = await resolveSession(
        em,
        tenantId,
        'cli',
        o.key ?? `test:${userId}:${randomBytes(4).toString('hex')}`,
        userId,
      );
      return { tenantId, userId, role, sessionId: session.id, platform: 'cli' };
    },
    async close() {
      await runner.stop(0);
      await llm.close();
      await db.drop();
    },
  };
}

/** Text of all text blocks of replies. */
export const texts = (replies: Reply[]) =>
  replies.flatMap((r) => r.blocks.filter((b) => b.type === 'text').map((b) => b.text)).join('\n');
