import type { OutgoingMessage } from './activity.ts';

/** A plain markdown message. */
export function textMessage(text: string): OutgoingMessage {
  return { type: 'message', textFormat: 'markdown', text };
}

/** What an unlinked Microsoft 365 organisation is told (docs/design.md §10: no LLM call, clear next step). */
export function unlinkedText(aadTenant: string): string {
  return [
    'This Microsoft Teams organisation is not linked to a RenderBot tenant yet, so I cannot answer here.',
    'An admin of your RenderBot installation can link it in one of two ways:',
    `1. On the server: \`renderbot admin link teams --tenant <slug> --aad-tenant ${aadTenant}\``,
    '2. Or create a one-time code with `renderbot admin link code --tenant <slug>` and send me `@RenderBot link CODE` here (the code works once, for 15 minutes).',
  ].join('\n\n');
}

/** Sent when RenderBot is added to a team, group chat or personal scope. */
export function welcomeText(linked: boolean, aadTenant: string): string {
  const intro =
    'Hi, I am **RenderBot**. Mention me with a question about your render pipeline (for example `@RenderBot render all Kugellager products as WebP at 1024x1024`) or a command: `help`, `orders`, `order SA-2026-00160`, `search <text>`, `stats`, `usage`, `new`. Changes always ask for a confirmation first.';
  return linked ? intro : `${intro}\n\n${unlinkedText(aadTenant)}`;
}

/** Confirmation after `@RenderBot link CODE`. */
export function linkedText(name: string, slug: string): string {
  return `Linked: this Teams organisation now talks to RenderBot tenant **${name}** (\`${slug}\`). Try \`@RenderBot orders\` or ask a question.`;
}
