import ReactMarkdown, { type Components, type UrlTransform } from 'react-markdown';
import remarkBreaks from 'remark-breaks';
import remarkGfm from 'remark-gfm';

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** Keeps absolute http(s) and mailto URLs; anything else (javascript:, data:, relative, malformed) is dropped. */
const safeUrl: UrlTransform = (url) => {
  try {
    return SAFE_PROTOCOLS.has(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
};

/** Links open in a new tab without access to this window; a link whose URL was dropped is plain text. */
const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  // Markdown images would load any URL the model or a product name wrote: show them as links instead.
  img: ({ src, alt }) =>
    typeof src === 'string' && src !== '' ? (
      <a href={src} target="_blank" rel="noopener noreferrer">
        {alt || src}
      </a>
    ) : (
      <span>{alt}</span>
    ),
  table: ({ children }) => (
    <div className="rb-table-wrap">
      <table className="rb-table">{children}</table>
    </div>
  ),
  th: ({ children }) => <th scope="col">{children}</th>,
  td: ({ children }) => <td>{children}</td>,
};

/**
 * Renders the assistant's markdown (GitHub flavour: lists, code, tables, strikethrough, autolinks;
 * a line break is a line break) with react-markdown. Raw HTML is never interpreted: text such as
 * `<img src=x onerror=…>` from product names or the model is shown literally. Only http(s) and
 * mailto links survive (see `safeUrl`), and they open with rel="noopener noreferrer".
 */
export function Markdown({ text }: { text: string }) {
  // The markdown parser is not linear on every input (e.g. many unclosed `](`): a text longer than any
  // normal answer is shown as plain text, so no answer can stall the page.
  if (text.length > MAX_MARKDOWN_CHARS)
    return (
      <div className="rb-md">
        <pre className="rb-plain">{text}</pre>
      </div>
    );
  return (
    <div className="rb-md">
      <ReactMarkdown remarkPlugins={[remarkGfm, remarkBreaks]} urlTransform={safeUrl} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}

/** Longest text rendered as markdown (answers are cut at 40,000 characters by the agent; most are far shorter). */
const MAX_MARKDOWN_CHARS = 12_000;
