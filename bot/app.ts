import type { Config } from '../core/config.ts';
import { openDatabase, type Database } from '../core/db/database.ts';
import type { EntityManager } from '../core/db/orm.ts';
import type { Deliverer, Streamer } from '../core/replies/delivery.ts';
import { createIntake, type Intake } from '../core/conversations/intake.ts';
import { createSessionDrain } from '../core/conversations/drain.ts';
import { createFinishedItems } from '../core/conversations/finished.ts';
import { createConversations, PRUNE_TURNS_TASK, type Conversations } from '../core/conversations/service.ts';
import { createFiles, DELETE_EXPIRED_FILES_TASK, type Files } from '../core/files/service.ts';
import { createModelProvider } from '../core/llm/provider.ts';
import { createModelGate, type ModelGate } from '../core/llm/model-gate.ts';
import { createNoticeTasks } from '../core/notices/tasks.ts';
import { scheduleNotices } from '../core/notices/schedule.ts';
import type { Logger } from '../core/logger.ts';
import { seedDemo } from './seed/demo.ts';
import { resumeSeededRenders } from '../core/pipeline/resume-renders.ts';
import { createNotifications, type Notifications } from '../core/queue/notifications.ts';
import { installQueue } from '../core/queue/queue.ts';
import { createTurnRunner } from '../core/queue/turn-runner.ts';
import { createRenderLinks, type RenderLinks } from '../core/renders/signing.ts';
import { createFileExporter, type FileExporter } from '../core/exports/files.ts';
import { farmTimeoutTaskName } from '../core/renders/farm-timeouts.ts';
import { createRenderTasks, foldTallyTaskName, type RenderTaskDeps } from '../core/renders/task.ts';
import type { OrderStatusListener } from '../core/renders/jobs.ts';
import { startWorker, type Worker } from '../core/queue/worker.ts';
import type { Platform } from '../core/tenancy/roles.ts';
import { defaultTools } from '../core/tools/index.ts';
import type { ToolRegistry } from '../core/tools/registry.ts';
import type { ModelProvider } from '../core/agent/turn.ts';

/** Everything a running RenderBot process holds. */
export type App = {
  config: Config;
  log: Logger;
  db: Database;
  tools: ToolRegistry;
  conversations: Conversations;
  /** Uploaded files (core/files): adapters hand it bytes, capped at MAX_FILE_BYTES. */
  files: Files;
  /** The inbound API adapters call besides `conversations`: identity, sessions, cards, web tokens (docs/design.md §1). */
  intake: Intake;
  /** Reply senders by platform; channels register theirs when they are created. */
  deliverers: Map<Platform, Deliverer>;
  /** Live text streams by platform, for those channels that stream. */
  streamers: Map<Platform, Streamer>;
  /** Told of every derived order status (render tasks, farm callbacks): core/notices queues the notices it calls for. */
  onOrderStatus: OrderStatusListener;
  /** Signs and checks links to rendered files. */
  renderLinks: RenderLinks;
  /** Writes the export a file block links to into a file, for channels that upload files (core/exports). */
  exportFile: FileExporter;
  /** Per-tenant caps on concurrent model calls in this process. */
  gate: ModelGate;
  /** LISTEN/NOTIFY wake-ups of this process (one connection, opened on first use). */
  notifications: Notifications;
  now: () => Date;
  /**
   * Starts what this process runs of the queue (AppOptions.worker): the turn runner and the
   * queue workers; with AppOptions.chat, the turn runner of that terminal thread only. Call it after every channel registered its deliverer, so a turn drained at
   * start-up always finds where to answer.
   */
  start(): Promise<void>;
  /** Turns in flight in this process (for /metrics). */
  turnsInFlight(): number;
  /** Stops taking turns; those in flight finish or are handed back to other processes within `graceMs`. */
  stopTurns(graceMs?: number): Promise<void>;
  /** Stops taking work (as `stopTurns`), then the queue workers, and closes the database. */
  close(): Promise<void>;
};

/** Runs `fn` with an app opened for a one-shot command and closes it afterwards. */
export type WithApp = (fn: (app: App, em: EntityManager) => Promise<void>) => Promise<void>;

export type AppOptions = {
  /** Run conversations and queue workers in this process (serve, worker). */
  worker?: boolean;
  /** Drive only this terminal thread's session in this process (`renderbot chat`; servers leave terminal sessions alone). */
  chat?: { key: string };
  /** Replaces the per-tenant model resolution (used by tests and benchmarks). */
  models?: ModelProvider;
  /** Replaces the render backends (used by tests and benchmarks, e.g. a no-op backend to measure the queue alone). */
  renderBackends?: RenderTaskDeps['backendFor'];
  now?: () => Date;
  /** How often the turn runner looks for sessions nobody drives (missed wake-ups, expired leases); 1 s by default. */
  turnPollMs?: number;
};

/** How long a stopping process lets its turns finish before handing them back (the whole shutdown stays within 10 s). */
export const TURN_SHUTDOWN_GRACE_MS = 6000;

/**
 * The composition root: opens (or starts) the database, applies migrations, seeds the demo
 * tenant into a new embedded database, installs the queue and wires the core. Nothing runs
 * until `start()`.
 */
export async function createApp(config: Config, log: Logger, opts: AppOptions = {}): Promise<App> {
  const db = await openDatabase(config, log, { poolMax: config.DATABASE_POOL_SIZE });
  const now = opts.now ?? (() => new Date());
  try {
    await installQueue(db.url);
    if (db.created) {
      const seeded = await db.orm.em.fork().transactional(async (em) => {
        const s = await seedDemo(em, { now: now() });
        // The demo's rendering orders go on rendering once a worker runs (its "running" jobs never ran anywhere).
        await resumeSeededRenders(em, s.tenant.id);
        return s;
      });
      log.info(
        { tenant: seeded.tenant.slug, products: seeded.products, orders: seeded.orders },
        'seeded demo tenant into the new embedded database',
      );
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  const tools = defaultTools;
  const deliverers = new Map<Platform, Deliverer>();
  const streamers = new Map<Platform, Streamer>();
  const renderLinks = createRenderLinks(config.secretsKey, config.PUBLIC_URL);
  const gate = createModelGate();
  const notifications = createNotifications(db.url, log.child({ component: 'notify' }), db.availability);
  const core = {
    orm: db.orm,
    log,
    tools,
    now,
    deliverers,
    streamers,
    renderLinks,
    gate,
    queryPool: db.queryPool,
    availability: db.availability,
    models: opts.models ?? createModelProvider(config.secretsKey, log),
    finished: createFinishedItems(notifications),
  };
  // The runner exists before the conversations that wake it; it takes sessions once started.
  const runner = createTurnRunner({
    orm: db.orm,
    log,
    drain: createSessionDrain(core),
    availability: db.availability,
    leaseMs: config.TURN_LEASE_SECONDS * 1000,
    ...(opts.turnPollMs ? { pollMs: opts.turnPollMs } : {}),
    ...(opts.chat
      ? { concurrency: 1, scope: { thread: { platform: 'cli', key: opts.chat.key } }, stops: notifications }
      : // Terminal conversations are driven by their terminal (bot/chat.ts).
        { concurrency: config.TURN_CONCURRENCY, notifications, scope: { excludePlatforms: ['cli'] } }),
  });
  const files = createFiles({ em: () => db.orm.em.fork(), log, now, retentionDays: config.FILE_RETENTION_DAYS });
  const conversations = createConversations({ ...core, wake: runner.wake, files });
  const intake = createIntake({
    orm: db.orm,
    log: log.child({ component: 'intake' }),
    now,
    secretsKey: config.secretsKey,
    intakePool: db.intakePool,
  });
  let worker: Worker | undefined;
  let started = false;
  return {
    config,
    log,
    db,
    tools,
    conversations,
    intake,
    files,
    deliverers,
    streamers,
    onOrderStatus: scheduleNotices,
    renderLinks,
    gate,
    notifications,
    now,
    exportFile: createFileExporter(() => db.orm.em.fork(), config.dataDir, renderLinks, now),
    async start() {
      if (started || !(opts.worker || opts.chat)) return;
      started = true;
      runner.start();
      if (!opts.worker) return;
      const renderTasks = createRenderTasks({
        orm: db.orm,
        log,
        secretsKey: config.secretsKey,
        dataDir: config.dataDir,
        publicUrl: config.PUBLIC_URL,
        maxAttempts: config.RENDER_MAX_ATTEMPTS,
        farmTimeoutMinutes: config.RENDER_FARM_TIMEOUT_MINUTES,
        now,
        onOrderStatus: scheduleNotices,
        ...(opts.renderBackends ? { backendFor: opts.renderBackends } : {}),
      });
      const noticeTasks = createNoticeTasks({ orm: db.orm, log, deliverers, renderLinks, now });
      worker = await startWorker({
        url: db.url,
        tasks: { ...conversations.tasks, ...files.tasks, ...renderTasks, ...noticeTasks },
        log,
        availability: db.availability,
        concurrency: config.RENDER_CONCURRENCY,
        deadAfterMs: config.WORKER_DEAD_AFTER_SECONDS * 1000,
        crontab: [
          { task: 'expire_actions', pattern: '* * * * *' },
          { task: PRUNE_TURNS_TASK, pattern: '* * * * *' },
          { task: farmTimeoutTaskName, pattern: '* * * * *' },
          { task: foldTallyTaskName, pattern: '* * * * *' },
          { task: DELETE_EXPIRED_FILES_TASK, pattern: '17 * * * *' },
        ],
      });
    },
    turnsInFlight: () => runner.inFlight(),
    async stopTurns(graceMs = TURN_SHUTDOWN_GRACE_MS) {
      await runner.stop(graceMs);
    },
    async close() {
      await runner.stop(TURN_SHUTDOWN_GRACE_MS);
      await worker?.stop();
      await notifications.close();
      await db.close();
    },
  };
}
