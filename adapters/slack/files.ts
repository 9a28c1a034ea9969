import { z } from 'zod';
import { MAX_FILE_BYTES, maxFileWords } from '../../core/files/limits.ts';
import { UserInputError } from '../../core/errors.ts';

/** Slack's file host: `url_private_download` of a file shared in a workspace points here. */
const SLACK_FILE_HOST = 'files.slack.com';
/** Files of one message RenderBot reads (Slack allows up to 10 per message). */
export const MAX_FILES_PER_MESSAGE = 5;
const DOWNLOAD_TIMEOUT_MS = 30_000;

/** A file of a Slack `message`/`app_mention` event, as far as RenderBot reads it. */
const slackFileSchema = z.object({
  id: z.string(),
  name: z.string().nullish(),
  url_private_download: z.string().nullish(),
});
export type SlackFile = z.infer<typeof slackFileSchema>;

/** The files of an event (`files` of a file_share message); anything unreadable is left out. */
export function eventFiles(event: unknown): SlackFile[] {
  const files = z.object({ files: z.array(z.unknown()) }).safeParse(event);
  if (!files.success) return [];
  return files.data.files.flatMap((f) => {
    const parsed = slackFileSchema.safeParse(f);
    return parsed.success ? [parsed.data] : [];
  });
}

/**
 * The origin (scheme://host[:port]) files may be downloaded from with the bot token: Slack's file
 * host over HTTPS, or — when SLACK_API_URL points elsewhere (a test double, a proxy) — that host.
 */
export function slackFileOrigin(apiUrl?: string): string {
  return apiUrl ? new URL(apiUrl).origin : `https://${SLACK_FILE_HOST}`;
}

const cannotRead = (name: string) =>
  new UserInputError(
    'file_download',
    `I could not download ${name} from Slack; check that RenderBot has the files:read permission, or upload it in the web panel.`,
  );

/**
 * Downloads a shared file with the bot token, only from `origin` (slackFileOrigin): a URL on any
 * other host is refused before a request is made, and redirects are not followed (the token would
 * travel with them). Slack answers a request without a valid token with a sign-in page or a
 * redirect, never the file, so both are refusals. At most MAX_FILE_BYTES are read.
 */
export async function downloadSlackFile(
  file: SlackFile,
  token: string,
  origin: string,
): Promise<{ name: string; bytes: Uint8Array }> {
  const name = file.name || 'the file';
  let url: URL;
  try {
    url = new URL(file.url_private_download ?? '');
  } catch {
    throw cannotRead(name);
  }
  if (url.origin !== origin) throw cannotRead(name);
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    redirect: 'manual',
    signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
  }).catch(() => {
    throw cannotRead(name);
  });
  if (res.status !== 200 || (res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) {
    await res.body?.cancel();
    throw cannotRead(name);
  }
  if (Number(res.headers.get('content-length') ?? 0) > MAX_FILE_BYTES) {
    await res.body?.cancel();
    throw new UserInputError(
      'file_too_large',
      `${name} is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_FILE_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw new UserInputError(
        'file_too_large',
        `${name} is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
      );
    }
    chunks.push(chunk);
  }
  return { name, bytes: Buffer.concat(chunks) };
}
