import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The panel's directory (adapters/web/panel). */
export const PANEL_ROOT = fileURLToPath(new URL('.', import.meta.url));
/** Written by the build; compared by test/web-panel-bundle.test.ts. */
export const BUILD_HASH_FILE = join(PANEL_ROOT, 'dist', 'build-hash.json');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** SHA-256 over the panel sources (src/, index.html, vite and tsconfig files), in a stable order. */
export function panelSourceHash(): string {
  const inputs = [
    ...files(join(PANEL_ROOT, 'src')),
    join(PANEL_ROOT, 'index.html'),
    join(PANEL_ROOT, 'vite.config.ts'),
    join(PANEL_ROOT, 'tsconfig.json'),
  ]
    .map((f) => relative(PANEL_ROOT, f).split('\\').join('/'))
    .sort();
  const h = createHash('sha256');
  for (const f of inputs)
    h.update(`${f}\0`)
      .update(readFileSync(join(PANEL_ROOT, f)))
      .update('\0');
  return h.digest('hex');
}

if (import.meta.main && process.argv[2] === 'write') {
  writeFileSync(BUILD_HASH_FILE, JSON.stringify({ sources: panelSourceHash() }, null, 2) + '\n');
  process.stdout.write(`wrote ${relative(process.cwd(), BUILD_HASH_FILE)}\n`);
}
