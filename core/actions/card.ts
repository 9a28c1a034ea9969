import type { ConfirmBlock, Reply } from '../replies/reply.ts';
import type { ActionRow, Decision } from './plan.ts';

/** The confirm card of an action in its current state (pending, or resolved with who/when/outcome). */
export function confirmBlock(row: ActionRow): ConfirmBlock {
  const decided =
    row.decidedBy && row.decidedAt
      ? ` by ${deciderName(row)} at ${row.decidedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`
      : '';
  const outcomes: Record<ActionRow['status'], string | undefined> = {
    pending: undefined,
    executing: `Running${decided}…`,
    done: `Confirmed${decided}: ${row.result?.outcome ?? 'done'}`,
    failed: `Confirmed${decided}, but it failed: ${row.result?.error ?? 'unknown error'}. Nothing was changed.`,
    cancelled: `Cancelled${decided}. Nothing was changed.`,
    expired: 'Expired without a decision. Nothing was changed — ask again to get a new confirmation.',
  };
  return {
    type: 'confirm',
    actionId: row.id,
    title: row.preview.title,
    steps: row.plan.map((c) => c.step),
    expiresAt: row.expiresAt.toISOString(),
    status: row.status,
    outcome: outcomes[row.status],
  };
}

export function confirmReply(row: ActionRow, text?: string): Reply {
  return { blocks: [...(text ? [{ type: 'text' as const, text }] : []), confirmBlock(row)] };
}

/** Who decided, for people: the display name when known, else the platform user id. */
export function deciderName(row: ActionRow): string {
  return row.decidedByName ?? row.decidedBy ?? 'someone';
}

/** A decision that says what came of it: its message on top of the card (a typed confirm, a click that changed nothing). */
export function explainedDecision(d: Decision): Reply {
  return { blocks: [{ type: 'text', text: d.message }, ...d.reply.blocks.filter((b) => b.type !== 'text')] };
}
