import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';

/** A file uploaded in chat and what parsing found in it (core/files/, docs/design.md §12). */
export const UploadedFile = defineEntity({
  name: 'UploadedFile',
  tableName: 'uploaded_file',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    platform: p.text(),
    uploadedBy: p.text(),
    name: p.text(),
    kind: p.text().check(`kind in ('csv', 'xlsx')`),
    sizeBytes: p.integer().check('size_bytes >= 0 and size_bytes <= 20971520'),
    content: p.blob().columnType('bytea').lazy(),
    summary: p.json<Record<string, unknown>>(),
    /** The file's distinct product ids, in file order. */
    pimIds: p.array().columnType('text[]'),
    /** The material named for each of `pimIds` ('' for none); null when the file has no material column. */
    materials: p.array().columnType('text[]').nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime(),
  },
  indexes: [
    {
      name: 'uploaded_file_tenant_created_idx',
      columns: [{ name: 'tenant_id' }, { name: 'created_at', sort: 'desc' }],
    },
    { name: 'uploaded_file_expires_idx', properties: ['expiresAt'] },
  ],
});
export type UploadedFile = InferEntity<typeof UploadedFile>;
