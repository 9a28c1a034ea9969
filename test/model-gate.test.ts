import { describe, expect, it } from 'vitest';
import { createModelGate } from '../core/llm/model-gate.ts';

/** A call that stays open until `finish()`; `started` resolves when the gate let it run. */
function call(log: string[], name: string) {
  let finish!: () => void;
  let started!: () => void;
  const startedP = new Promise<void>((r) => {
    started = r;
  });
  const fn = () => {
    log.push(name);
    started();
    return new Promise<string>((r) => {
      finish = () => r(name);
    });
  };
  return { fn, started: startedP, finish: () => finish() };
}

describe('per-tenant model gate', () => {
  it('runs at most `cap` calls of a tenant at once; the rest start in arrival order; other tenants are not held', async () => {
    const gate = createModelGate();
    const log: string[] = [];
    const calls = ['a1', 'a2', 'a3', 'a4'].map((n) => call(log, n));
    const results = calls.map((c) => gate.run('A', 2, c.fn));
    await Promise.all([calls[0]!.started, calls[1]!.started]);
    expect(gate.tenant('A')).toEqual({ inFlight: 2, waiting: 2, cap: 2 });
    const b = call(log, 'b1');
    const bResult = gate.run('B', 1, b.fn);
    await b.started;
    b.finish();
    expect(await bResult).toBe('b1');
    calls[1]!.finish();
    await calls[2]!.started;
    calls[0]!.finish();
    await calls[3]!.started;
    calls[2]!.finish();
    calls[3]!.finish();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(log).toEqual(['a1', 'a2', 'b1', 'a3', 'a4']);
    expect(gate.stats()).toEqual({ inFlight: 0, waiting: 0, throttledTenants: 0 });
  });

  it('a 429 halves what was running (at least 1), holds new calls for the retry-after, then applies the lowered cap until it expires', async () => {
    let now = 1_000_000;
    const gate = createModelGate({ now: () => now, cooldownMs: 30_000 });
    const log: string[] = [];
    const running = ['r1', 'r2', 'r3', 'r4'].map((n) => call(log, n));
    const runningResults = running.map((c) => gate.run('A', 8, c.fn));
    await Promise.all(running.map((c) => c.started));
    expect(gate.rateLimited('A', 0)).toEqual({ cap: 2, until: new Date(now + 30_000) });
    expect(gate.stats().throttledTenants).toBe(1);
    const next = ['n1', 'n2', 'n3'].map((n) => call(log, n));
    const nextResults = next.map((c) => gate.run('A', 8, c.fn));
    for (const c of running) c.finish();
    await Promise.all(runningResults);
    await Promise.all([next[0]!.started, next[1]!.started]);
    expect(gate.tenant('A')).toEqual({ inFlight: 2, waiting: 1, cap: 2 });
    now += 31_000;
    next[0]!.finish();
    await next[2]!.started;
    expect(gate.tenant('A').cap).toBe(8);
    next[1]!.finish();
    next[2]!.finish();
    await Promise.all(nextResults);
  });

  it('a waiting call whose turn is aborted leaves the queue with the abort reason', async () => {
    const gate = createModelGate();
    const log: string[] = [];
    const first = call(log, 'first');
    const running = gate.run('A', 1, first.fn);
    await first.started;
    const abort = new AbortController();
    const waiting = gate.run('A', 1, call(log, 'never').fn, abort.signal);
    abort.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(gate.tenant('A')).toEqual({ inFlight: 1, waiting: 0, cap: 1 });
    first.finish();
    await running;
    expect(log).toEqual(['first']);
  });

  it('a lowered cap learned from another process applies until its time is up', async () => {
    let now = 5_000;
    const gate = createModelGate({ now: () => now });
    gate.lowered('A', 1, new Date(now + 10_000));
    const log: string[] = [];
    const a = call(log, 'a');
    const b = call(log, 'b');
    const ra = gate.run('A', 4, a.fn);
    const rb = gate.run('A', 4, b.fn);
    await a.started;
    expect(gate.tenant('A')).toEqual({ inFlight: 1, waiting: 1, cap: 1 });
    now += 10_001;
    a.finish();
    await b.started;
    b.finish();
    await Promise.all([ra, rb]);
  });
});
