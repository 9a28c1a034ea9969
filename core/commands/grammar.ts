import { z } from 'zod';
import { orderStatusSchema } from '../pipeline/statuses.ts';

/** A deterministic command (docs/design.md §8); anything else is free text for the agent. */
const commandSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('help') }),
  z.object({ name: z.literal('orders'), status: orderStatusSchema.optional() }),
  z.object({ name: z.literal('order'), ref: z.string() }),
  z.object({ name: z.literal('search'), query: z.string().optional(), category: z.string().optional() }),
  z.object({ name: z.literal('stats') }),
  z.object({ name: z.literal('usage') }),
  z.object({ name: z.literal('link'), code: z.string() }),
  z.object({ name: z.literal('new') }),
  z.object({ name: z.literal('forget') }),
  z.object({ name: z.literal('confirm'), actionId: z.string().optional() }),
  z.object({ name: z.literal('cancel'), actionId: z.string().optional() }),
  z.object({ name: z.literal('stop') }),
]);
export type Command = z.infer<typeof commandSchema>;

const FIRST_WORD = /^\S*/;

/**
 * Parses a message as a command. Returns undefined for free text, including sentences that
 * merely start with a command word ("orders from last week?").
 */
export function parseCommand(text: string): Command | undefined {
  const trimmed = text.trim();
  const word = FIRST_WORD.exec(trimmed)![0];
  const arg = trimmed.slice(word.length).trim();
  // How many words follow, counted up to two: no command takes more.
  const rest = arg ? arg.split(/\s+/, 2) : [];
  switch (word.toLowerCase()) {
    case 'help':
    case '?':
      return rest.length ? undefined : { name: 'help' };
    case 'stats':
    case 'usage':
    case 'new':
    case 'forget':
    case 'stop':
      return rest.length ? undefined : { name: word.toLowerCase() as 'stats' | 'usage' | 'new' | 'forget' | 'stop' };
    case 'orders': {
      if (!arg) return { name: 'orders' };
      const status = orderStatusSchema.safeParse(arg.toLowerCase());
      return status.success ? { name: 'orders', status: status.data } : undefined;
    }
    case 'order':
      return /^SA-\d{4}-\d{5}$/i.test(arg) ? { name: 'order', ref: arg.toUpperCase() } : undefined;
    case 'search': {
      if (!arg) return undefined;
      const m = /(?:^|\s)category:(?:"([^"]+)"|(\S+))/i.exec(arg);
      const category = m ? (m[1] ?? m[2]) : undefined;
      const query = (m ? arg.replace(m[0], ' ') : arg).trim() || undefined;
      return { name: 'search', query, category };
    }
    case 'link':
      return /^[A-Z0-9]{4}-?[A-Z0-9]{4}$/i.test(arg) ? { name: 'link', code: arg } : undefined;
    case 'confirm':
    case 'cancel': {
      if (rest.length > 1) return undefined;
      return { name: word.toLowerCase() as 'confirm' | 'cancel', ...(arg ? { actionId: arg } : {}) };
    }
    default:
      return undefined;
  }
}

/**
 * Whether a message is the word `stop` (docs/design.md §12): adapters hand it to
 * `conversations.stop` on arrival instead of queuing it behind the turn it stops.
 */
export function isStopRequest(text: string): boolean {
  return parseCommand(text)?.name === 'stop';
}
