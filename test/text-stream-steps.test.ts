import { describe, expect, it } from 'vitest';
import { defaultPacing, pacedTextStream } from '../core/conversations/text-stream.ts';
import type { TurnStep } from '../core/replies/steps.ts';

/** A write the test lets finish when it wants: the stream must not start the next one before. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const step = (id: string, state: TurnStep['state'], result?: string): TurnStep => ({
  id,
  title: `Step ${id}…`,
  state,
  ...(result ? { result } : {}),
});

describe('pacedTextStream with steps (docs/design.md §12)', () => {
  it('writes steps at once, one write at a time, coalescing updates that arrive meanwhile to their newest state', async () => {
    const written: TurnStep[][] = [];
    const first = gate();
    let calls = 0;
    const stream = pacedTextStream({
      pacing: defaultPacing,
      write: async () => {},
      writeSteps: async (changed) => {
        written.push(changed);
        if (++calls === 1) await first.opened;
      },
      finish: async () => ({ ts: 'stream' }),
      onError: (err) => {
        throw err;
      },
    });
    stream.step(step('a', 'running'));
    // While the first write is under way, a and b change twice: one write follows, with their newest states.
    await Promise.resolve();
    stream.step(step('b', 'running'));
    stream.step(step('a', 'done', '3 found'));
    stream.step(step('b', 'failed', 'No order SA-2026-09999 was found.'));
    first.open();
    // Steps alone were shown, so the stream's message is returned for the answer to replace.
    expect(await stream.end()).toEqual({ ts: 'stream' });
    expect(written).toEqual([
      [step('a', 'running')],
      [step('b', 'failed', 'No order SA-2026-09999 was found.'), step('a', 'done', '3 found')],
    ]);
  });

  it('without writeSteps steps are not shown, and a stream that showed nothing returns nothing', async () => {
    const stream = pacedTextStream({
      pacing: defaultPacing,
      write: async () => {},
      finish: async () => ({ ts: 'x' }),
      onError: () => {},
    });
    stream.step(step('a', 'running'));
    expect(await stream.end()).toBeUndefined();
  });

  it('a failing step write stops the live preview and is reported once; the turn goes on', async () => {
    const errors: unknown[] = [];
    let texts = 0;
    const stream = pacedTextStream({
      pacing: { startChars: 1, startMs: 0, intervalMs: 0 },
      write: async () => {
        texts++;
      },
      writeSteps: async () => {
        throw new Error('refused');
      },
      finish: async () => undefined,
      onError: (err) => errors.push(err),
    });
    stream.step(step('a', 'running'));
    stream.step(step('a', 'done'));
    await Promise.resolve();
    stream.push('some text');
    await stream.end();
    expect(errors.map((e) => (e as Error).message)).toEqual(['refused']);
    expect(texts).toBe(0);
  });
});
