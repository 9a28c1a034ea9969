import { stripVTControlCharacters } from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogOutput } from '../core/logger.ts';

/** A logger writing into a string, as `createLogger` builds it for `output`. */
function capture(output: LogOutput) {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger('info', sink, output);
  return { log, text: () => stripVTControlCharacters(chunks.join('')) };
}

describe('log format (docs/style.md §6)', () => {
  it('writes readable lines to a terminal, with secrets still redacted', () => {
    const { log, text } = capture({ isTTY: true });
    log.child({ component: 'slack' }).info({ token: 'xoxb-SECRET', port: 3978 }, 'RenderBot listening');
    const out = text();
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*RenderBot listening\n/);
    expect(out).toContain('component: "slack"');
    expect(out).toContain('token: "[redacted]"');
    expect(out).not.toContain('xoxb-SECRET');
    expect(() => JSON.parse(out)).toThrow();
  });

  it('writes one JSON object a line elsewhere', () => {
    const { log, text } = capture({ isTTY: false });
    log.info({ apiKey: 'sk-SECRET', port: 3978 }, 'RenderBot listening');
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: 'RenderBot listening', port: 3978, apiKey: '[redacted]' });
  });

  it('LOG_FORMAT wins over the terminal check', () => {
    const json = capture({ isTTY: true, format: 'json' });
    json.log.info('hello');
    expect(JSON.parse(json.text())).toMatchObject({ msg: 'hello' });
    const pretty = capture({ isTTY: false, format: 'pretty' });
    pretty.log.info('hello');
    expect(pretty.text()).toMatch(/INFO.*hello/);
  });
});
