/**
 * Text written by others (names, cells, reasons) with its control characters (C0, DEL, C1 — the
 * start of every terminal escape sequence) replaced by `replacement`: shown in a terminal or kept
 * as a file name, it cannot move the cursor, recolour or retitle anything.
 */
export function withoutControlCharacters(text: string, replacement = ''): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, replacement);
}
