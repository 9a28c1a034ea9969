import { z } from 'zod';
import { UserInputError } from '../../core/errors.ts';
import { MAX_FILE_BYTES, maxFileWords } from '../../core/files/limits.ts';
import type { TeamsActivity } from './activity.ts';

/** The attachment a file sent to the bot in a personal chat arrives as (supportsFiles). */
export const FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';
/** Files of one message RenderBot reads. */
const MAX_FILES = 5;
const DOWNLOAD_TIMEOUT_MS = 30_000;

/** What a channel or group chat is told when someone shares a file there: the bytes never reach a bot. */
export const CHANNEL_FILE_TEXT =
  'I can only read files sent to me in a personal chat. Open a chat with me and attach the CSV or XLSX there, or upload it in the web panel.';

const downloadInfoSchema = z.object({
  contentType: z.literal(FILE_DOWNLOAD_INFO),
  name: z.string().nullish(),
  content: z.object({ downloadUrl: z.string(), fileType: z.string().nullish() }),
});

/** A file of a personal-chat message: its name and the short-lived URL its bytes are at. */
export type TeamsFile = { name: string; downloadUrl: string };

/** The files of a message (download info attachments), at most MAX_FILES. */
export function teamsFiles(a: TeamsActivity): TeamsFile[] {
  return (a.attachments ?? [])
    .flatMap((att) => {
      const p = downloadInfoSchema.safeParse(att);
      return p.success ? [{ name: p.data.name || 'the file', downloadUrl: p.data.content.downloadUrl }] : [];
    })
    .slice(0, MAX_FILES);
}

/** Whether a message shares a file in any form (download info, or a file reference as channels send it). */
export function sharesFile(a: TeamsActivity): boolean {
  return (a.attachments ?? []).some(
    (att) =>
      att.contentType === FILE_DOWNLOAD_INFO ||
      att.contentType === 'reference' ||
      att.contentType === 'application/vnd.microsoft.teams.file.info',
  );
}

const cannotRead = (name: string) =>
  new UserInputError(
    'file_download',
    `I could not download ${name} from Teams; send it again, or upload it in the web panel.`,
  );
const tooLarge = (name: string) =>
  new UserInputError(
    'file_too_large',
    `${name} is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
  );

/**
 * Downloads a personal-chat file from its pre-authorised `downloadUrl` (no credentials are sent),
 * reading at most MAX_FILE_BYTES.
 */
export async function downloadTeamsFile(file: TeamsFile): Promise<Uint8Array> {
  let url: URL;
  try {
    url = new URL(file.downloadUrl);
  } catch {
    throw cannotRead(file.name);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw cannotRead(file.name);
  const res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) }).catch(() => {
    throw cannotRead(file.name);
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw cannotRead(file.name);
  }
  if (Number(res.headers.get('content-length') ?? 0) > MAX_FILE_BYTES) {
    await res.body?.cancel();
    throw tooLarge(file.name);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_FILE_BYTES) throw tooLarge(file.name);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
