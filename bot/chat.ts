import { rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Deliverer, Streamer } from '../core/replies/delivery.ts';
import { pendingItems } from '../core/queue/session-inbox.ts';
import { getTenantBySlug } from '../core/tenancy/tenants.ts';
import { ensureUser } from '../core/tenancy/users.ts';
import type { Reply } from '../core/replies/reply.ts';
import { renderText } from '../core/replies/text.ts';
import type { App } from './app.ts';

export type ChatOptions = { tenant: string; user: string; session: string; input: Readable; output: Writable; interactive: boolean };

/** The terminal thread a person's named conversation lives in; the app drives it (AppOptions.chat). */
export function chatThreadKey(user: string, session: string): string {
  return `cli:${user}:${session}`;
}

/**
 * The terminal chat: one line in, the replies out as readable text. Works interactively and
 * with piped scripts (lines run one after another; the process ends at end of input). Lines go
 * through the session inbox like every platform's messages; this process drives its own
 * thread's session (servers leave terminal sessions alone; `app` is opened with AppOptions.chat
 * for this thread), so a confirmed plan's follow-up is printed here too, before the next prompt.
 */
export async function runChat(app: App, opts: ChatOptions): Promise<void> {
  const em = app.db.orm.em.fork();
  const tenant = await getTenantBySlug(em, opts.tenant);
  const role = await ensureUser(em, tenant.id, 'cli', opts.user, 'operator');
  const key = chatThreadKey(opts.user, opts.session);
  const write = (text: string) => opts.output.write(text.endsWith('\n') ? text : `${text}\n`);
  // The model's text is printed as it is written; the final reply then adds what was not streamed (tables, cards).
  let streamed = '';
  const streamer: Streamer = () => ({ push: (delta) => { streamed += delta; opts.output.write(delta); }, end: async () => undefined });
  const deliverer: Deliverer = async (_target, received) => {
    if (streamed) opts.output.write('\n');
    const reply = await filesWritten(app, tenant.id, received);
    const rest = streamed ? withoutStreamedText(reply, streamed) : reply;
    streamed = '';
    if (rest.blocks.length) write(`${renderText(rest)}\n`);
    return undefined;
  };
  app.deliverers.set('cli', deliverer);
  app.streamers.set('cli', streamer);
  await app.start();
  try {
    if (opts.interactive) {
      write(`RenderBot — tenant ${tenant.name} (${tenant.slug}), you are ${opts.user} (${role}).`);
      write(tenant.aiProvider ? 'Ask in plain words, or type "help". Ctrl-D quits.' : 'AI is not configured for this tenant; the commands work — type "help". Ctrl-D quits.');
    }
    const rl = createInterface({ input: opts.input, terminal: false });
    const prompt = () => opts.interactive && opts.output.write('you> ');
    prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) { prompt(); continue; }
      if (line === 'exit' || line === 'quit') break;
      // Re-resolved per line, so "new" and "forget" take effect on the next message.
      const sessionId = await app.intake.sessionFor({ tenantId: tenant.id, platform: 'cli', key }, opts.user, { create: true });
      const turn = { tenantId: tenant.id, userId: opts.user, role, sessionId, platform: 'cli' as const };
      if (!opts.interactive) write(`> ${line}`);
      await app.conversations.submit({ turn, text: line, delivery: { platform: 'cli', target: {} } });
      await settled(app, sessionId);
      prompt();
    }
    rl.close();
  } finally {
    await app.stopTurns();
  }
}

/**
 * The terminal gets files as local files: each file block's export is written to
 * DATA_DIR/exports/<file name> (replacing an earlier one of that name) and the block becomes a line
 * naming the path. A link that does not resolve stays a link.
 */
async function filesWritten(app: App, tenantId: string, reply: Reply): Promise<Reply> {
  if (!reply.blocks.some((b) => b.type === 'file')) return reply;
  const blocks: Reply['blocks'] = [];
  for (const b of reply.blocks) {
    const file = b.type === 'file' ? await app.exportFile(tenantId, b.url).catch(() => undefined) : undefined;
    if (b.type !== 'file' || !file) { blocks.push(b); continue; }
    // The name is the bot's own (order number and format), never a path a person typed.
    const path = join(app.config.dataDir, 'exports', basename(b.name));
    await rename(file.path, path);
    blocks.push({ type: 'text', text: `📎 ${b.name} (${b.description}) written to ${path}` });
  }
  return { blocks };
}

/** Resolves once the session's inbox is empty: the line's answer and whatever it queued (a follow-up) were printed. */
async function settled(app: App, sessionId: string): Promise<void> {
  for (;;) {
    const [next] = await pendingItems(app.db.orm.em.fork(), sessionId, 1);
    if (!next) return;
    await app.conversations.result(next.id, { pollMs: 250 });
  }
}

/** The reply without the text blocks that were already printed while streaming. */
function withoutStreamedText(reply: Reply, streamed: string): Reply {
  return { blocks: reply.blocks.filter((b) => b.type !== 'text' || !streamed.trimEnd().endsWith(b.text.trim())) };
}
