import { UserInputError } from '../errors.ts';

/** Largest file accepted (docs/design.md §12); adapters stop reading beyond it. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** Most data rows (the header not counted) a file may have: one order's worth (core/pipeline/orders.ts `maxOrderProducts`). */
export const MAX_FILE_ROWS = 100_000;
/** Most bytes an XLSX may unpack to, and most times its packed size. */
export const MAX_UNPACKED_BYTES = 200 * 1024 * 1024;
export const MAX_UNPACK_RATIO = 100;
/** Most sheet names a summary or a sentence lists (a workbook may have hundreds). */
export const MAX_LISTED_SHEETS = 20;
/** Longest file name kept (longer names are cut). */
export const MAX_NAME_CHARS = 200;

/** A file refused: `message` is the one sentence people see. */
export function refused(code: string, message: string): UserInputError {
  return new UserInputError(`file_${code}`, message);
}

/** The size limit in words, e.g. "20 MB". */
export const maxFileWords = `${MAX_FILE_BYTES / 1024 / 1024} MB`;

/** Sheet names for a sentence: "Export, Lager, Archiv", cut after MAX_LISTED_SHEETS with "…". */
export function listSheets(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED_SHEETS).join(', ');
  return names.length > MAX_LISTED_SHEETS ? `${shown}, …` : shown;
}
