import type { Logger } from 'pino';
import type { Task } from 'graphile-worker';
import type { TurnScope } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import { appendMessage } from '../history/messages.ts';
import { MAX_NAME_CHARS } from './limits.ts';
import { parseUpload } from './parse.ts';
import { deleteExpiredFiles, findFile, findFileContent, storeFile, type Uploader } from './store.ts';
import { describeFile, type FileSummary } from './summary.ts';
import { withoutControlCharacters } from '../control-characters.ts';

/** The cron task that deletes files past FILE_RETENTION_DAYS. */
export const DELETE_EXPIRED_FILES_TASK = 'delete_expired_files';

/** A stored upload: its id, summary and the summary in one line. */
export type StoredUpload = { fileId: string; summary: FileSummary; text: string };

/** Uploaded files (docs/design.md §12): what adapters hand bytes to, and what turns attach. */
export type Files = ReturnType<typeof createFiles>;

/** A file name as kept: its last path segment, control characters removed, cut at MAX_NAME_CHARS. */
function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = withoutControlCharacters(base).trim().slice(0, MAX_NAME_CHARS);
  return clean || 'file';
}

/**
 * Parses, matches and stores `bytes` as a new file of `who` kept until `expiresAt` (one sheet of
 * a workbook: the first, or `sheet`). The one path every stored file takes: same limits, detection,
 * matching and refusals (UserInputError with one sentence, nothing stored).
 */
async function parseAndStore(
  em: EntityManager,
  who: Uploader,
  file: { name: string; bytes: Uint8Array; expiresAt: Date; sheet?: string },
): Promise<StoredUpload> {
  const parsed = await parseUpload(em, who.tenantId, file.name, file.bytes, file.sheet);
  const fileId = await storeFile(em, who, {
    name: file.name,
    kind: parsed.summary.kind,
    bytes: file.bytes,
    parsed,
    expiresAt: file.expiresAt,
  });
  return { fileId, summary: parsed.summary, text: describeFile(parsed.summary) };
}

/**
 * Reads sheet `sheet` of stored file `fileId` (of `who`'s tenant, not expired; else the same
 * 'file_not_found' as everywhere) and stores it as a new file, kept as long as the workbook it
 * came from. An unknown sheet name → one sentence listing the workbook's sheets.
 */
export async function readFileSheet(
  em: EntityManager,
  who: Uploader,
  fileId: string,
  sheet: string,
): Promise<StoredUpload> {
  const file = await findFileContent(em, who.tenantId, fileId);
  return parseAndStore(em, who, { name: file.name, bytes: file.content, expiresAt: file.expiresAt, sheet });
}

/** For a workbook of several sheets: how the model reads another one. */
const otherSheetsHint = (s: FileSummary) =>
  (s.sheets?.length ?? 0) > 1
    ? ' If the user names another of its sheets, call read_file_sheet with this file id and that sheet.'
    : '';

export function createFiles(deps: { em: () => EntityManager; log: Logger; now: () => Date; retentionDays: number }) {
  const log = deps.log.child({ component: 'files' });

  /**
   * Parses, matches and stores a file `who` uploaded. A bad file throws UserInputError with one
   * sentence (nothing stored). The bytes must already be capped by the adapter (MAX_FILE_BYTES).
   */
  async function upload(who: Uploader, rawName: string, bytes: Uint8Array): Promise<StoredUpload> {
    const name = cleanName(rawName);
    const expiresAt = new Date(deps.now().getTime() + deps.retentionDays * 86_400_000);
    const stored = await parseAndStore(deps.em(), who, { name, bytes, expiresAt });
    const { rows, ids } = stored.summary;
    log.info({ tenantId: who.tenantId, fileId: stored.fileId, rows, ids }, 'file stored');
    return stored;
  }

  /**
   * Notes files of the turn's tenant in its session's history (a stored note, which reaches the
   * model as a delimited data message), on `em` (the caller's transaction). A file of another
   * tenant, unknown or expired → UserInputError 'file_not_found' before anything is written.
   */
  async function attach(em: EntityManager, turn: TurnScope, fileIds: readonly string[]): Promise<void> {
    const files = [];
    for (const id of fileIds) files.push(await findFile(em, turn.tenantId, id));
    for (const f of files) {
      await appendMessage(em, {
        tenantId: turn.tenantId,
        sessionId: turn.sessionId,
        role: 'system',
        content: `The user attached a file (file id ${f.id}). ${describeFile(f.summary)}. To order its products call create_order with product_file "${f.id}".${otherSheetsHint(f.summary)}`,
      });
    }
  }

  const tasks: Record<string, Task> = {
    [DELETE_EXPIRED_FILES_TASK]: async () => {
      const n = await deleteExpiredFiles(deps.em());
      if (n) log.info({ deleted: n }, 'deleted expired files');
    },
  };

  return { upload, attach, tasks };
}
