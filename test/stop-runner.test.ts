import { EventEmitter, once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSession } from '../core/history/sessions.ts';
import { createNotifications } from '../core/queue/notifications.ts';
import { finishItems, pendingItems, startItems, submitToSession } from '../core/queue/session-inbox.ts';
import { startTurnRunner, type SessionDrain } from '../core/queue/turn-runner.ts';
import { requestStop } from '../core/queue/turn-stops.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

/*
 * The turn runner's side of a Stop (docs/design.md §12): a stop request aborts the running
 * item's signal in the runner that holds the lease — by NOTIFY, and by reading the rows when the
 * NOTIFY never came — and only that item's.
 */

let db: TestDatabase;
let acme: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(db.orm.em.fork(), 'acme');
});
afterAll(async () => {
  await db.drop();
});

/** A drain that holds each item until its stop signal aborts, and says (events) when an item started and when one was stopped. */
function holdingDrain() {
  const stopped: string[] = [];
  const events = new EventEmitter();
  const drain: SessionDrain = async (sessionId, lease) => {
    for (;;) {
      const [item] = await pendingItems(db.orm.em.fork(), sessionId, 1);
      if (!item || lease.signal.aborted) return;
      const signal = lease.stopSignal!([item.id]);
      await startItems(db.orm.em.fork(), [item.id], lease.owner);
      events.emit('started', item.id);
      await new Promise<void>((r) => {
        if (signal.aborted) r();
        else signal.addEventListener('abort', () => r(), { once: true });
      });
      if (lease.signal.aborted) return;
      stopped.push(item.id);
      events.emit('stopped', item.id);
      const { released } = await finishItems(db.orm.em.fork(), [item.id], [], { sessionId, owner: lease.owner });
      if (released) return true;
    }
  };
  return {
    drain,
    stopped,
    started: () => once(events, 'started').then(([id]) => String(id)),
    stoppedNext: () => once(events, 'stopped'),
  };
}

async function queued(userId: string): Promise<{ sessionId: string; itemId: string }> {
  const sessionId = (await resolveSession(db.orm.em.fork(), acme.tenant.id, 'web', `stop:${Math.random()}`, userId)).id;
  const itemId = (await submitToSession(
    db.orm.em.fork(),
    { tenantId: acme.tenant.id, sessionId },
    { task: 'turn', payload: { turn: { userId } } },
  ))!;
  return { sessionId, itemId };
}

describe('turn runner and stop requests', () => {
  it('a NOTIFY aborts the running item of that session only; the asker may, a viewer who did not ask may not', async () => {
    const notifications = createNotifications(db.url, silentLog);
    const h = holdingDrain();
    const runner = startTurnRunner({
      orm: db.orm,
      log: silentLog,
      drain: h.drain,
      concurrency: 10,
      leaseMs: 30_000,
      pollMs: 200,
      notifications,
    });
    try {
      const first = await queued('alice');
      const running = h.started();
      runner.wake(first.sessionId);
      expect(await running).toBe(first.itemId);

      expect(
        await requestStop(
          db.orm.em.fork(),
          { tenantId: acme.tenant.id, sessionId: first.sessionId },
          { userId: 'vera', anyone: false, name: 'Vera' },
        ),
      ).toEqual({ stopped: 0, refused: 1 });
      // Another tenant's stop of this session finds nothing.
      const other = await makeTenant(db.orm.em.fork(), 'globex');
      expect(
        await requestStop(
          db.orm.em.fork(),
          { tenantId: other.tenant.id, sessionId: first.sessionId },
          { userId: 'gus', anyone: true, name: 'Gus' },
        ),
      ).toEqual({ stopped: 0, refused: 0 });

      const stopped = h.stoppedNext();
      expect(
        await requestStop(
          db.orm.em.fork(),
          { tenantId: acme.tenant.id, sessionId: first.sessionId },
          { userId: 'alice', anyone: false, name: 'Alice' },
        ),
      ).toEqual({ stopped: 1, refused: 0 });
      await stopped;
      expect(h.stopped).toEqual([first.itemId]);
    } finally {
      await runner.stop();
      await notifications.close();
    }
  });

  it('without the NOTIFY (a runner that does not listen), the stop is read from the rows at the next poll', async () => {
    const h = holdingDrain();
    const runner = startTurnRunner({
      orm: db.orm,
      log: silentLog,
      drain: h.drain,
      concurrency: 10,
      leaseMs: 30_000,
      pollMs: 200,
    });
    try {
      const { sessionId, itemId } = await queued('alice');
      const running = h.started();
      runner.wake(sessionId);
      expect(await running).toBe(itemId);
      const stopped = h.stoppedNext();
      await requestStop(
        db.orm.em.fork(),
        { tenantId: acme.tenant.id, sessionId },
        { userId: 'olga', anyone: true, name: 'Olga' },
      );
      await stopped;
      expect(h.stopped).toEqual([itemId]);
    } finally {
      await runner.stop();
    }
  });
});
