import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import ts from 'typescript';

/** A module a file imports; `typeOnly` for `import type` / `export type` (erased before run time). */
type ModuleImport = { specifier: string; typeOnly: boolean };

/** The `.ts` files under `dir`, recursively. */
export function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const parse = (fileName: string, text: string) =>
  ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);

/**
 * Every module a source imports, from TypeScript's own parser: static imports and re-exports,
 * `import()` calls and `import('…')` types. `import { type A } from` still loads its module at run
 * time (verbatimModuleSyntax, Node's type stripping), so only `import type` counts as type-only.
 */
function importsOf(fileName: string, text: string): ModuleImport[] {
  const out: ModuleImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(fileName, text));
  return out;
}

/** Names that mean a database handle; an adapter has no business with any of them (docs/design.md §1). */
const DATABASE_NAMES = new Set(['orm', 'Orm', 'em', 'EntityManager', 'MikroORM', 'SqlEntityManager']);
/** Packages that reach the database directly. */
const DATABASE_PACKAGES = /^(@mikro-orm\/|pg$|pg\/|kysely)/;

/** Path of a relative import from `file`, normalised (repository-relative when `file` is). */
const target = (file: string, specifier: string) => normalize(join(dirname(file), specifier));

/**
 * Whether a module reaches the database at run time: it is under core/db/, imports a database
 * package, or imports (not `import type`) a module that does. Reads files from `root`.
 */
export function createDbReach(root: string): (file: string) => string | undefined {
  const memo = new Map<string, string | undefined>();
  const reach = (file: string): string | undefined => {
    if (memo.has(file)) return memo.get(file);
    memo.set(file, undefined); // cycles: assume not while the cycle is walked
    let why: string | undefined;
    if (/(^|\/)core\/db\//.test(file)) why = file;
    else {
      const abs = resolve(root, file);
      const text = existsSync(abs) ? readFileSync(abs, 'utf8') : '';
      for (const imp of importsOf(file, text)) {
        if (imp.typeOnly) continue;
        if (DATABASE_PACKAGES.test(imp.specifier)) {
          why = `${file} → ${imp.specifier}`;
          break;
        }
        if (!imp.specifier.startsWith('.')) continue;
        const next = reach(target(file, imp.specifier));
        if (next) {
          why = `${file} → ${next}`;
          break;
        }
      }
    }
    memo.set(file, why);
    return why;
  };
  return reach;
}

/**
 * What an adapter file (repository-relative path, source text) does that docs/design.md §1 forbids:
 * importing anything under core/db (also `import type`), loading a module that reaches the
 * database (core/tenancy's data functions, sessions, the action store, …: adapters get those
 * through the injected `Intake` / `Conversations`), importing a database package, or naming a
 * database handle (`orm`, `em`, `EntityManager`) in code — comments and strings do not count.
 */
export function adapterViolations(
  file: string,
  text: string,
  reachesDb: (file: string) => string | undefined,
): string[] {
  const out: string[] = [];
  for (const imp of importsOf(file, text)) {
    if (DATABASE_PACKAGES.test(imp.specifier)) out.push(`${file}: imports ${imp.specifier}`);
    if (!imp.specifier.startsWith('.')) continue;
    const to = target(file, imp.specifier);
    if (/(^|\/)core\/db\//.test(to)) out.push(`${file}: imports ${imp.specifier} (core/db)`);
    else if (!imp.typeOnly) {
      const why = reachesDb(to);
      if (why) out.push(`${file}: loads ${imp.specifier}, which reaches the database (${why})`);
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && DATABASE_NAMES.has(node.text))
      out.push(`${file}: names a database handle (${node.text})`);
    ts.forEachChild(node, visit);
  };
  visit(parse(file, text));
  return [...new Set(out)];
}
