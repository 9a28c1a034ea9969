import { Fragment, type ReactNode } from 'react';

/**
 * Renders the assistant's markdown subset as React elements — never as HTML, so text such as
 * `<img src=x onerror=…>` from product names or the model is shown literally. Supports
 * paragraphs, bullet and numbered lists, fenced code, pipe tables, **bold**, _italic_, `code`
 * and http(s) links.
 */
export function Markdown({ text }: { text: string }) {
  return <div className="rb-md">{blocks(text)}</div>;
}

function blocks(text: string): ReactNode[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: ReactNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (/^```/.test(line)) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i]!)) code.push(lines[i++]!);
      i++;
      out.push(<pre key={out.length}><code>{code.join('\n')}</code></pre>);
    } else if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[i + 1]!)) {
      const cells = (l: string) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
      const head = cells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i]!)) rows.push(cells(lines[i++]!));
      out.push(
        <div className="rb-table-wrap" key={out.length}><table className="rb-table">
          <thead><tr>{head.map((c, k) => <th key={k} scope="col">{inline(c)}</th>)}</tr></thead>
          <tbody>{rows.map((r, k) => <tr key={k}>{r.map((c, j) => <td key={j}>{inline(c)}</td>)}</tr>)}</tbody>
        </table></div>,
      );
    } else if (/^\s*([-*]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && /^\s*([-*]|\d+[.)])\s+/.test(lines[i]!)) items.push(lines[i++]!.replace(/^\s*([-*]|\d+[.)])\s+/, ''));
      const children = items.map((t, k) => <li key={k}>{inline(t)}</li>);
      out.push(ordered ? <ol key={out.length}>{children}</ol> : <ul key={out.length}>{children}</ul>);
    } else if (line.trim() === '') {
      i++;
    } else {
      const para: string[] = [];
      while (i < lines.length && lines[i]!.trim() !== '' && !/^```|^\s*([-*]|\d+[.)])\s+|^\s*\|/.test(lines[i]!)) para.push(lines[i++]!);
      if (para.length === 0) para.push(lines[i++]!);
      out.push(<p key={out.length}>{para.map((p, k) => <Fragment key={k}>{k > 0 && <br />}{inline(p)}</Fragment>)}</p>);
    }
  }
  return out;
}

const tokenPattern = /(`[^`]+`)|(\*\*[^*]+\*\*)|(_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))|(https?:\/\/[^\s)]+)/g;

/** Inline spans; everything else is plain text nodes. */
export function inline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(tokenPattern)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    const key = out.length;
    if (m[1]) out.push(<code key={key}>{t.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong key={key}>{inline(t.slice(2, -2))}</strong>);
    else if (m[3]) out.push(<em key={key}>{inline(t.slice(1, -1))}</em>);
    else if (m[4]) {
      const [, label, href] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(t) ?? [];
      out.push(safeHref(href) ? <a key={key} href={href} target="_blank" rel="noopener noreferrer">{label}</a> : t);
    } else out.push(<a key={key} href={t} target="_blank" rel="noopener noreferrer">{t}</a>);
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function safeHref(href: string | undefined): href is string {
  return !!href && /^https?:\/\//i.test(href);
}
