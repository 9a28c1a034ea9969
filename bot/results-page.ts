import { escapeHtml, htmlPageHeaders, safeLinkUrl } from '../core/html.ts';
import type { RenderResults } from '../core/renders/results.ts';

const css = `body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:1rem}
figure{margin:0;border:1px solid #ddd;border-radius:8px;padding:.5rem;background:#fafafa}
figure img{width:100%;height:auto;display:block;border-radius:4px}
figure.failed{border-color:#d33}.error{color:#b00;font-size:13px;margin:.25rem 0 0}
.none{aspect-ratio:1;display:flex;align-items:center;justify-content:center;color:#888;background:#eee;border-radius:4px}`;

/** Headers of the results page: strict CSP (no script; thumbnails from this server or over http(s)). */
export const resultsPageHeaders = htmlPageHeaders(css, { imgSrc: "'self' https: http:" });

/** The "all results" page of an order (linked from completion notices): counts, a thumbnail grid, failures with reasons. */
export function resultsPage(r: RenderResults): string {
  const c = r.counts;
  const counts = [
    `${c.completed} completed`,
    c.failed ? `${c.failed} failed` : '',
    c.running ? `${c.running} running` : '',
    c.queued ? `${c.queued} queued` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const items = r.items
    .map((i) => {
      const url = i.url ? safeLinkUrl(i.url) : undefined;
      const image = url
        ? `<a href="${escapeHtml(url)}"><img src="${escapeHtml(url)}" alt="${escapeHtml(`${i.pim_id} ${i.product}`)}" loading="lazy"></a>`
        : `<div class="none">${escapeHtml(i.status)}</div>`;
      const error = i.error ? `<p class="error">${escapeHtml(i.error)}</p>` : '';
      return `<figure class="${escapeHtml(i.status)}">${image}<figcaption><b>${escapeHtml(i.pim_id)}</b> ${escapeHtml(i.product)}${error}</figcaption></figure>`;
    })
    .join('\n');
  const more = r.truncated ? `<p>Showing ${r.items.length} of ${r.item_count} items.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(r.order_number)} — render results</title>
<style>${css}</style></head>
<body><h1>${escapeHtml(r.order_number)}</h1><p>Status: <b>${escapeHtml(r.status)}</b> · ${escapeHtml(counts)} of ${r.item_count} items</p>
${more}<div class="grid">
${items}
</div></body></html>`;
}
