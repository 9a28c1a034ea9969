import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EntityManager } from './db/orm.ts';
import { row, rows } from './db/sql.ts';
import type { Platform } from './tenancy/roles.ts';

/*
 * Idempotency keys of requests that start turns (the chat API's `Idempotency-Key`): the first
 * request with a key claims it with a fingerprint of its body, records the turn it queued and,
 * once answered, the response. A repeat with the same key and body — in any process, within
 * IDEMPOTENCY_TTL_S — finds the claim and gets that response instead of starting a second turn;
 * the same key with another body is a mistake of the client. Keys are per user.
 */

/** How long a key is remembered (24 hours). */
const IDEMPOTENCY_TTL_S = 86_400;

/** A claim that queued no turn after this long is taken for abandoned (its process died half-way): a repeat takes it over. */
const ABANDONED_CLAIM_S = 60;

/** Whose key it is: another user's (or tenant's, or platform's) same key is another key. */
export type KeyOwner = { tenantId: string; platform: Platform; userId: string };

/** A claimed key as stored: the turn it started (once queued) and its response (once answered). */
export type ClaimedKey = { itemId: string | null; sessionId: string | null; response: unknown };

/** What `claim` found: the key is new (the caller does the work), was used for another request, or is this request's. */
export type Claim = { status: 'new' } | { status: 'reused' } | { status: 'existing'; key: ClaimedKey };

const freshRow = z.object({ fresh: z.literal(1) });
const keyRow = z.object({
  fingerprint: z.string(),
  itemId: z.string().nullable(),
  sessionId: z.string().nullable(),
  response: z.unknown(),
});

/** JSON with object keys sorted, so equal requests have equal fingerprints. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A fingerprint of a request: SHA-256 of its canonical JSON. */
export function requestFingerprint(request: unknown): string {
  return createHash('sha256').update(canonical(request)).digest('hex');
}

const where = 'tenant_id = ? and platform = ? and user_id = ? and key = ?';
const ownerParams = (owner: KeyOwner, key: string) => [owner.tenantId, owner.platform, owner.userId, key];

/** The stored key, if any (also an expired one until it is pruned). */
async function readKey(em: EntityManager, owner: KeyOwner, key: string) {
  return row(
    em,
    keyRow,
    `select fingerprint, item_id::text as "itemId", session_id::text as "sessionId", response from idempotency_key where ${where}`,
    ownerParams(owner, key),
  );
}

/**
 * Claims `key` for `request` in one statement: new (also when the old claim expired), or what is
 * stored under it. Concurrent claims of one key: exactly one is new.
 */
async function claimKey(em: EntityManager, owner: KeyOwner, key: string, request: unknown): Promise<Claim> {
  const fingerprint = requestFingerprint(request);
  for (;;) {
    const fresh = await rows(
      em,
      freshRow,
      `insert into idempotency_key (tenant_id, platform, user_id, key, fingerprint) values (?, ?, ?, ?, ?)
       on conflict (tenant_id, platform, user_id, key) do update
         set fingerprint = excluded.fingerprint, item_id = null, session_id = null, response = null, created_at = now()
         where idempotency_key.created_at < now() - make_interval(secs => ?)
       returning 1 as fresh`,
      [...ownerParams(owner, key), fingerprint, IDEMPOTENCY_TTL_S],
    );
    if (fresh.length) return { status: 'new' };
    const stored = await readKey(em, owner, key);
    // Released between the two statements: claim again.
    if (!stored) continue;
    if (stored.fingerprint !== fingerprint) return { status: 'reused' };
    return {
      status: 'existing',
      key: { itemId: stored.itemId, sessionId: stored.sessionId, response: stored.response },
    };
  }
}

/** What is stored under a key now; undefined when it was released. */
async function keyState(em: EntityManager, owner: KeyOwner, key: string): Promise<ClaimedKey | undefined> {
  const stored = await readKey(em, owner, key);
  return stored ? { itemId: stored.itemId, sessionId: stored.sessionId, response: stored.response } : undefined;
}

/** Records the turn a claimed key started. */
async function attachTurn(
  em: EntityManager,
  owner: KeyOwner,
  key: string,
  turn: { itemId: string; sessionId: string },
): Promise<void> {
  await em.execute(`update idempotency_key set item_id = ?, session_id = ? where ${where}`, [
    turn.itemId,
    turn.sessionId,
    ...ownerParams(owner, key),
  ]);
}

/**
 * Stores the response of a key's request unless one is stored already, and returns the stored one:
 * whoever settles first decides what every repeat gets.
 */
async function settleKey(em: EntityManager, owner: KeyOwner, key: string, response: unknown): Promise<unknown> {
  await em.execute(`update idempotency_key set response = ?::jsonb where ${where} and response is null`, [
    JSON.stringify(response),
    ...ownerParams(owner, key),
  ]);
  return (await readKey(em, owner, key))?.response ?? response;
}

/** Forgets a claim whose request failed before it queued a turn, so a retry does the work. */
async function releaseKey(em: EntityManager, owner: KeyOwner, key: string): Promise<void> {
  await em.execute(`delete from idempotency_key where ${where} and item_id is null`, ownerParams(owner, key));
}

/** Forgets a claim that queued no turn within ABANDONED_CLAIM_S; true when it did. */
async function releaseAbandoned(em: EntityManager, owner: KeyOwner, key: string): Promise<boolean> {
  const released = await rows(
    em,
    freshRow,
    `delete from idempotency_key where ${where} and item_id is null and created_at < now() - make_interval(secs => ?) returning 1 as fresh`,
    [...ownerParams(owner, key), ABANDONED_CLAIM_S],
  );
  return released.length > 0;
}

/** Deletes keys older than IDEMPOTENCY_TTL_S. */
export async function pruneKeys(em: EntityManager): Promise<number> {
  const pruned = await rows(
    em,
    freshRow,
    `delete from idempotency_key where created_at < now() - make_interval(secs => ?) returning 1 as fresh`,
    [IDEMPOTENCY_TTL_S],
  );
  return pruned.length;
}

/** How a repeated request ends: with the stored response, with its turn's result (to respond with and settle), or without. */
export type KeyOutcome<R> =
  | { status: 'stored'; response: unknown }
  | { status: 'done'; sessionId: string; result: R }
  | { status: 'released' }
  | { status: 'lost' };

/**
 * The idempotency API over a database; `result` waits for a queued item's result (the
 * conversations' `result`), `itemExists` tells whether an item is still stored.
 */
export function createIdempotency<R>(deps: {
  em: () => EntityManager;
  result: (itemId: string, opts: { signal: AbortSignal }) => Promise<R | undefined>;
  itemExists: (itemId: string) => Promise<boolean>;
}) {
  return {
    claim: (owner: KeyOwner, key: string, request: unknown) => claimKey(deps.em(), owner, key, request),
    attach: (owner: KeyOwner, key: string, turn: { itemId: string; sessionId: string }) =>
      attachTurn(deps.em(), owner, key, turn),
    settle: (owner: KeyOwner, key: string, response: unknown) => settleKey(deps.em(), owner, key, response),
    release: (owner: KeyOwner, key: string) => releaseKey(deps.em(), owner, key),
    /**
     * Waits for the first request with this key (in any process): its stored response, or its
     * turn's result once done (the caller responds and settles), `released` when it failed before
     * queuing a turn or was abandoned (claim again), `lost` when its turn is done but neither the response nor the
     * turn's result is stored any more. Undefined when `signal` aborts first.
     */
    async waitFor(owner: KeyOwner, key: string, signal: AbortSignal): Promise<KeyOutcome<R> | undefined> {
      while (!signal.aborted) {
        const state = await keyState(deps.em(), owner, key);
        if (!state) return { status: 'released' };
        if (state.response !== null && state.response !== undefined)
          return { status: 'stored', response: state.response };
        if (state.itemId && state.sessionId) {
          if (!(await deps.itemExists(state.itemId))) return { status: 'lost' };
          const result = await deps.result(state.itemId, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
          });
          if (result) return { status: 'done', sessionId: state.sessionId, result };
        } else if (await releaseAbandoned(deps.em(), owner, key)) {
          return { status: 'released' };
        } else {
          // Claimed; its turn is not queued yet.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return undefined;
    },
  };
}
