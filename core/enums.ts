/*
 * The value lists of the schema's enum-like text columns. The entities declare their columns
 * with them; the domain modules (core/tenancy/roles.ts, core/pipeline/statuses.ts) re-export
 * them with their schemas and rules, so the database layer depends on nothing above it.
 */

/** Roles in increasing power: viewer (read tools), operator (confirms writes), admin (links, AI, usage). */
export const roles = ['viewer', 'operator', 'admin'] as const;

/**
 * Where a person's role comes from: `default` — derived from the platform (members operators;
 * guests and people from another workspace viewers) and derived again whenever the platform's
 * answer is refreshed; `admin` — set by an admin (`admin user role`, web tokens and login links), kept.
 */
export const roleSources = ['default', 'admin'] as const;

/** Channels a person can talk through. */
export const platforms = ['slack', 'teams', 'web', 'cli'] as const;

/** Platforms whose workspaces are linked to tenants. */
export const linkPlatforms = ['slack', 'teams'] as const;

/** Order lifecycle: draft → submitted → rendering → completed | failed, or cancelled. */
export const orderStatuses = ['draft', 'submitted', 'rendering', 'completed', 'failed', 'cancelled'] as const;

/** Render job lifecycle. */
export const jobStatuses = ['queued', 'running', 'completed', 'failed'] as const;
