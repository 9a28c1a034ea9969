import pg from 'pg';
import type { DatabaseAvailability } from '../availability.ts';
import type { Logger } from '../logger.ts';

/** A handler for one channel's payloads. */
type NotificationHandler = (payload: string) => void;

/** PostgreSQL LISTEN on one connection for the whole process; see `createNotifications`. */
export type Notifications = {
  /** Calls `handler` for every NOTIFY on `channel` until the returned function is called. */
  subscribe(channel: string, handler: NotificationHandler): () => void;
  close(): Promise<void>;
};

/**
 * One dedicated connection that LISTENs for every channel the process subscribed to, reconnecting
 * (with backoff) when the server drops it. Notifications are wake-up calls, not a delivery
 * guarantee: whoever relies on one also polls, so one lost while reconnecting only costs time.
 */
export function createNotifications(url: string, log: Logger, availability?: DatabaseAvailability): Notifications {
  const handlers = new Map<string, Set<NotificationHandler>>();
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let backoffMs = 250;
  let retryTimer: NodeJS.Timeout | undefined;

  const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

  const connect = (): Promise<void> => {
    if (closed) return Promise.resolve();
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url });
      c.on('notification', (n) => {
        for (const h of handlers.get(n.channel) ?? []) {
          try {
            h(n.payload ?? '');
          } catch (err) {
            log.error({ err, channel: n.channel }, 'notification handler failed');
          }
        }
      });
      const lost = (reason: Error) => {
        if (client !== c && client !== undefined) return;
        if (!closed && !availability?.report(reason))
          log.warn({ why: reason.message }, 'notification connection dropped; reconnecting');
        client = undefined;
        c.end().catch(() => {});
        scheduleReconnect();
      };
      c.on('error', (err) => lost(err));
      c.on('end', () => lost(new Error('Connection terminated')));
      try {
        await c.connect();
        for (const channel of handlers.keys()) await c.query(`listen ${quote(channel)}`);
        if (closed) {
          await c.end();
          return;
        }
        client = c;
        backoffMs = 250;
      } catch (err) {
        if (!availability?.report(err))
          log.warn({ err: (err as Error).message }, 'could not listen for notifications; retrying');
        await c.end().catch(() => {});
        scheduleReconnect();
      }
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, backoffMs);
    retryTimer.unref();
    backoffMs = Math.min(backoffMs * 2, 10_000);
  };

  return {
    subscribe(channel, handler) {
      const set = handlers.get(channel) ?? new Set();
      const isNew = set.size === 0 && !handlers.has(channel);
      set.add(handler);
      handlers.set(channel, set);
      if (isNew) {
        if (client)
          client
            .query(`listen ${quote(channel)}`)
            .catch((err: Error) => log.warn({ err: err.message, channel }, 'listen failed'));
        else void connect();
      }
      return () => {
        set.delete(handler);
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await connecting;
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
