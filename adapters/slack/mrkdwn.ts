/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Only these link targets become Slack links; anything else stays literal text. */
const LINK_SCHEMES = ['https://', 'http://'];

/** `#` to `######`, spaces, then the heading's text. Anchored: one attempt per line. */
const HEADING = /^#{1,6}[ \t]+(?=\S)/;

const SPACE = /\s/;
/** Letters and digits: Slack shows `_` inside a word as written, so italics must not start or end there. */
const WORD = /[\p{L}\p{N}]/u;
const BACKTICK = 0x60;

/** Up to three spaces, then three backticks: the line opens or closes a fenced code block. */
const FENCE = /^ {0,3}```/;

/**
 * Converts the reply model's markdown subset to Slack mrkdwn after escaping: **bold** and
 * __bold__ → *bold*, *italic* → _italic_, headings → bold lines, [label](https://…) →
 * <https://…|label>. Only http(s) links become links. Code (fenced blocks and `spans`) is left
 * as written.
 *
 * One pass over the text, a line at a time; every search is bounded by its line (or by a
 * stop character that ends the next search's region too), so the work is linear in the length
 * of the text whatever it contains.
 */
export function toMrkdwn(markdown: string): string {
  const lines = escapeMrkdwn(markdown).split('\n');
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = line.includes('```') ? FENCE.exec(line) : null;
    if (fence && (fenced || !line.includes('`', fence[0].length))) {
      fenced = !fenced;
      continue;
    }
    if (!fenced && line) lines[i] = convertLine(line);
  }
  return lines.join('\n');
}

function convertLine(line: string): string {
  const heading = line.startsWith('#') ? HEADING.exec(line) : null;
  if (!heading) return convertSpans(line);
  const rest = line.slice(heading[0].length);
  const title = rest.trimEnd();
  const text = convertSpans(title);
  // "## **Done**" is already one bold span once converted.
  const bold = text.length > 2 && text.startsWith('*') && text.indexOf('*', 1) === text.length - 1 ? text : `*${text}*`;
  return bold + rest.slice(title.length);
}

/**
 * Converts a line outside its code spans, which are copied as written: a run of backticks opens
 * a span, the next run of the same length closes it (a run without a partner is literal). Each
 * run's partner is found in one backward pass, so this stays linear however many runs there are.
 */
function convertSpans(line: string): string {
  if (!line.includes('`')) return convertInline(line);
  const starts: number[] = [];
  const lengths: number[] = [];
  for (let i = line.indexOf('`'); i !== -1; i = line.indexOf('`', i)) {
    let end = i;
    while (line.charCodeAt(end) === BACKTICK) end++;
    starts.push(i);
    lengths.push(end - i);
    i = end;
  }
  const partner = new Int32Array(starts.length);
  const nextOfLength = new Map<number, number>();
  for (let k = starts.length - 1; k >= 0; k--) {
    partner[k] = nextOfLength.get(lengths[k]!) ?? -1;
    nextOfLength.set(lengths[k]!, k);
  }
  let out = '';
  let from = 0;
  for (let k = 0; k < starts.length; k++) {
    const close = partner[k]!;
    if (close < 0) continue;
    const end = starts[close]! + lengths[close]!;
    out += convertInline(line.slice(from, starts[k])) + line.slice(starts[k], end);
    from = end;
    k = close;
  }
  return out + convertInline(line.slice(from));
}

/** Which emphasis a piece of text may still contain (bit flags): none twice over, so nesting stays shallow. */
const BOLD = 1;
const ITALIC = 2;

/**
 * Emphasis and links in text without code or line breaks: `**bold**` / `__bold__` → `*bold*`,
 * `*italic*` → `_italic_` (Slack's `*` is bold), `***both***` → `*_both_*`,
 * `[label](https://…)` → a link. The text between
 * a `**` pair has no `**`, an italic span has no closing `*`, a link label has no `[`, and the
 * text inside emphasis is not searched for the same emphasis again, so the nested conversions see
 * each character at most a few times. A link whose target runs into a space or the end (no
 * closing parenthesis) tells where every later target starting before that point ends too, so it
 * is not scanned again; likewise the closing `*` of every italic is found in one backward pass.
 */
function convertInline(text: string, nest = BOLD | ITALIC): string {
  let out = '';
  let copied = 0;
  let openTargetUntil = -1;
  let closers: Int32Array | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const triple = c === '*' && nest === (BOLD | ITALIC) && text.startsWith('***', i) ? text.indexOf('***', i + 4) : -1;
    if (triple >= 0) {
      out += `${text.slice(copied, i)}*_${convertInline(text.slice(i + 3, triple), 0)}_*`;
      copied = triple + 3;
      i = triple + 2;
    } else if ((c === '*' || c === '_') && text[i + 1] === c) {
      const close = nest & BOLD ? text.indexOf(c + c, i + 3) : -1;
      if (close < 0) continue;
      out += `${text.slice(copied, i)}*${convertInline(text.slice(i + 2, close), nest & ~BOLD)}*`;
      copied = close + 2;
      i = close + 1;
    } else if (c === '*' && nest & ITALIC && opensItalic(text, i)) {
      closers ??= italicClosers(text);
      const close = closers[i + 2] ?? -1;
      if (close < 0) continue;
      out += `${text.slice(copied, i)}_${convertInline(text.slice(i + 1, close), nest & ~ITALIC)}_`;
      copied = close + 1;
      i = close;
    } else if (c === '[') {
      const labelEnd = endOfLabel(text, i + 1);
      if (labelEnd < 0 || text[labelEnd + 1] !== '(') continue;
      const target = labelEnd + 2;
      if (target < openTargetUntil || !LINK_SCHEMES.some((s) => text.startsWith(s, target))) continue;
      const targetEnd = endOfTarget(text, target);
      if (text[targetEnd] !== ')') {
        openTargetUntil = targetEnd;
        continue;
      }
      const url = text.slice(target, targetEnd).replaceAll('|', '%7C');
      const label = convertInline(text.slice(i + 1, labelEnd), nest).replaceAll('|', '¦');
      out += `${text.slice(copied, i)}<${url}|${label}>`;
      copied = targetEnd + 1;
      i = targetEnd;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** A lone `*` not inside a word, followed by a character that is neither a space nor `*`, can open an italic span. */
function opensItalic(text: string, i: number): boolean {
  const prev = text[i - 1];
  const next = text[i + 1];
  return (
    prev !== '*' && !(prev !== undefined && WORD.test(prev)) && next !== undefined && next !== '*' && !SPACE.test(next)
  );
}

/**
 * For each position, the first `*` at or after it that can close an italic span (a lone `*`
 * after a character that is not a space, not followed by a letter or digit), or -1: one
 * backward pass over the text.
 */
function italicClosers(text: string): Int32Array {
  const next = new Int32Array(text.length + 1).fill(-1);
  for (let j = text.length - 1; j > 0; j--) {
    const prev = text[j - 1]!;
    const after = text[j + 1];
    const closes =
      text[j] === '*' &&
      prev !== '*' &&
      !SPACE.test(prev) &&
      after !== '*' &&
      !(after !== undefined && WORD.test(after));
    next[j] = closes ? j : next[j + 1]!;
  }
  return next;
}

/** The `]` closing a non-empty label that starts at `from`, or -1 (a `[` comes first, or nothing). */
function endOfLabel(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '[') return -1;
    if (text[j] === ']') return j > from ? j : -1;
  }
  return -1;
}

/** Where a link target starting at `from` ends: at the first whitespace or `)`, or the end. */
function endOfTarget(text: string, from: number): number {
  let j = from;
  while (j < text.length && text[j] !== ')' && !SPACE.test(text[j]!)) j++;
  return j;
}
