import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { webApi } from '@slack/bolt';
import type { FileExporter } from '../../core/exports/files.ts';
import type { Logger } from '../../core/logger.ts';
import type { FileBlock, Reply, ReplyBlock } from '../../core/replies/reply.ts';
import type { SlackTarget } from './session.ts';

/**
 * Largest file the bot uploads into a conversation. Slack itself takes files up to 1 GB; a bot
 * upload that large ties up a worker for minutes, so beyond 100 MB the reply keeps the signed
 * 24-hour download link instead.
 */
const SLACK_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

type Deps = { client: webApi.WebClient; exportFile: FileExporter; log: Logger };

/**
 * Uploads the reply's files into the target's conversation (thread) the way files.uploadV2 does —
 * files.getUploadURLExternal, the bytes POSTed to the upload URL (without the token), then
 * files.completeUploadExternal with the channel and thread — and returns the reply with each
 * uploaded file's block turned into a line saying so. Files over the cap, links that do not
 * resolve to an export of the target's tenant, and failed uploads keep their link block.
 */
export async function attachFiles(deps: Deps, token: string, target: SlackTarget, reply: Reply): Promise<Reply> {
  const blocks: ReplyBlock[] = [];
  for (const block of reply.blocks) {
    blocks.push(block.type === 'file' ? await attachFile(deps, token, target, block) : block);
  }
  return { ...reply, blocks };
}

async function attachFile(deps: Deps, token: string, target: SlackTarget, block: FileBlock): Promise<ReplyBlock> {
  const file = await deps.exportFile(target.tenantId, block.url).catch((err: unknown) => {
    deps.log.error({ err, channel: target.channel }, 'could not prepare the file; sharing its link');
    return undefined;
  });
  if (!file) return block;
  try {
    if (file.size > SLACK_UPLOAD_MAX_BYTES) return block;
    const slot = await deps.client.files.getUploadURLExternal({ token, filename: block.name, length: file.size });
    if (!slot.upload_url || !slot.file_id)
      throw new Error('files.getUploadURLExternal answered without upload_url or file_id');
    const res = await fetch(slot.upload_url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.size) },
      body: Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>,
      duplex: 'half',
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`Slack's upload URL answered HTTP ${res.status}`);
    await deps.client.files.completeUploadExternal({
      token,
      files: [{ id: slot.file_id, title: block.name }],
      channel_id: target.channel,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    });
    return { type: 'text', text: `📎 **${block.name}** (${block.description}) is attached to this conversation.` };
  } catch (err) {
    deps.log.error({ err, channel: target.channel }, 'file upload to Slack failed; sharing its link');
    return block;
  } finally {
    await file.remove();
  }
}
