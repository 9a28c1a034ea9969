import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FileExporter } from '../../core/exports/files.ts';
import type { Logger } from '../../core/logger.ts';
import type { FileBlock, Reply, ReplyBlock } from '../../core/replies/reply.ts';
import type { OutgoingMessage } from './activity.ts';
import { textMessage } from './texts.ts';

/**
 * Largest file offered through the file consent card: the accepted file goes up in one PUT to the
 * user's OneDrive upload session, whose fragments must stay under 60 MiB. Larger files keep their
 * signed 24-hour download link.
 */
const TEAMS_UPLOAD_MAX_BYTES = 50 * 1024 * 1024;

/** Longest a file's PUT to OneDrive may take (50 MB at well under 1 MB/s). */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;

const FILE_CONSENT_CONTENT_TYPE = 'application/vnd.microsoft.teams.card.file.consent';
const FILE_INFO_CONTENT_TYPE = 'application/vnd.microsoft.teams.card.file.info';

/** What a consent card carries back to the bot on accept or decline: the signed export link. */
const consentContext = z.object({ url: z.string().min(1), name: z.string().min(1) });

/** The `value` of a `fileConsent/invoke` activity. */
const fileConsentValue = z.object({
  type: z.literal('fileUpload'),
  action: z.enum(['accept', 'decline']),
  context: consentContext,
  uploadInfo: z
    .object({
      name: z.string(),
      uploadUrl: z.url(),
      contentUrl: z.string(),
      uniqueId: z.string(),
      fileType: z.string(),
    })
    .partial()
    .optional(),
});

/** Whether a stored conversation reference is a personal chat (the only place a bot can send files in Teams). */
export function isPersonalChat(reference: Record<string, unknown>): boolean {
  return z.object({ conversation: z.object({ conversationType: z.literal('personal') }) }).safeParse(reference).success;
}

/**
 * In a personal chat, each file block of `reply` becomes a file consent card (name, description,
 * size) sent after the reply, and a line in the reply pointing at it; files over the cap, or links
 * that do not resolve to an export of the tenant, keep their link. The size comes from making the
 * file once; it is made again when the user accepts (the link may be used later).
 */
export async function consentCards(
  deps: { exportFile: FileExporter; log: Logger },
  tenantId: string,
  reply: Reply,
): Promise<{ reply: Reply; cards: OutgoingMessage[] }> {
  const blocks: ReplyBlock[] = [];
  const cards: OutgoingMessage[] = [];
  for (const block of reply.blocks) {
    if (block.type !== 'file') {
      blocks.push(block);
      continue;
    }
    const size = await sizeOf(deps, tenantId, block);
    if (size === undefined || size > TEAMS_UPLOAD_MAX_BYTES) {
      blocks.push(block);
      continue;
    }
    const context = { url: block.url, name: block.name };
    cards.push({
      type: 'message',
      attachments: [
        {
          contentType: FILE_CONSENT_CONTENT_TYPE,
          name: block.name,
          content: {
            description: block.description,
            sizeInBytes: size,
            acceptContext: context,
            declineContext: context,
          },
        },
      ],
    });
    blocks.push({
      type: 'text',
      text: `📎 **${block.name}** (${block.description}): allow the file below and it is saved to your OneDrive.`,
    });
  }
  return { reply: { ...reply, blocks }, cards };
}

async function sizeOf(
  deps: { exportFile: FileExporter; log: Logger },
  tenantId: string,
  block: FileBlock,
): Promise<number | undefined> {
  try {
    const file = await deps.exportFile(tenantId, block.url);
    if (!file) return undefined;
    await file.remove();
    return file.size;
  } catch (err) {
    deps.log.error({ err }, 'could not prepare the file; sharing its link');
    return undefined;
  }
}

/** A `fileConsent/invoke` answer, read; undefined when the value is not one. */
export type FileConsent = z.infer<typeof fileConsentValue>;

export function readFileConsent(value: unknown): FileConsent | undefined {
  const consent = fileConsentValue.safeParse(value);
  return consent.success ? consent.data : undefined;
}

/**
 * Carries out a file consent answer, after its invoke was answered (adapters/teams/handler.ts):
 * on accept, the export the card's link names — only for the clicker's tenant and only while the
 * link is valid — is made and PUT to the upload URL Teams gave (the user's OneDrive), then a file
 * info card shows it in the chat; on decline, one line. What happened is said in messages; it
 * never throws.
 */
export async function deliverConsentedFile(
  deps: { exportFile: FileExporter; log: Logger },
  consent: FileConsent,
  tenantId: string | undefined,
  send: (message: OutgoingMessage) => Promise<unknown>,
  stopping?: AbortSignal,
): Promise<void> {
  const { action, context, uploadInfo } = consent;
  const tell = (text: string) =>
    send(textMessage(text)).catch((err: unknown) => deps.log.warn({ err }, 'could not say how a file consent ended'));
  if (action === 'decline') {
    await tell(`OK, I did not send ${context.name}.`);
    return;
  }
  const file = tenantId
    ? await deps.exportFile(tenantId, context.url).catch((err: unknown) => {
        deps.log.error({ err }, 'could not make the accepted file');
        return undefined;
      })
    : undefined;
  if (!file || !uploadInfo?.uploadUrl) {
    await tell(
      `I cannot send ${context.name} any more: its link expired or is not for your organisation. Ask me for the export again.`,
    );
    return;
  }
  try {
    const res = await fetch(uploadInfo.uploadUrl, {
      method: 'PUT',
      headers: { 'content-length': String(file.size), 'content-range': `bytes 0-${file.size - 1}/${file.size}` },
      body: Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>,
      duplex: 'half',
      // OneDrive that stops reading must not hold this (or a stopping process) for ever.
      signal: stopping
        ? AbortSignal.any([stopping, AbortSignal.timeout(UPLOAD_TIMEOUT_MS)])
        : AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the upload URL answered HTTP ${res.status}`);
  } catch (err) {
    deps.log.error({ err }, 'file upload to OneDrive failed');
    await tell(`Uploading ${context.name} failed; ask me for the export again to get a download link.`);
    return;
  } finally {
    await file.remove().catch((err: unknown) => deps.log.warn({ err }, 'could not remove the uploaded file'));
  }
  await send({
    type: 'message',
    attachments: [
      {
        contentType: FILE_INFO_CONTENT_TYPE,
        name: uploadInfo.name ?? context.name,
        contentUrl: uploadInfo.contentUrl ?? '',
        content: { uniqueId: uploadInfo.uniqueId ?? '', fileType: uploadInfo.fileType ?? '' },
      },
    ],
  }).catch((err: unknown) => deps.log.warn({ err }, 'could not show the uploaded file'));
}
