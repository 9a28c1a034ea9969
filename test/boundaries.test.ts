import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterViolations, createDbReach, tsFiles as files } from './support/boundaries.ts';

const imports = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );

describe('module boundaries (docs/style.md §1)', () => {
  it('core/ imports no platform package and nothing above it', () => {
    const offenders = files('core').flatMap((f) =>
      imports(f)
        .filter(
          (s) =>
            /^(@slack\/|botbuilder|botframework|restify|adaptivecards)/.test(s) || /(^|\/)(adapters|bot)\//.test(s),
        )
        .map((s) => `${f}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('adapters run no SQL of their own (docs/design.md §1: they call the core)', () => {
    const offenders = files('adapters')
      .filter((f) => !f.includes('/panel/'))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return [
          ...imports(f)
            .filter((s) => /core\/db\/sql\.ts$/.test(s))
            .map((s) => `${f}: ${s}`),
          ...(/\.execute\(\s*[`'"]/.test(text) ? [`${f}: raw SQL`] : []),
        ];
      });
    expect(offenders).toEqual([]);
  });

  it('adapters never import each other', () => {
    const offenders = ['slack', 'teams', 'web'].flatMap((a) =>
      files(join('adapters', a)).flatMap((f) =>
        imports(f)
          .filter((s) => ['slack', 'teams', 'web'].some((b) => b !== a && s.includes(`/${b}/`)))
          .map((s) => `${f}: ${s}`),
      ),
    );
    expect(offenders).toEqual([]);
  });

  it('adapters never touch the database: no core/db, no data modules, no orm / entity manager (docs/design.md §1)', () => {
    const reach = createDbReach(process.cwd());
    const offenders = files('adapters')
      .filter((f) => !f.includes('/panel/'))
      .flatMap((f) => adapterViolations(f, readFileSync(f, 'utf8'), reach));
    expect(offenders).toEqual([]);
  });

  it('the adapter check catches each kind of violation, and lets the intake API through', () => {
    const reach = createDbReach(process.cwd());
    const check = (source: string) => adapterViolations('adapters/slack/fixture.ts', source, reach);
    // Allowed: the core's API as types, pure core modules, comments and strings that mention the ORM.
    expect(
      check(
        [
          "import type { Intake, Speaker } from '../../core/conversations/intake.ts';",
          "import type { Conversations } from '../../core/conversations/service.ts';",
          "import { parseCommand } from '../../core/commands/grammar.ts';",
          "import { hasRole } from '../../core/tenancy/roles.ts';",
          '// the orm and em.fork() live in the core',
          "export const note = 'no EntityManager here';",
        ].join('\n'),
      ),
    ).toEqual([]);
    expect(check("import { resolveLink } from '../../core/tenancy/links.ts';")).toEqual([
      expect.stringMatching(
        /loads \.\.\/\.\.\/core\/tenancy\/links\.ts, which reaches the database \(core\/tenancy\/links\.ts → (core\/db\/|kysely)/,
      ),
    ]);
    expect(check("import { ensureUser } from '../../core/tenancy/users.ts';")).toHaveLength(1);
    expect(check("import { findActiveSession } from '../../core/history/sessions.ts';")).toHaveLength(1);
    expect(check("import { setMessageRef } from '../../core/actions/store.ts';")).toHaveLength(1);
    expect(check("import { createIntake } from '../../core/conversations/intake.ts';")).toHaveLength(1);
    // A type-only import still loads the module when written `import { type X }` (verbatimModuleSyntax).
    expect(check("import { type TenantRow } from '../../core/tenancy/tenants.ts';")).toHaveLength(1);
    expect(check("import type { EntityManager } from '../../core/db/orm.ts';")).toEqual([
      'adapters/slack/fixture.ts: imports ../../core/db/orm.ts (core/db)',
      'adapters/slack/fixture.ts: names a database handle (EntityManager)',
    ]);
    expect(check('const em = deps.orm.em.fork();')).toEqual([
      'adapters/slack/fixture.ts: names a database handle (em)',
      'adapters/slack/fixture.ts: names a database handle (orm)',
    ]);
    expect(check('export type Deps = { orm: unknown };')).toEqual([
      'adapters/slack/fixture.ts: names a database handle (orm)',
    ]);
    expect(check("import { MikroORM } from '@mikro-orm/postgresql';")).toContain(
      'adapters/slack/fixture.ts: imports @mikro-orm/postgresql',
    );
    expect(check("const db = await import('../../core/db/orm.ts');")).toEqual([
      'adapters/slack/fixture.ts: imports ../../core/db/orm.ts (core/db)',
    ]);
  });
});
