/**
 * Per-tenant cap on concurrent model calls in this process (docs/design.md §4): over the cap, a tenant's
 * calls wait in arrival order while other tenants' calls go on. A 429 from the tenant's provider
 * lowers that tenant's cap (to half of what was running, at least 1) and holds new calls back for
 * the retry-after, for a while (`cooldownMs`, at least the retry-after); then the configured cap
 * applies again. A lowered cap can also come from the database (another process saw the 429).
 */
export type ModelGate = {
  /** Runs `call` once the tenant is under its cap; `cap` is the tenant's configured maximum. */
  run<T>(tenantId: string, cap: number, call: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** The tenant's provider answered 429: lower its cap for a while. Returns the lowered cap and until when. */
  rateLimited(tenantId: string, retryAfterMs?: number): { cap: number; until: Date };
  /** A lowered cap known from elsewhere (the tenant row), applied until `until`. */
  lowered(tenantId: string, cap: number, until: Date): void;
  /** Totals for /metrics (no per-tenant data). */
  stats(): { inFlight: number; waiting: number; throttledTenants: number };
  /** One tenant's state, for tests and `admin usage` of this process. */
  tenant(tenantId: string): { inFlight: number; waiting: number; cap: number | undefined };
};

type Waiter = { resolve: () => void; reject: (err: unknown) => void; signal?: AbortSignal; onAbort?: () => void };
type TenantState = {
  active: number;
  queue: Waiter[];
  cap: number;
  lowCap?: number;
  lowUntil: number;
  pausedUntil: number;
  timer?: NodeJS.Timeout;
  timerAt?: number;
};

export type ModelGateOptions = { now?: () => number; cooldownMs?: number };

export function createModelGate(opts: ModelGateOptions = {}): ModelGate {
  const now = opts.now ?? Date.now;
  const cooldownMs = opts.cooldownMs ?? 30_000;
  const tenants = new Map<string, TenantState>();

  const state = (tenantId: string, cap?: number): TenantState => {
    let s = tenants.get(tenantId);
    if (!s) {
      s = { active: 0, queue: [], cap: cap ?? 1, lowUntil: 0, pausedUntil: 0 };
      tenants.set(tenantId, s);
    }
    if (cap !== undefined) s.cap = cap;
    return s;
  };
  const effectiveCap = (s: TenantState) =>
    s.lowCap !== undefined && s.lowUntil > now() ? Math.min(s.lowCap, s.cap) : s.cap;

  const pump = (tenantId: string, s: TenantState) => {
    const t = now();
    if (s.pausedUntil > t) return wakeAt(tenantId, s, s.pausedUntil);
    while (s.queue.length > 0 && s.active < effectiveCap(s)) {
      const w = s.queue.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      s.active += 1;
      w.resolve();
    }
    if (s.queue.length > 0 && s.lowUntil > t) wakeAt(tenantId, s, s.lowUntil);
    if (s.active === 0 && s.queue.length === 0 && s.lowUntil <= t && !s.timer) tenants.delete(tenantId);
  };
  /** One timer per tenant, at the earliest moment something changes for it. */
  const wakeAt = (tenantId: string, s: TenantState, at: number) => {
    if (s.timer && s.timerAt !== undefined && s.timerAt <= at) return;
    if (s.timer) clearTimeout(s.timer);
    s.timerAt = at;
    s.timer = setTimeout(
      () => {
        s.timer = undefined;
        s.timerAt = undefined;
        pump(tenantId, s);
      },
      Math.max(1, at - now()),
    );
    s.timer.unref();
  };

  return {
    async run(tenantId, cap, call, signal) {
      const s = state(tenantId, Math.max(1, cap));
      if (s.queue.length === 0 && s.active < effectiveCap(s) && s.pausedUntil <= now()) {
        s.active += 1;
      } else {
        await new Promise<void>((resolve, reject) => {
          const w: Waiter = { resolve, reject };
          if (signal) {
            w.signal = signal;
            w.onAbort = () => {
              const i = s.queue.indexOf(w);
              if (i >= 0) s.queue.splice(i, 1);
              reject(signal.reason ?? new Error('aborted'));
            };
            if (signal.aborted) return w.onAbort();
            signal.addEventListener('abort', w.onAbort, { once: true });
          }
          s.queue.push(w);
          pump(tenantId, s);
        });
      }
      try {
        return await call();
      } finally {
        s.active -= 1;
        pump(tenantId, s);
      }
    },
    rateLimited(tenantId, retryAfterMs) {
      const s = state(tenantId);
      const t = now();
      const wait = Math.max(0, retryAfterMs ?? 1000);
      s.lowCap = Math.max(1, Math.floor(Math.min(effectiveCap(s), Math.max(1, s.active)) / 2));
      s.lowUntil = Math.max(s.lowUntil, t + Math.max(cooldownMs, wait));
      s.pausedUntil = Math.max(s.pausedUntil, t + wait);
      return { cap: s.lowCap, until: new Date(s.lowUntil) };
    },
    lowered(tenantId, cap, until) {
      const s = state(tenantId);
      if (until.getTime() <= now()) return;
      s.lowCap = s.lowCap !== undefined && s.lowUntil > now() ? Math.min(s.lowCap, cap) : cap;
      s.lowUntil = Math.max(s.lowUntil, until.getTime());
    },
    stats() {
      let inFlight = 0;
      let waiting = 0;
      let throttledTenants = 0;
      const t = now();
      for (const s of tenants.values()) {
        inFlight += s.active;
        waiting += s.queue.length;
        if (s.lowUntil > t) throttledTenants += 1;
      }
      return { inFlight, waiting, throttledTenants };
    },
    tenant(tenantId) {
      const s = tenants.get(tenantId);
      return { inFlight: s?.active ?? 0, waiting: s?.queue.length ?? 0, cap: s ? effectiveCap(s) : undefined };
    },
  };
}
