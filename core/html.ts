import { createHash } from 'node:crypto';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A URL that may go into an href or src: http(s) only (never javascript:, data:, file: …); undefined otherwise. */
export function safeLinkUrl(url: string): string | undefined {
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'https:' || protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Headers for a server-rendered HTML page: a strict Content-Security-Policy (no script at all,
 * the page's one inline stylesheet by hash, images as `imgSrc` allows, no framing, no forms, no
 * base URL), no sniffing and no referrer.
 */
export function htmlPageHeaders(css: string, opts: { imgSrc?: string } = {}): Record<string, string> {
  const styleHash = createHash('sha256').update(css).digest('base64');
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    `img-src ${opts.imgSrc ?? "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}
