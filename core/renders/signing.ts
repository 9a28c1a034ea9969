import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Default lifetime of a signed render link: 7 days. */
const renderLinkTtlSeconds = 7 * 24 * 3600;
/** Lifetime of a signed export download link (docs/design.md §12): 24 hours. */
export const exportLinkTtlSeconds = 24 * 3600;
/** Formats an order's results export in (core/exports). */
export const exportFormats = ['csv', 'zip'] as const;
export type ExportFormat = (typeof exportFormats)[number];
/** Farm requests and callbacks older (or newer) than this are rejected. */
const signatureToleranceSeconds = 5 * 60;

/** Makes and checks expiring links to rendered files; the key never leaves this object. */
export type RenderLinks = {
  /** `[base]/renders/<jobId>?exp=<unix s>&sig=<hex>`, valid for `ttlSeconds` from `now`. */
  signedRenderUrl(jobId: string, ttlSeconds?: number, now?: Date): string;
  /** 'ok', or why the link is refused ('expired', 'bad_signature'). */
  verify(jobId: string, exp: string | undefined, sig: string | undefined, now?: Date): LinkCheck;
  /** `[base]/orders/<orderId>/results?exp=…&sig=…`: the page with all results of an order. */
  signedResultsUrl(orderId: string, ttlSeconds?: number, now?: Date): string;
  verifyResults(orderId: string, exp: string | undefined, sig: string | undefined, now?: Date): LinkCheck;
  /** `[base]/renders/<jobId>/thumb?exp=…&sig=…`: a small WebP of a local render of `tenantId`. */
  signedThumbUrl(tenantId: string, jobId: string, ttlSeconds?: number, now?: Date): string;
  verifyThumb(tenantId: string, jobId: string, exp: string | undefined, sig: string | undefined, now?: Date): LinkCheck;
  /** `[base]/orders/<orderId>/export.<format>?exp=…&sig=…`: the order's results as a file (24 h by default). */
  signedExportUrl(tenantId: string, orderId: string, format: ExportFormat, ttlSeconds?: number, now?: Date): string;
  verifyExport(
    tenantId: string,
    orderId: string,
    format: ExportFormat,
    exp: string | undefined,
    sig: string | undefined,
    now?: Date,
  ): LinkCheck;
};

export type LinkCheck = 'ok' | 'expired' | 'bad_signature';

/**
 * Render links signed with a key derived (HKDF) from `secretsKey`, so they survive restarts and
 * differ from other uses of it. With `baseUrl` (PUBLIC_URL) links are absolute.
 */
export function createRenderLinks(secretsKey: Buffer, baseUrl?: string): RenderLinks {
  const base = baseUrl ? baseUrl.replace(/\/+$/, '') : '';
  const key = Buffer.from(hkdfSync('sha256', secretsKey, Buffer.alloc(0), 'renderbot render links v1', 32));
  // Render links sign the bare job id; results pages sign `results:<orderId>`, so neither passes for the other.
  // Thumbnails and exports also sign the tenant: the route checks it against the row's tenant.
  const mac = (subject: string, exp: number) => createHmac('sha256', key).update(`${subject}.${exp}`).digest('hex');
  const sign = (subject: string, ttlSeconds: number, now: Date) => {
    const exp = Math.floor(now.getTime() / 1000) + ttlSeconds;
    return `exp=${exp}&sig=${mac(subject, exp)}`;
  };
  const check = (subject: string, exp: string | undefined, sig: string | undefined, now: Date): LinkCheck => {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return 'bad_signature';
    if (!safeEqualHex(mac(subject, Number(exp)), sig)) return 'bad_signature';
    return Number(exp) * 1000 < now.getTime() ? 'expired' : 'ok';
  };
  return {
    signedRenderUrl: (jobId, ttlSeconds = renderLinkTtlSeconds, now = new Date()) =>
      `${base}/renders/${encodeURIComponent(jobId)}?${sign(jobId, ttlSeconds, now)}`,
    verify: (jobId, exp, sig, now = new Date()) => check(jobId, exp, sig, now),
    signedResultsUrl: (orderId, ttlSeconds = renderLinkTtlSeconds, now = new Date()) =>
      `${base}/orders/${encodeURIComponent(orderId)}/results?${sign(`results:${orderId}`, ttlSeconds, now)}`,
    verifyResults: (orderId, exp, sig, now = new Date()) => check(`results:${orderId}`, exp, sig, now),
    signedThumbUrl: (tenantId, jobId, ttlSeconds = renderLinkTtlSeconds, now = new Date()) =>
      `${base}/renders/${encodeURIComponent(jobId)}/thumb?${sign(`thumb:${tenantId}:${jobId}`, ttlSeconds, now)}`,
    verifyThumb: (tenantId, jobId, exp, sig, now = new Date()) => check(`thumb:${tenantId}:${jobId}`, exp, sig, now),
    signedExportUrl: (tenantId, orderId, format, ttlSeconds = exportLinkTtlSeconds, now = new Date()) =>
      `${base}/orders/${encodeURIComponent(orderId)}/export.${format}?${sign(`export:${format}:${tenantId}:${orderId}`, ttlSeconds, now)}`,
    verifyExport: (tenantId, orderId, format, exp, sig, now = new Date()) =>
      check(`export:${format}:${tenantId}:${orderId}`, exp, sig, now),
  };
}

/** `sha256=<hex>` HMAC of `timestamp + "." + body` under a tenant's farm secret. */
export function signFarmBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a farm signature header against `body` and its timestamp header (unix seconds, at most
 * `signatureToleranceSeconds` away from `now`). Returns why it fails, or 'ok'.
 */
export function verifyFarmSignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  now = new Date(),
): 'ok' | 'missing' | 'stale' | 'bad_signature' {
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad_signature';
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > signatureToleranceSeconds) return 'stale';
  const expected = signFarmBody(secret, timestamp, body);
  return safeEqualHex(expected, signature) ? 'ok' : 'bad_signature';
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
