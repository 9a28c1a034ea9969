import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');

describe('module boundaries (STYLE §1)', () => {
  it('core/ imports no platform package and nothing above it', () => {
    const offenders = files('core').flatMap((f) =>
      imports(f)
        .filter((s) => /^(@slack\/|botbuilder|botframework|restify|adaptivecards)/.test(s) || /(^|\/)(adapters|bot)\//.test(s))
        .map((s) => `${f}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('adapters run no SQL of their own (DESIGN §1: they call the core)', () => {
    const offenders = files('adapters').filter((f) => !f.includes('/panel/')).flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      return [
        ...imports(f).filter((s) => /core\/db\/sql\.ts$/.test(s)).map((s) => `${f}: ${s}`),
        ...(/\.execute\(\s*[`'"]/.test(text) ? [`${f}: raw SQL`] : []),
      ];
    });
    expect(offenders).toEqual([]);
  });

  it('adapters never import each other', () => {
    const offenders = ['slack', 'teams', 'web'].flatMap((a) =>
      files(join('adapters', a)).flatMap((f) =>
        imports(f).filter((s) => ['slack', 'teams', 'web'].some((b) => b !== a && s.includes(`/${b}/`))).map((s) => `${f}: ${s}`),
      ),
    );
    expect(offenders).toEqual([]);
  });
});
