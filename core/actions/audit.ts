import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';

/** One audit entry: who did what to which target, with which outcome (docs/design.md §6). */
export type AuditEntry = {
  tenantId: string;
  actor: string;
  action: string;
  target?: string;
  outcome: string;
  detail?: Record<string, unknown>;
};

export async function writeAudit(em: EntityManager, e: AuditEntry): Promise<void> {
  await db(em)
    .insertInto('audit_log')
    .values({
      tenant: e.tenantId,
      actor: e.actor,
      action: e.action,
      target: e.target ?? null,
      outcome: e.outcome,
      detail: e.detail ?? null,
    })
    .execute();
}
