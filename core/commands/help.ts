/** The deterministic commands (docs/design.md §8), one line each, shown by `help`. */
export const commandHelp: { usage: string; does: string }[] = [
  { usage: 'help', does: 'this list' },
  {
    usage: 'orders [status]',
    does: 'recent orders, optionally by status (draft, submitted, rendering, completed, failed, cancelled)',
  },
  { usage: 'order SA-2026-00160', does: 'status and progress of one order' },
  { usage: 'search <text> [category:<c>]', does: 'find products by name, PIM id or category' },
  { usage: 'stats', does: 'render statistics of the last 30 days' },
  { usage: 'usage', does: "this month's AI token usage" },
  { usage: 'link <code>', does: 'link this workspace to a RenderBot tenant with a one-time code' },
  { usage: 'new', does: 'start a fresh conversation in this thread' },
  { usage: 'forget', does: 'delete this conversation and its history' },
  { usage: 'confirm / cancel', does: 'decide the latest pending confirmation' },
  { usage: 'stop', does: 'stop the answer being worked on in this conversation' },
];

/** One-line summary of the commands for messages like "AI not configured". */
export const commandHelpLine = commandHelp
  .slice(1, 6)
  .map((c) => `\`${c.usage}\``)
  .join(', ');
