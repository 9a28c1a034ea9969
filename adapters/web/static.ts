import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { WebRouteDeps, WebRoute } from './route-deps.ts';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * The panel's Content-Security-Policy: scripts and styles only from this server (no inline
 * script, no eval), API calls to this server only, images also over https (render previews),
 * framing only by the configured embed origins.
 */
function panelCsp(allowedOrigins: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${allowedOrigins.length ? allowedOrigins.join(' ') : "'none'"}`,
  ].join('; ');
}

/**
 * `GET /chat` (the panel page) and `/chat/<file>` for every file of the built panel
 * (`npm run build:panel`), read once at startup. Without a build, /chat explains how to make one.
 */
export function panelRoutes(ctx: WebRouteDeps): WebRoute[] {
  const dir = ctx.settings.panelDir;
  const csp = panelCsp(ctx.settings.allowedOrigins);
  const security = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (!existsSync(join(dir, 'index.html'))) {
    return [
      {
        method: 'GET',
        path: '/chat',
        handle: async (_req, res) => {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('The chat panel is not built. Run: npm run build:panel');
        },
      },
    ];
  }
  const routes: WebRoute[] = [];
  for (const name of readdirSync(dir)) {
    if (!types[extname(name)] || name.endsWith('.map')) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const path = name === 'index.html' ? '/chat' : `/chat/${name}`;
    routes.push({
      method: 'GET',
      path,
      handle: async (req, res) => {
        // Assets of embeds are fetched cross-origin (module scripts use CORS).
        const headers = {
          'content-type': types[extname(name)]!,
          'cache-control': 'no-cache',
          etag,
          ...security,
          ...ctx.cors(req),
        };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, headers);
        res.end(body);
      },
    });
  }
  return routes;
}
