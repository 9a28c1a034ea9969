import type { EntityManager } from '../db/orm.ts';

/** One audit entry: who did what to which target, with which outcome (DESIGN §6). */
export type AuditEntry = { tenantId: string; actor: string; action: string; target?: string; outcome: string; detail?: Record<string, unknown> };

export async function writeAudit(em: EntityManager, e: AuditEntry): Promise<void> {
  await em.execute(`insert into audit_log (tenant_id, actor, action, target, outcome, detail) values (?, ?, ?, ?, ?, ?::jsonb)`,
    [e.tenantId, e.actor, e.action, e.target ?? null, e.outcome, e.detail ? JSON.stringify(e.detail) : null]);
}
