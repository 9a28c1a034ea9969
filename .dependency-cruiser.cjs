/**
 * One way down (docs/ARCHITECTURE.md, "Folder direction"): `npm run lint:deps`, run by .ci/run
 * before the tests. Exceptions are listed in EXCEPTIONS below, each with its reason.
 */

/**
 * Known cycles that stay for now, at most five, each `{ cycle: <path regex>, reason }`; a cycle is
 * excused when it runs only through the files named. None today.
 */
const EXCEPTIONS = [];

const excused = EXCEPTIONS.map((e) => e.cycle);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No two files depend on each other, directly or through others.',
      severity: 'error',
      from: { path: '^(core|adapters|bot)/', pathNot: excused },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'Core folders depend one way: no folder reaches, through others, back to itself.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^core/' },
      to: { circular: true },
    },
    {
      name: 'core-not-above',
      comment: 'core/ imports nothing from adapters/ or bot/.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(adapters|bot)/' },
    },
    {
      name: 'adapters-apart',
      comment: 'An adapter never imports another adapter (shared HTTP helpers live in adapters/http.ts).',
      severity: 'error',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/([^/]+)/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'adapters-no-db',
      comment:
        'Adapters never touch the database: nothing under core/db (test/boundaries.test.ts checks what they reach through others).',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^core/db/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^adapters/web/panel/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
