import { EventEmitter } from 'node:events';
import type { Notifications } from '../queue/notifications.ts';
import { TURN_DONE_CHANNEL } from '../queue/session-inbox.ts';

/**
 * Inbox items done in this process or, through NOTIFY, in others: the drain tells it which
 * items it finished, and callers waiting on an item's result (web requests) are woken by it.
 */
export type FinishedItems = {
  /** Tells the callers waiting on these items in this process that they are done. */
  emit(itemIds: readonly string[]): void;
  /** Resolves when `itemId` may be done (finished here or elsewhere), after `pollMs`, or when `signal` aborts. */
  wait(itemId: string, pollMs: number, signal?: AbortSignal): Promise<void>;
};

/** One per process, shared by the drain and the conversations; without `notifications`, waiters poll. */
export function createFinishedItems(notifications?: Notifications): FinishedItems {
  const finished = new EventEmitter().setMaxListeners(0);
  let listening = false;
  const listen = () => {
    if (listening || !notifications) return;
    listening = true;
    notifications.subscribe(TURN_DONE_CHANNEL, (itemId) => finished.emit(itemId));
  };
  return {
    emit(itemIds) {
      for (const id of itemIds) finished.emit(id);
    },
    wait(itemId, pollMs, signal) {
      listen();
      return new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          finished.off(itemId, wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        const timer = setTimeout(wake, pollMs);
        finished.once(itemId, wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    },
  };
}
