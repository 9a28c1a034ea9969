import type { EntityManager } from '../db/orm.ts';
import { countRow, row } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { upsertProducts, type ProductInput } from './catalogue.ts';
import { parseCsv, type CsvProblem } from './csv.ts';

/** Required header of a product CSV; `material_name` may follow as a fourth column. */
const productCsvColumns = ['pim_id', 'name', 'category'] as const;
const productCsvOptionalColumn = 'material_name' as const;

/** Longest accepted value per column (characters, after trimming). */
const productCsvLimits = { pim_id: 100, name: 300, category: 100, material_name: 100 } as const;

/** At most this many problems are listed in the error message (the total is always given). */
const maxListedProblems = 20;

/** Outcome of an import: rows that created a product vs. rows that updated an existing one. */
export type ImportResult = { inserted: number; updated: number };

/**
 * Imports products from CSV text into `tenantId`'s catalogue, all or nothing.
 *
 * Format: CSV as read by `parseCsv` (RFC 4180, or `;`-separated as German Excel writes it; the
 * separator is taken from the header line), UTF-8 with optional BOM. The first line must be
 * exactly `pim_id,name,category` or `pim_id,name,category,material_name` (with either separator);
 * every data row must have that many fields. Values are trimmed; pim_id, name and category must be non-empty; an empty
 * material_name keeps a product's current material. Rows are upserted by pim_id.
 *
 * If any row is bad (syntax, missing or extra fields, empty or over-long values, a pim_id that
 * repeats within the file) nothing is written and UserInputError 'csv_invalid' lists the
 * problems as "line N: …". Runs in the caller's transaction (`em`).
 */
export async function importProductsCsv(em: EntityManager, tenantId: string, csvText: string): Promise<ImportResult> {
  const products = validateProductCsv(csvText);
  if (products.length === 0) return { inserted: 0, updated: 0 };
  const existing = await row(
    em,
    countRow,
    `select count(*) as n from product
     where tenant_id = ? and pim_id in (select jsonb_array_elements_text(?::jsonb))`,
    [tenantId, JSON.stringify(products.map((p) => p.pimId))],
  );
  const updated = existing?.n ?? 0;
  const written = await upsertProducts(em, tenantId, products);
  return { inserted: written - updated, updated };
}

/**
 * Parses and checks a product CSV without touching the database; returns the products or
 * throws 'csv_invalid' listing every problem with its line number.
 */
function validateProductCsv(csvText: string): ProductInput[] {
  const { records, problems, delimiter } = parseCsv(csvText);
  const header = records[0];
  if (!header || header.line !== 1) {
    const first = problems.find((p) => p.line === 1);
    throw csvError([
      { line: 1, message: first?.message ?? `the file must start with the header "${productCsvColumns.join(',')}"` },
    ]);
  }
  const names = header.fields.map((f) => f.trim());
  const withMaterial = names.length === 4 && names[3] === productCsvOptionalColumn;
  const expected: (keyof typeof productCsvLimits)[] = withMaterial
    ? [...productCsvColumns, productCsvOptionalColumn]
    : [...productCsvColumns];
  if (names.join(',') !== expected.join(',')) {
    throw csvError([
      {
        line: 1,
        message: `the header must be "${productCsvColumns.join(',')}" (optionally followed by ",${productCsvOptionalColumn}"; or the same with ";"), not "${names.join(delimiter)}"`,
      },
    ]);
  }

  const all: CsvProblem[] = [...problems];
  const products: ProductInput[] = [];
  const seen = new Map<string, number>();
  for (const { line, fields } of records.slice(1)) {
    if (fields.length !== expected.length) {
      const what = fields.length < expected.length ? 'too few' : 'too many';
      all.push({
        line,
        message: `${what} columns: expected ${expected.length} (${expected.join(',')}), found ${fields.length}`,
      });
      continue;
    }
    const values = fields.map((f) => f.trim());
    const rowProblems: string[] = [];
    expected.forEach((column, idx) => {
      const value = values[idx] ?? '';
      if (value === '' && column !== productCsvOptionalColumn) rowProblems.push(`${column} is empty`);
      const limit = productCsvLimits[column];
      if (value.length > limit) rowProblems.push(`${column} is longer than ${limit} characters (${value.length})`);
    });
    const [pimId = '', name = '', category = '', materialName = ''] = values;
    if (pimId !== '') {
      const firstLine = seen.get(pimId);
      if (firstLine !== undefined) rowProblems.push(`pim_id "${pimId}" already appears on line ${firstLine}`);
      else seen.set(pimId, line);
    }
    if (rowProblems.length > 0) {
      all.push({ line, message: rowProblems.join('; ') });
      continue;
    }
    products.push({ pimId, name, category, materialName: materialName === '' ? null : materialName });
  }
  if (all.length > 0) throw csvError(all);
  return products;
}

function csvError(problems: CsvProblem[]): UserInputError {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const listed = sorted.slice(0, maxListedProblems).map((p) => `line ${p.line}: ${p.message}`);
  const more = sorted.length > maxListedProblems ? `\n…and ${sorted.length - maxListedProblems} more problems.` : '';
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new UserInputError(
    'csv_invalid',
    `The CSV was not imported (${count}; nothing was changed):\n${listed.join('\n')}${more}`,
  );
}
