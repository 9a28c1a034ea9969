import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Installation } from '@slack/bolt';
import { escapeHtml, htmlPageHeaders } from '../../core/html.ts';
import type { Logger } from '../../core/logger.ts';

const css = 'body{font-family:sans-serif;max-width:40em;margin:3em auto}';
const headers = htmlPageHeaders(css);
const html = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${css}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
const esc = escapeHtml;

/** The pages after Slack's OAuth redirect: success says how to link the workspace to a tenant. */
export function oauthPages(log: Logger) {
  return {
    success(installation: Installation, _options: unknown, _req: IncomingMessage, res: ServerResponse) {
      log.info({ teamId: installation.team?.id, enterpriseId: installation.enterprise?.id }, 'Slack app installed');
      res.writeHead(200, headers);
      res.end(
        html(
          'RenderBot is installed',
          `<p>RenderBot was added to ${esc(installation.team?.name ?? installation.enterprise?.name ?? 'your workspace')}.</p>
<p>Next, link the workspace to your RenderBot tenant: an admin runs <code>renderbot admin link code --tenant &lt;slug&gt;</code>, then anyone types <code>/render link CODE</code> in Slack.</p>`,
        ),
      );
    },
    failure(error: Error & { code?: string }, _options: unknown, _req: IncomingMessage, res: ServerResponse) {
      log.warn({ err: error, code: error.code }, 'Slack installation failed');
      res.writeHead(400, headers);
      res.end(
        html(
          'Installation failed',
          `<p>Slack did not complete the installation (${esc(error.code ?? 'error')}). Start again from <a href="/slack/install">/slack/install</a>.</p>`,
        ),
      );
    },
  };
}
