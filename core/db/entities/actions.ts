import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ChatSession } from './chat.ts';
import { Tenant } from './tenancy.ts';

/** Lifecycle of a pending write action (docs/design.md §6). */
export const actionStatuses = ['pending', 'executing', 'done', 'failed', 'cancelled', 'expired'] as const;

/** A plan of write tool calls awaiting confirmation, and what became of it (docs/design.md §6). */
export const PendingAction = defineEntity({
  name: 'PendingAction',
  tableName: 'pending_action',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    session: p.manyToOne(ChatSession).deleteRule('cascade'),
    requestedBy: p.text(),
    /** Checked by core/actions/plan.ts `storedActionSchema` when read, like `preview` and `result`. */
    plan: p.json<unknown>(),
    preview: p.json<unknown>(),
    status: p.enum(actionStatuses),
    expiresAt: p.datetime(),
    decidedBy: p.text().nullable(),
    decidedByName: p.text().nullable(),
    decidedAt: p.datetime().nullable(),
    result: p.json<unknown>().nullable(),
    /** Where the plan was asked: its follow-up and its orders' notices go there. */
    origin: p.json<unknown>().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    {
      name: 'pending_action_session_idx',
      columns: [{ name: 'tenant_id' }, { name: 'session_id' }, { name: 'created_at', sort: 'desc' }],
    },
  ],
});
export type PendingAction = InferEntity<typeof PendingAction>;

/**
 * The product ids of an "all products of X" selection, frozen when a confirmation is prepared
 * and attached to one step of its action (`action` and `step` are null until then; a step has at
 * most one selection).
 */
export const ProductSelection = defineEntity({
  name: 'ProductSelection',
  tableName: 'product_selection',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    action: p.manyToOne(PendingAction).nullable().deleteRule('cascade'),
    /** The position of the step in its action's plan (0-based). */
    step: p.integer().nullable(),
    ids: p.array().columnType('uuid[]'),
    /** Per-product materials aligned with `ids` (null: the product's own); null when the source named none. */
    materialIds: p.array().columnType('uuid[]').nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  uniques: [{ name: 'product_selection_action_step_key', properties: ['action', 'step'] }],
  checks: [{ name: 'product_selection_step_check', expression: '(action_id is null) = (step is null)' }],
  indexes: [{ name: 'product_selection_loose_idx', properties: ['createdAt'], where: 'action_id is null' }],
});
export type ProductSelection = InferEntity<typeof ProductSelection>;

/** Who decided what, when, with which outcome. */
export const AuditLog = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('number').primary().autoincrement().generated('identity'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    actor: p.text(),
    action: p.text(),
    target: p.text().nullable(),
    outcome: p.text(),
    detail: p.json<unknown>().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    { name: 'audit_log_tenant_created_idx', columns: [{ name: 'tenant_id' }, { name: 'created_at', sort: 'desc' }] },
  ],
});
export type AuditLog = InferEntity<typeof AuditLog>;
