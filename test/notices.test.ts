import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deliverer } from '../core/replies/delivery.ts';
import { z } from 'zod';
import { row, timestamp } from '../core/db/sql.ts';
import { watchOrders } from '../core/notices/origin.ts';
import { noticeTaskName, progressTaskName, scheduleNotices } from '../core/notices/schedule.ts';
import { createNoticeTasks } from '../core/notices/tasks.ts';
import { setTenantRenderer } from '../core/renders/backends.ts';
import { deriveOrderStatus } from '../core/renders/jobs.ts';
import { createRenderLinks } from '../core/renders/signing.ts';
import type { Reply } from '../core/replies/reply.ts';
import type { Platform } from '../core/tenancy/roles.ts';
import { startFakeFarm, type FakeFarm } from './fakes/render-farm.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { buttonClick, slashCommand, type Who } from './fakes/slack-request.ts';
import type { SlackCall } from './fakes/slack-api.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { submitOrder, waitFor } from './support/renders.ts';
import { isCard, shown, toolResult } from './support/slack-flows.ts';
import { rows } from './support/rows.ts';

const farmSecret = 'acme-farm-secret-0123456789';
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };

describe('completion notices through Slack (render farm reporting job by job)', () => {
  let h: SlackHarness;
  let farm: FakeFarm;
  let acme: TenantFixture;
  beforeAll(async () => {
    h = await startSlackHarness({ publicUrl: true });
    farm = await startFakeFarm();
    acme = await h.acmeWithAlice(alice.userId);
    await setTenantRenderer(h.em(), h.config.secretsKey, acme.tenant.id, {
      backend: 'http',
      url: farm.url,
      secret: farmSecret,
    });
  });
  afterAll(async () => {
    await h?.close();
    await farm?.close();
  });

  it('/render → confirm → one progress message edited in place → exactly one completion card in the thread, with failures, thumbnails and a results link', async () => {
    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 200 } }] },
      (req) => ({
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: (toolResult(req, 'search_products') as { products: { id: string }[] }).products.map(
                (p) => p.id,
              ),
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      }),
    );
    await h.send.command(
      slashCommand(alice, 'Render all Kugellager products as WebP at 1024x1024', h.slack.responseUrl()),
    );
    const root = await h.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('asked: Render all Kugellager'),
    );
    const threadTs = String(root.response!.ts);
    // The card replaces the message that streamed the turn's steps in the thread.
    const stream = await h.slack.waitFor('chat.startStream', (c) => c.body.thread_ts === threadTs);
    const card = await h.slack.waitFor('chat.update', (c) => c.body.ts === stream.response!.ts && isCard(c));
    const buttons = (card.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).flatMap(
      (b) => b.elements ?? [],
    );
    const actionId = buttons.find((e) => e.action_id === 'renderbot.confirm')!.value;
    h.llm.enqueue({ content: 'Done: the renders are on their way.' });
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: String(card.body.ts),
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await h.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.thread_ts === threadTs && String(c.body.text).startsWith('Done:'),
    );
    const [order] = await rows(
      h.em(),
      z.object({ id: z.string(), order_number: z.string() }),
      `select id, order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    const inThread = (c: SlackCall) => c.body.channel === alice.channel && c.body.thread_ts === threadTs;
    const isProgress = (c: SlackCall) => shown(c).includes(`${order!.order_number}* · `);

    const jobs = (await farm.jobs(3)).sort((a, b) => a.product.pim_id.localeCompare(b.product.pim_id));
    expect(jobs.map((j) => j.product.pim_id)).toEqual(['ACME-KL-6204', 'ACME-KL-6205', 'ACME-KL-6206']);
    const url = (j: (typeof jobs)[number]) => `https://cdn.example.com/renders/${j.product.pim_id}.webp`;

    expect(
      await farm.callback(h.base, farmSecret, {
        job_id: jobs[0]!.job_id,
        status: 'completed',
        result_url: url(jobs[0]!),
      }),
    ).toBe(200);
    const progress = await h.slack.waitFor('chat.postMessage', (c) => inThread(c) && isProgress(c));
    expect(shown(progress)).toContain('33%');
    const progressTs = progress.response!.ts;

    const from = h.slack.calls.length;
    expect(
      await farm.callback(h.base, farmSecret, {
        job_id: jobs[1]!.job_id,
        status: 'completed',
        result_url: url(jobs[1]!),
      }),
    ).toBe(200);
    const edited = await h.slack.waitFor('chat.update', (c) => c.body.ts === progressTs, { from });
    expect(shown(edited)).toContain('67%');

    const last = { job_id: jobs[2]!.job_id, status: 'failed', error: 'mesh missing for ACME-KL-6206' };
    expect(await farm.callback(h.base, farmSecret, last)).toBe(200);
    const notice = await h.slack.waitFor(
      'chat.postMessage',
      (c) => inThread(c) && String(c.body.text).includes('finished with failures'),
    );
    expect(notice.body.text).toContain(`${order!.order_number}`);
    expect(notice.body.text).toContain('2 of 3 renders completed, 1 failed');
    const blocks = notice.body.blocks as { type: string; image_url?: string }[];
    expect(
      blocks
        .filter((b) => b.type === 'image')
        .map((b) => b.image_url)
        .sort(),
    ).toEqual([url(jobs[0]!), url(jobs[1]!)]);
    expect(shown(notice)).toContain('mesh missing for ACME-KL-6206');
    const link = /<(http:\/\/127\.0\.0\.1:\d+\/orders\/[0-9a-f-]{36}\/results\?exp=\d+&sig=[0-9a-f]{64})\|/.exec(
      shown(notice).replaceAll('\\u0026', '&').replaceAll('&amp;', '&'),
    )?.[1];
    expect(link).toBeDefined();
    // The progress message ends at 100 %, edited, never posted again.
    await h.slack.waitFor('chat.update', (c) => c.body.ts === progressTs && shown(c).includes('100%'), { from });
    await h.logs.waitFor((l) => l.msg === 'completion notice sent' && l.orderId === order!.id);

    // A replayed final callback changes nothing and sends no second notice.
    expect(await farm.callback(h.base, farmSecret, last)).toBe(200);
    const posts = h.slack.calls.filter((c) => c.method === 'chat.postMessage' && inThread(c));
    expect(posts.filter((c) => String(c.body.text).includes('finished with failures'))).toHaveLength(1);
    expect(posts.filter(isProgress)).toHaveLength(1);
    const [row] = await rows(
      h.em(),
      z.object({ notice_sent_at: z.string().nullable(), status: z.string() }),
      `select notice_sent_at, status from render_order where id = ?`,
      [order!.id],
    );
    expect(row).toMatchObject({ status: 'failed', notice_sent_at: expect.anything() });
    // The notice becomes part of the conversation (between turns, via the session's inbox), so the model knows about it next turn.
    const noticeInHistory = await waitFor(async () => {
      const found = await rows(
        h.em(),
        z.object({ content: z.string() }),
        `select m.content from chat_message m join chat_session s on s.id = m.session_id where s.key like ? and m.role = 'assistant' and m.content like '%finished with failures%'`,
        [`%:${threadTs}`],
      );
      return found.length ? found : undefined;
    }, 'the notice in the session history');
    expect(noticeInHistory).toHaveLength(1);

    // The signed results page lists every item; a tampered link is refused.
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(order!.order_number);
    expect(html).toContain('mesh missing for ACME-KL-6206');
    expect(html).toContain(url(jobs[0]!));
    expect((await fetch(link!.replace(/sig=[0-9a-f]/, 'sig=x'))).status).toBe(403);
    expect((await fetch(link!.replace(order!.id, randomUUID()))).status).toBe(403);
    expect(notice.body.metadata).toEqual({
      event_type: 'renderbot_once',
      event_payload: { key: `notice:${order!.id}` },
    });
    expect(h.slack.failures).toEqual([]);

    // A process that posted the notice and died before recording it leaves the claim and no sent mark; the queue
    // runs the job again (a later attempt): the notice found in the thread is not posted a second time.
    await h
      .em()
      .execute(`update render_order set notice_sent_at = null, notice_claim = 'job:crashed' where id = ?`, [order!.id]);
    const tasks = createNoticeTasks({
      orm: h.app.db.orm,
      log: h.logs.logger,
      deliverers: h.app.deliverers,
      renderLinks: h.app.renderLinks,
      now: () => new Date(),
    });
    const before = h.slack.calls.length;
    await tasks[noticeTaskName]!({ tenantId: acme.tenant.id, orderId: order!.id }, {
      job: { id: 'crashed', attempts: 2 },
    } as never);
    const again = h.slack.calls.slice(before);
    expect(again.filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    expect(again.some((c) => c.method === 'conversations.replies' && c.body.ts === threadTs)).toBe(true);
    expect(
      await rows(
        h.em(),
        z.object({ sent: z.boolean(), notice_claim: z.string().nullable() }),
        `select notice_sent_at is not null as sent, notice_claim from render_order where id = ?`,
        [order!.id],
      ),
    ).toEqual([{ sent: true, notice_claim: null }]);
    expect(h.slack.failures).toEqual([]);
  });
});

describe('notice scheduling and exactly-once delivery (queue tasks against the database)', () => {
  let db: TestDatabase;
  let acme: TenantFixture;
  beforeAll(async () => {
    db = await createTestDatabase();
    acme = await makeTenant(db.orm.em.fork(), 'acme');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const queueJobs = async (orderId: string) =>
    await rows(
      db.orm.em.fork(),
      z.object({ task: z.string(), key: z.string(), queue_name: z.string().nullable(), run_at: z.string() }),
      `select task_identifier as task, key, queue_name, run_at from graphile_worker.jobs where key like ? order by id`,
      [`%:${orderId}`],
    );

  async function watchedOrder() {
    const turn = await makeTurn(db.orm.em.fork(), acme.tenant.id);
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204', 'ACME-KL-6205'], 'WebP 1024x1024');
    await watchOrders(db.orm.em.fork(), acme.tenant.id, [order.orderId], {
      sessionId: turn.sessionId,
      delivery: { platform: 'cli', target: { where: 'terminal' } },
    });
    return { turn, order };
  }
  async function finishJob(orderId: string, pim: string, status: 'completed' | 'failed') {
    await db.orm.em.fork().transactional(async (tx) => {
      await tx.execute(
        `update render_job j set status = ?, result_url = ?, error = ?, finished_at = now() from product p
                        where p.id = j.product_id and j.order_id = ? and p.pim_id = ?`,
        [
          status,
          status === 'completed' ? `https://cdn.example.com/${pim}.png` : null,
          status === 'failed' ? 'farm exploded' : null,
          orderId,
          pim,
        ],
      );
      await deriveOrderStatus(tx, acme.tenant.id, orderId, new Date(), scheduleNotices);
    });
  }

  it('while rendering, progress updates are throttled to one pending job; completion queues one notice', async () => {
    const { order } = await watchedOrder();
    await finishJob(order.orderId, 'ACME-KL-6204', 'completed');
    const [first] = await queueJobs(order.orderId);
    expect(first).toMatchObject({ task: progressTaskName, queue_name: null });
    await db.orm.em
      .fork()
      .transactional((tx) => deriveOrderStatus(tx, acme.tenant.id, order.orderId, new Date(), scheduleNotices));
    const again = await queueJobs(order.orderId);
    expect(again).toHaveLength(1);
    expect(again[0]!.run_at).toEqual(first!.run_at);

    await finishJob(order.orderId, 'ACME-KL-6205', 'completed');
    const tasks = (await queueJobs(order.orderId)).map((j) => j.task);
    expect(tasks).toEqual([progressTaskName, noticeTaskName]);
  });

  it('a notice is delivered exactly once even when its task runs twice at the same time; a refused delivery is retried', async () => {
    const { turn, order } = await watchedOrder();
    await finishJob(order.orderId, 'ACME-KL-6204', 'completed');
    await finishJob(order.orderId, 'ACME-KL-6205', 'failed');
    const delivered: { target: Record<string, unknown>; reply: Reply; sessionId: string }[] = [];
    let refuse = true;
    const deliverer: Deliverer = async (target, reply, info) => {
      if (refuse) throw new Error('platform unavailable');
      await new Promise((r) => setImmediate(r));
      delivered.push({ target, reply, sessionId: info.sessionId });
      return undefined;
    };
    const tasks = createNoticeTasks({
      orm: db.orm,
      log: silentLog,
      deliverers: new Map<Platform, Deliverer>([['cli', deliverer]]),
      renderLinks: createRenderLinks(Buffer.alloc(32, 7), 'https://bot.example.com'),
      now: () => new Date(),
    });
    const run = () => tasks[noticeTaskName]!({ tenantId: acme.tenant.id, orderId: order.orderId }, {} as never);
    await expect(run()).rejects.toThrow('platform unavailable');
    expect(
      await rows(
        db.orm.em.fork(),
        z.object({ notice_sent_at: timestamp.nullable() }),
        `select notice_sent_at from render_order where id = ?`,
        [order.orderId],
      ),
    ).toEqual([{ notice_sent_at: null }]);

    refuse = false;
    await Promise.all([run(), run(), run()]);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ target: { where: 'terminal' }, sessionId: turn.sessionId });
    const text = JSON.stringify(delivered[0]!.reply);
    expect(text).toContain('1 of 2 renders completed, 1 failed');
    expect(text).toContain('farm exploded');
    expect(text).toContain('https://cdn.example.com/ACME-KL-6204.png');
    expect(text).toMatch(/https:\/\/bot\.example\.com\/orders\/[0-9a-f-]{36}\/results\?exp=\d+&sig=[0-9a-f]{64}/);
    await run();
    expect(delivered).toHaveLength(1);
    // Queued once into the session's history (written by the session's drain, between turns).
    expect(
      await rows(db.orm.em.fork(), z.object({ task: z.string() }), `select task from turn_inbox where session_id = ?`, [
        turn.sessionId,
      ]),
    ).toEqual([{ task: 'history_note' }]);
  });

  /** Sessions of this test's database inside a transaction, and advisory locks held in it (from another connection). */
  const openTransactions = async () =>
    (await row(
      db.orm.em.fork(),
      z.object({ transactions: z.number(), advisory_locks: z.number() }),
      `select (select count(*)::int from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null) as transactions,
            (select count(*)::int from pg_locks l join pg_database d on d.oid = l.database where d.datname = current_database() and l.locktype = 'advisory') as advisory_locks`,
    ))!;
  const tasksWith = (deliverer: Deliverer) =>
    createNoticeTasks({
      orm: db.orm,
      log: silentLog,
      deliverers: new Map<Platform, Deliverer>([['cli', deliverer]]),
      renderLinks: createRenderLinks(Buffer.alloc(32, 7), 'https://bot.example.com'),
      now: () => new Date(),
    });
  const progressOf = (reply: Reply) =>
    reply.blocks.find((b) => b.type === 'progress') as { status: string; ratio: number } | undefined;

  it('holds no transaction and no lock while the platform is called: progress post, final progress edit and notice', async () => {
    const { order } = await watchedOrder();
    await finishJob(order.orderId, 'ACME-KL-6204', 'completed');
    const seen: { kind: string; transactions: number; advisory_locks: number }[] = [];
    const tasks = tasksWith(async (_target, reply, info) => {
      seen.push({
        kind: progressOf(reply) ? (info.replace ? 'progress edit' : 'progress post') : 'notice',
        ...(await openTransactions()),
      });
      return progressOf(reply) ? { ts: 'progress-1' } : { ts: 'notice-1' };
    });
    const payload = { tenantId: acme.tenant.id, orderId: order.orderId };
    await tasks[progressTaskName]!(payload, {} as never);
    await finishJob(order.orderId, 'ACME-KL-6205', 'completed');
    await tasks[noticeTaskName]!(payload, {} as never);
    expect(seen).toEqual(
      ['progress post', 'progress edit', 'notice'].map((kind) => ({ kind, transactions: 0, advisory_locks: 0 })),
    );
    const [row] = await rows(
      db.orm.em.fork(),
      z.object({
        progress_message: z.looseObject({ ts: z.string() }).nullable(),
        notice_sent_at: z.string().nullable(),
        notice_claim: z.string().nullable(),
      }),
      `select progress_message, notice_sent_at, notice_claim from render_order where id = ?`,
      [order.orderId],
    );
    expect(row).toMatchObject({
      progress_message: { ts: 'progress-1' },
      notice_sent_at: expect.anything(),
      notice_claim: null,
    });
  });

  it('a progress edit overtaken by the completion notice is followed by the final state, never left last', async () => {
    const { order } = await watchedOrder();
    await finishJob(order.orderId, 'ACME-KL-6204', 'completed');
    const landed: { status: string; ratio: number }[] = [];
    const notices: Reply[] = [];
    let gate: { arrived: () => void; open: Promise<void> } | undefined;
    const tasks = tasksWith(async (_target, reply) => {
      const p = progressOf(reply);
      if (!p) {
        notices.push(reply);
        return undefined;
      }
      const g = gate;
      gate = undefined;
      if (g) {
        // This edit is slow on the platform's side: it lands only after the notice was sent.
        g.arrived();
        await g.open;
      }
      landed.push(p);
      return { ts: 'progress-1' };
    });
    const payload = { tenantId: acme.tenant.id, orderId: order.orderId };
    await tasks[progressTaskName]!(payload, {} as never);
    expect(landed).toEqual([expect.objectContaining({ status: 'rendering', ratio: 0.5 })]);

    let release: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      gate = {
        arrived: resolve,
        open: new Promise<void>((r) => {
          release = r;
        }),
      };
    });
    const slow = tasks[progressTaskName]!(payload, {} as never);
    await arrived;
    await finishJob(order.orderId, 'ACME-KL-6205', 'failed');
    await tasks[noticeTaskName]!(payload, {} as never);
    expect(notices).toHaveLength(1);
    expect(landed.at(-1)).toMatchObject({ status: 'failed', ratio: 1 });
    release();
    await slow;
    // The late 50 % edit landed after the final one; its writer saw the notice's newer claim and showed the final state again.
    expect(landed.map((p) => p.status)).toEqual(['rendering', 'failed', 'rendering', 'failed']);
    expect(landed.at(-1)).toMatchObject({ status: 'failed', ratio: 1 });
    expect(notices).toHaveLength(1);
  });
});
