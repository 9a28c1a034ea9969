import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ChatSession } from './chat.ts';
import { Tenant } from './tenancy.ts';

/**
 * A queued turn of a session (core/queue/session-inbox.ts): started `attempts` times (last by
 * `startedBy`), `progress`
 * records how far it got, `doneAt`/`result` once answered.
 */
export const TurnInbox = defineEntity({
  name: 'TurnInbox',
  tableName: 'turn_inbox',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    session: p.manyToOne(ChatSession).deleteRule('cascade'),
    task: p.text(),
    payload: p.json<unknown>(),
    createdAt: p.datetime().defaultRaw('now()'),
    attempts: p.integer().default(0),
    startedAt: p.datetime().nullable(),
    /** The lease holder that started it (only it may count a stop as no attempt). */
    startedBy: p.text().nullable(),
    progress: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    doneAt: p.datetime().nullable(),
    result: p.json<unknown>().nullable(),
    /** A stop was asked for (core/queue/turn-stops.ts): the item ends with "Stopped by <stoppedBy>". */
    stopRequestedAt: p.datetime().nullable(),
    stoppedBy: p.text().nullable(),
  },
  indexes: [
    { name: 'turn_inbox_pending_idx', properties: ['session', 'id'], where: 'done_at is null' },
    { name: 'turn_inbox_done_idx', properties: ['doneAt'], where: 'done_at is not null' },
  ],
});
export type TurnInbox = InferEntity<typeof TurnInbox>;

/**
 * Who drives a session's turns (core/queue/session-lease.ts): `owner` until `expiresAt`, the
 * database's clock. No row, or an expired one, means the session is free.
 */
export const SessionLease = defineEntity({
  name: 'SessionLease',
  tableName: 'session_lease',
  properties: {
    session: p.manyToOne(ChatSession).primary().deleteRule('cascade').updateRule('no action'),
    owner: p.text(),
    expiresAt: p.datetime(),
  },
});
export type SessionLease = InferEntity<typeof SessionLease>;

/**
 * A platform request received (dedupe of retries and redeliveries), stored before it is
 * acknowledged and kept for replay until it is handled (core/queue/inbound-requests.ts).
 */
export const InboundEvent = defineEntity({
  name: 'InboundEvent',
  tableName: 'inbound_event',
  properties: {
    platform: p.text().primary(),
    eventId: p.text().primary(),
    tenant: p.manyToOne(Tenant).nullable().deleteRule('cascade'),
    receivedAt: p.datetime().defaultRaw('now()'),
    request: p.json<unknown>().nullable(),
    handledAt: p.datetime().nullable(),
    replayAt: p.datetime().nullable(),
    replays: p.integer().default(0),
  },
  indexes: [
    { name: 'inbound_event_received_idx', properties: ['receivedAt'] },
    { name: 'inbound_event_unhandled_idx', properties: ['platform', 'replayAt'], where: 'handled_at is null' },
  ],
});
export type InboundEvent = InferEntity<typeof InboundEvent>;

/** Heartbeat of a queue worker process (core/queue/liveness.ts). */
export const QueueWorker = defineEntity({
  name: 'QueueWorker',
  tableName: 'queue_worker',
  properties: {
    id: p.text().primary(),
    host: p.text(),
    pid: p.integer(),
    startedAt: p.datetime().defaultRaw('now()'),
    lastSeenAt: p.datetime().defaultRaw('now()'),
  },
});
export type QueueWorker = InferEntity<typeof QueueWorker>;

/** A rate-limit counter in rate-limiter-flexible's table layout (`expire` in epoch ms). */
export const RateLimit = defineEntity({
  name: 'RateLimit',
  tableName: 'rate_limit',
  properties: {
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    expire: p.bigint('number').nullable(),
  },
  indexes: [{ name: 'rate_limit_expire_idx', properties: ['expire'] }],
});
export type RateLimit = InferEntity<typeof RateLimit>;
