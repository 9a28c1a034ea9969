import { open, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserInputError } from '../core/errors.ts';
import { MAX_FILE_BYTES, maxFileWords } from '../core/files/limits.ts';
import type { Readable, Writable } from 'node:stream';
import type { Deliverer, Streamer } from '../core/replies/delivery.ts';
import { pendingItems } from '../core/queue/session-inbox.ts';
import { isStopRequest } from '../core/commands/grammar.ts';
import { getTenantBySlug } from '../core/tenancy/tenants.ts';
import { ensureUser } from '../core/tenancy/users.ts';
import type { Reply } from '../core/replies/reply.ts';
import { renderSuggestions, renderText } from '../core/replies/text.ts';
import { stepText, type TurnStep } from '../core/replies/steps.ts';
import type { App } from './app.ts';
import { withoutControlCharacters } from '../core/control-characters.ts';

export type ChatOptions = {
  tenant: string;
  user: string;
  session: string;
  input: Readable;
  output: Writable;
  interactive: boolean;
  /** Where Ctrl-C arrives (`SIGINT`); default the process. */
  interrupts?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
};

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
 * Ctrl-C while a turn runs stops it (docs/design.md §12: "Stopped by …" is printed where the
 * answer would have been); a second Ctrl-C, or one while nothing runs, quits.
 */
export async function runChat(app: App, opts: ChatOptions): Promise<void> {
  const em = app.db.orm.em.fork();
  const tenant = await getTenantBySlug(em, opts.tenant);
  const role = await ensureUser(em, tenant.id, 'cli', opts.user, 'operator');
  const key = chatThreadKey(opts.user, opts.session);
  const write = (text: string) => opts.output.write(text.endsWith('\n') ? text : `${text}\n`);
  // The model's text is printed as it is written; the final reply then adds what was not streamed (tables, cards).
  let streamed = '';
  // One line per step, when it ends; after text the model wrote before calling its tools, on a line of its own.
  const step = (s: TurnStep) => {
    if (s.state === 'running') return;
    if (streamed && !streamed.endsWith('\n')) opts.output.write('\n');
    streamed = '';
    write(withoutControlCharacters(stepText(s)));
  };
  const streamer: Streamer = () => ({
    push: (delta) => {
      streamed += delta;
      opts.output.write(delta);
    },
    step,
    end: async () => undefined,
  });
  // The next steps last shown: typing one's number sends it.
  let offered: readonly string[] = [];
  const offer = (suggestions: readonly string[] | undefined) => {
    offered = suggestions ?? [];
    if (offered.length) write(`${renderSuggestions(offered)}\n`);
  };
  const deliverer: Deliverer = async (_target, received) => {
    if (streamed) opts.output.write('\n');
    const reply = await filesWritten(app, tenant.id, received);
    const rest = streamed ? withoutStreamedText(reply, streamed) : reply;
    streamed = '';
    if (rest.blocks.length) write(`${renderText(rest)}\n`);
    offer(reply.suggestions);
    return undefined;
  };
  app.deliverers.set('cli', deliverer);
  app.streamers.set('cli', streamer);
  await app.start();
  try {
    if (opts.interactive) {
      write(`RenderBot — tenant ${tenant.name} (${tenant.slug}), you are ${opts.user} (${role}).`);
      write(
        tenant.aiProvider
          ? 'Ask in plain words, or type "help". Ctrl-D quits.'
          : 'AI is not configured for this tenant; the commands work — type "help". Ctrl-D quits.',
      );
      offer(await app.conversations.starters(tenant.id, role));
    }
    const rl = createInterface({ input: opts.input, terminal: false });
    const interrupts = opts.interrupts ?? process;
    let running: string | undefined;
    let stopping = false;
    const onInterrupt = () => {
      if (!running || stopping) {
        interrupts.off('SIGINT', onInterrupt);
        rl.close();
        // Quit now, as a terminal program does on Ctrl-C; a turn still running is left to its lease.
        if (interrupts === process) process.exit(130);
        return;
      }
      stopping = true;
      write('\nStopping… (Ctrl-C again quits)');
      app.conversations
        .stop({ tenantId: tenant.id, userId: opts.user, role, platform: 'cli', name: opts.user }, running)
        .catch((err: unknown) => write(`Could not stop: ${err instanceof Error ? err.message : String(err)}`));
    };
    interrupts.on('SIGINT', onInterrupt);
    // Files attached with `attach <path>`, carried by the next message.
    let attached: string[] = [];
    const prompt = () => opts.interactive && opts.output.write('you> ');
    prompt();
    for await (const raw of rl) {
      const typed = raw.trim();
      const line = pick(typed, offered);
      if (!line || line.startsWith('#')) {
        prompt();
        continue;
      }
      if (line === 'exit' || line === 'quit') break;
      // Re-resolved per line, so "new" and "forget" take effect on the next message.
      const sessionId = await app.intake.sessionFor({ tenantId: tenant.id, platform: 'cli', key }, opts.user, {
        create: true,
      });
      const turn = { tenantId: tenant.id, userId: opts.user, role, sessionId, platform: 'cli' as const };
      if (!opts.interactive || line !== typed) write(`> ${line}`);
      offered = [];
      if (isStopRequest(line)) {
        // Lines run one at a time, so nothing of this terminal runs now; a follow-up may be waiting.
        const outcome = await app.conversations.stop(
          { tenantId: tenant.id, userId: opts.user, role, platform: 'cli', name: opts.user },
          sessionId,
        );
        if (outcome.status !== 'stopping') write(outcome.text);
        await settled(app, sessionId);
        prompt();
        continue;
      }
      const attach = /^attach\s+(.+)$/i.exec(line);
      if (attach) {
        const fileId = await attachFile(
          app,
          { tenantId: tenant.id, platform: 'cli', userId: opts.user },
          attach[1]!.trim(),
          write,
        );
        if (fileId) attached.push(fileId);
        prompt();
        continue;
      }
      await app.conversations.submit({
        turn,
        text: line,
        delivery: { platform: 'cli', target: {} },
        ...(attached.length ? { files: attached } : {}),
      });
      attached = [];
      running = sessionId;
      try {
        await settled(app, sessionId);
      } finally {
        running = undefined;
        stopping = false;
      }
      prompt();
    }
    interrupts.off('SIGINT', onInterrupt);
    rl.close();
  } finally {
    await app.stopTurns();
  }
}

/** The suggestion whose number was typed (1-based), else the line as typed. */
function pick(line: string, offered: readonly string[]): string {
  return /^\d$/.test(line) ? (offered[Number(line) - 1] ?? line) : line;
}

/**
 * `attach <path>`: reads a file from the terminal user's own disk (at most MAX_FILE_BYTES, checked
 * before reading) and hands it to core/files; prints its summary or the sentence why it cannot be
 * used. The file's id, or undefined.
 */
async function attachFile(
  app: App,
  who: { tenantId: string; platform: 'cli'; userId: string },
  path: string,
  write: (text: string) => void,
): Promise<string | undefined> {
  const name = basename(path);
  let bytes: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const { size, isFile } = await file.stat().then((st) => ({ size: st.size, isFile: st.isFile() }));
      if (!isFile) throw new UserInputError('file_not_found', `${path} is not a file.`);
      if (size > MAX_FILE_BYTES)
        throw new UserInputError(
          'file_too_large',
          `${name} is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
        );
      bytes = await file.readFile();
    } finally {
      await file.close();
    }
    const stored = await app.files.upload(who, name, bytes);
    write(`Attached ${stored.text}. Your next message carries it.`);
    return stored.fileId;
  } catch (err) {
    if (err instanceof UserInputError) write(err.message);
    else if (
      err instanceof Error &&
      'code' in err &&
      (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR')
    )
      write(`${path} cannot be read (${err.code === 'ENOENT' ? 'no such file' : 'not permitted'}).`);
    else throw err;
    return undefined;
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
    if (b.type !== 'file' || !file) {
      blocks.push(b);
      continue;
    }
    // The name is the bot's own (order number and format), never a path a person typed.
    const path = join(app.config.dataDir, 'exports', basename(b.name));
    await rename(file.path, path);
    blocks.push({ type: 'text', text: `📎 ${b.name} (${b.description}) written to ${path}` });
  }
  return { ...reply, blocks };
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
