import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from './openapi.ts';

/** The committed copy of the OpenAPI document (linted by `npm run lint:api`, typed into the panel). */
export const OPENAPI_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

/** The document as the committed file holds it. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

if (import.meta.main && process.argv[2] === 'write') {
  writeFileSync(OPENAPI_FILE, openApiText());
  process.stdout.write(`wrote ${relative(process.cwd(), OPENAPI_FILE)}\n`);
}
