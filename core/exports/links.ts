import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { findOrderRef } from '../renders/files.ts';
import { exportFormats, type ExportFormat, type LinkCheck, type RenderLinks } from '../renders/signing.ts';

/** What a valid export link names: an order of a tenant, in a format. */
export type ExportRef = { tenantId: string; orderId: string; orderNumber: string; format: ExportFormat };

const exportPath = /^\/orders\/([^/]+)\/export\.([a-z]+)$/;

/** The file name an export is offered under. */
export function exportFileName(orderNumber: string, format: ExportFormat): string {
  return `${orderNumber}-results.${format}`;
}

/**
 * Checks an export link (path `/orders/<id>/export.<format>` and its `exp`/`sig`) the way the
 * results page is checked: signed, not expired, and signed for the tenant the order belongs to.
 * Unknown orders are refused like bad signatures, so a link never tells whether an order exists.
 * Used by the download route and by adapters that upload the file instead of linking it.
 */
export async function resolveExportLink(
  em: EntityManager,
  links: RenderLinks,
  path: string,
  query: URLSearchParams,
  now: Date,
): Promise<{ ok: true; ref: ExportRef } | { ok: false; check: Exclude<LinkCheck, 'ok'> }> {
  const m = exportPath.exec(path);
  const orderId = m ? decodeURIComponent(m[1]!) : '';
  const format = exportFormats.find((f) => f === m?.[2]);
  const order = format && z.uuid().safeParse(orderId).success ? await findOrderRef(em, orderId) : undefined;
  if (!order || !format) return { ok: false, check: 'bad_signature' };
  const check = links.verifyExport(
    order.tenant,
    orderId,
    format,
    query.get('exp') ?? undefined,
    query.get('sig') ?? undefined,
    now,
  );
  if (check !== 'ok') return { ok: false, check };
  return { ok: true, ref: { tenantId: order.tenant, orderId, orderNumber: order.orderNumber, format } };
}

/** `resolveExportLink` for a whole URL (absolute with PUBLIC_URL, else a path). */
export function resolveExportUrl(em: EntityManager, links: RenderLinks, url: string, now: Date) {
  const u = new URL(url, 'http://renderbot.invalid');
  return resolveExportLink(em, links, u.pathname, u.searchParams, now);
}
