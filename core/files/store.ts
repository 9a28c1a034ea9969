import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { countRow, row, timestamp } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import type { FileKind } from './sniff.ts';
import { fileSummarySchema, type FileSummary, type ParsedFile } from './summary.ts';

/*
 * `uploaded_file` is written only here (docs/ARCHITECTURE.md, "Tables and their writers").
 * Every read is by (tenant, id) and skips expired rows, so another tenant's id reads as unknown.
 */

/** Who uploaded a file, from which platform. */
export type Uploader = { tenantId: string; platform: string; userId: string };

const idRow = z.object({ id: z.string() });
const fileRow = z.object({ id: z.string(), name: z.string(), summary: fileSummarySchema });
const contentRow = z.object({ name: z.string(), content: z.instanceof(Uint8Array), expires_at: timestamp });

/** Stores a parsed upload with its bytes, kept until `expiresAt`; the new file's id. */
export async function storeFile(
  em: EntityManager,
  who: Uploader,
  file: { name: string; kind: FileKind; bytes: Uint8Array; parsed: ParsedFile; expiresAt: Date },
): Promise<string> {
  const r = await row(
    em,
    idRow,
    `insert into uploaded_file (tenant_id, platform, uploaded_by, name, kind, size_bytes, content, summary, pim_ids, materials, expires_at)
     select ?, ?, ?, ?, ?, ?, ?, ?::jsonb, array(select jsonb_array_elements_text(?::jsonb)),
            case when ?::jsonb is null then null else array(select jsonb_array_elements_text(?::jsonb)) end, ? returning id`,
    [
      who.tenantId,
      who.platform,
      who.userId,
      file.name,
      file.kind,
      file.bytes.byteLength,
      Buffer.from(file.bytes),
      JSON.stringify(file.parsed.summary),
      JSON.stringify(file.parsed.pimIds),
      file.parsed.materials ? JSON.stringify(file.parsed.materials) : null,
      file.parsed.materials ? JSON.stringify(file.parsed.materials) : null,
      file.expiresAt,
    ],
  );
  if (!r) throw new Error('uploaded_file insert returned nothing');
  return r.id;
}

const fileNotFound = () =>
  new UserInputError('file_not_found', 'That file was not found (files are kept for a limited time); send it again.');

/** A file of tenant `tenantId` that has not expired: its id, name and summary; else UserInputError 'file_not_found'. */
export async function findFile(
  em: EntityManager,
  tenantId: string,
  fileId: string,
): Promise<{ id: string; name: string; summary: FileSummary }> {
  const found = z.uuid().safeParse(fileId).success
    ? await row(
        em,
        fileRow,
        `select id, name, summary from uploaded_file where id = ? and tenant_id = ? and expires_at > now()`,
        [fileId, tenantId],
      )
    : undefined;
  if (!found) throw fileNotFound();
  return found;
}

/** Like `findFile`, for reading the file again: its name, bytes and expiry. */
export async function findFileContent(
  em: EntityManager,
  tenantId: string,
  fileId: string,
): Promise<{ name: string; content: Uint8Array; expiresAt: Date }> {
  const found = z.uuid().safeParse(fileId).success
    ? await row(
        em,
        contentRow,
        `select name, content, expires_at from uploaded_file where id = ? and tenant_id = ? and expires_at > now()`,
        [fileId, tenantId],
      )
    : undefined;
  if (!found) throw fileNotFound();
  return { name: found.name, content: found.content, expiresAt: found.expires_at };
}

/**
 * SQL selecting file `fileId`'s distinct product ids as column `pim_id`,
 * their position `n` and the material named for each (`material`, '' for none), for set-based
 * inserts (core/pipeline/selections.ts `freezePimIds`).
 */
export function filePimIds(tenantId: string, fileId: string): RawBuilder<unknown> {
  return sql`select x.pim_id, x.n, coalesce(f.materials[x.n], '') as material from uploaded_file f, unnest(f.pim_ids) with ordinality as x(pim_id, n)
           where f.id = ${fileId} and f.tenant_id = ${tenantId} and f.expires_at > now()`;
}

/** Deletes files past their expiry; how many. */
export async function deleteExpiredFiles(em: EntityManager): Promise<number> {
  const r = await row(
    em,
    countRow,
    `with d as (delete from uploaded_file where expires_at <= now() returning 1) select count(*) as n from d`,
  );
  return r?.n ?? 0;
}
