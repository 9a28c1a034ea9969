import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { sendJson, type HttpRequest } from '../adapters/http.ts';
import { handleFarmCallback, signatureHeader, timestampHeader } from '../core/renders/farm.ts';
import { localRenderPath, renderContentTypes } from '../core/renders/local.ts';
import { getRenderResults } from '../core/renders/results.ts';
import { findCompletedRender, findOrderTenant } from '../core/renders/files.ts';
import { ensureThumbnail } from '../core/renders/thumbnails.ts';
import { exportFormats, type ExportFormat, type LinkCheck } from '../core/renders/signing.ts';
import { writeExport } from '../core/exports/files.ts';
import { exportFileName, resolveExportLink } from '../core/exports/links.ts';
import { resultsPage, resultsPageHeaders } from './results-page.ts';
import type { App } from './app.ts';
import type { Route } from './server.ts';

/** Most items the results page shows. */
const maxResultsPageItems = 1000;

/** Largest farm callback body accepted. */
const maxCallbackBytes = 64 * 1024;

/**
 * HTTP routes of the render pipeline: `GET /renders/:id` serves a locally rendered file behind
 * an expiring signed link (403 bad or expired signature, 404 unknown), `GET
 * /orders/:id/results` the signed page with all results of an order, `GET /renders/:id/thumb` a
 * small cached WebP of a local render, `GET /orders/:id/export.csv|zip` the order's results as a
 * streamed file (links signed for the order's tenant, 24 h), and
 * `POST /render/callback` takes signed render-farm callbacks (docs/render-farm.md).
 */
export function renderRoutes(app: App): Route[] {
  return [
    {
      method: 'GET',
      path: '/renders/:id',
      handle: async (req, res) => {
        const id = req.params.id ?? '';
        const q = new URLSearchParams(req.getQuery());
        const check = app.renderLinks.verify(id, q.get('exp') ?? undefined, q.get('sig') ?? undefined);
        if (check !== 'ok') return refuse(res, check);
        const job = z.uuid().safeParse(id).success ? await findCompletedRender(app.db.orm.em.fork(), id) : undefined;
        const file = job ? localRenderPath(app.config.dataDir, job.tenant, id, job.format) : undefined;
        const size = file
          ? await stat(file).then(
              (s) => s.size,
              () => undefined,
            )
          : undefined;
        if (!job || !file || size === undefined)
          return sendJson(res, 404, { error: { code: 'not_found', message: 'No such render.' } });
        res.writeHead(200, {
          'content-type': renderContentTypes[job.format],
          'content-length': String(size),
          'cache-control': 'private, max-age=3600',
        });
        await new Promise<void>((resolve, reject) =>
          createReadStream(file).on('error', reject).pipe(res).on('finish', resolve),
        );
      },
    },
    {
      method: 'GET',
      path: '/orders/:id/results',
      handle: async (req, res) => {
        const id = req.params.id ?? '';
        const q = new URLSearchParams(req.getQuery());
        const check = app.renderLinks.verifyResults(id, q.get('exp') ?? undefined, q.get('sig') ?? undefined);
        if (check !== 'ok') return refuse(res, check);
        const em = app.db.orm.em.fork();
        const tenant = z.uuid().safeParse(id).success ? await findOrderTenant(em, id) : undefined;
        if (!tenant) return sendJson(res, 404, { error: { code: 'not_found', message: 'No such order.' } });
        const results = await getRenderResults(em, tenant, id, app.renderLinks, app.now(), maxResultsPageItems);
        const html = resultsPage(results);
        res.writeHead(200, {
          ...resultsPageHeaders,
          'content-length': String(Buffer.byteLength(html)),
          'cache-control': 'private, no-store',
        });
        res.end(html);
      },
    },
    {
      method: 'GET',
      path: '/renders/:id/thumb',
      handle: async (req, res) => {
        const id = req.params.id ?? '';
        const q = new URLSearchParams(req.getQuery());
        const job = z.uuid().safeParse(id).success ? await findCompletedRender(app.db.orm.em.fork(), id) : undefined;
        // Unknown jobs are refused like bad signatures: a link never tells whether a job exists.
        const check = job
          ? app.renderLinks.verifyThumb(job.tenant, id, q.get('exp') ?? undefined, q.get('sig') ?? undefined)
          : 'bad_signature';
        if (check !== 'ok') return refuse(res, check);
        const file = await ensureThumbnail(app.config.dataDir, job!.tenant, id, job!.format);
        const size = file
          ? await stat(file).then(
              (s) => s.size,
              () => undefined,
            )
          : undefined;
        if (!file || size === undefined)
          return sendJson(res, 404, { error: { code: 'not_found', message: 'No such render.' } });
        res.writeHead(200, {
          'content-type': 'image/webp',
          'content-length': String(size),
          'cache-control': 'private, max-age=86400',
        });
        await new Promise<void>((resolve, reject) =>
          createReadStream(file).on('error', reject).pipe(res).on('finish', resolve),
        );
      },
    },
    ...exportFormats.map((format): Route => ({
      method: 'GET',
      path: `/orders/:id/export.${format}`,
      handle: async (req, res) => {
        const em = app.db.orm.em.fork();
        const link = await resolveExportLink(
          em,
          app.renderLinks,
          req.getPath(),
          new URLSearchParams(req.getQuery()),
          app.now(),
        );
        if (!link.ok) return refuse(res, link.check);
        const { ref } = link;
        res.writeHead(200, {
          'content-type': exportContentTypes[format],
          'content-disposition': `attachment; filename="${exportFileName(ref.orderNumber, format)}"`,
          'cache-control': 'private, no-store',
          'x-content-type-options': 'nosniff',
        });
        // Streamed from the database and the files as the client reads; no transaction is open meanwhile.
        try {
          await writeExport(em, app.config.dataDir, app.renderLinks, ref, app.now(), res);
          res.end();
        } catch (err) {
          // Headers are gone: a cut-off body is all a client can be told (the file is incomplete, never wrong).
          app.log.warn({ err, orderId: ref.orderId, format }, 'export cut off');
          res.destroy();
        }
      },
    })),
    {
      method: 'POST',
      path: '/render/callback',
      body: { kind: 'raw', maxBytes: maxCallbackBytes },
      handle: async (req, res) => {
        // The signature covers the body as sent.
        const response = await handleFarmCallback(
          app.db.orm.em.fork(),
          app.config.secretsKey,
          req.rawBody?.toString('utf8') ?? '',
          {
            signature: header(req, signatureHeader),
            timestamp: header(req, timestampHeader),
          },
          app.onOrderStatus,
          app.now(),
        );
        sendJson(res, response.status, response.body);
      },
    },
  ];
}

const exportContentTypes: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', zip: 'application/zip' };

/** A signed link that did not verify: 403 saying whether it expired or was tampered with. */
function refuse(res: Parameters<Route['handle']>[1], check: Exclude<LinkCheck, 'ok'>): void {
  sendJson(res, 403, {
    error: {
      code: check,
      message:
        check === 'expired' ? 'This link has expired; ask RenderBot for a fresh one.' : 'Invalid link signature.',
    },
  });
}

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
