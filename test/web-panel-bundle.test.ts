import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_HASH_FILE, PANEL_ROOT, panelSourceHash } from '../adapters/web/panel/hash.ts';

describe('committed chat panel bundle', () => {
  it('is built from the current panel sources (run `npm run build:panel` after changing them)', () => {
    expect(existsSync(BUILD_HASH_FILE), 'adapters/web/panel/dist is missing: run npm run build:panel').toBe(true);
    const built = JSON.parse(readFileSync(BUILD_HASH_FILE, 'utf8')) as { sources: string };
    expect(built.sources, 'the panel sources changed since the last build: run npm run build:panel').toBe(
      panelSourceHash(),
    );
  });

  it('has the page, script and stylesheet npm start serves, with no inline script', () => {
    for (const f of ['index.html', 'panel.js', 'panel.css'])
      expect(existsSync(join(PANEL_ROOT, 'dist', f)), f).toBe(true);
    const html = readFileSync(join(PANEL_ROOT, 'dist', 'index.html'), 'utf8');
    expect(html).toContain('<script type="module" crossorigin src="/chat/panel.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });
});
