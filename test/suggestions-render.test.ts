import { describe, expect, it } from 'vitest';
import { renderBlockKit } from '../adapters/slack/render.ts';
import { assistantPrompts, MAX_BUTTON_TEXT, SUGGESTIONS_BLOCK_ID } from '../adapters/slack/suggestions-render.ts';
import { renderTeamsMessage } from '../adapters/teams/render.ts';
import { renderSuggestions, renderText } from '../core/replies/text.ts';
import type { Reply } from '../core/replies/reply.ts';
import { cardSchemaProblems } from './support/adaptive-card.ts';

// Suggestion text may one day quote names tenants wrote: every renderer keeps it inert.
const hostile = '<!channel> *Render* {{DATE(2026-01-01)}} [x](javascript:alert(1))';
const long = `Show the results of ${'Rillenkugellager '.repeat(8)}`;
const reply: Reply = {
  blocks: [{ type: 'text', text: 'Three Kugellager products match.' }],
  suggestions: ['Render these 3 products', hostile, long],
};

describe('suggestion renderers (pure)', () => {
  it('Slack: one actions block of plain-text buttons (never mrkdwn), texts cut to 75 with the full text as value; none when omitted', () => {
    const { blocks, text } = renderBlockKit(reply);
    const actions = blocks.at(-1) as {
      type: string;
      block_id: string;
      elements: { action_id: string; text: { type: string; text: string; emoji: boolean }; value: string }[];
    };
    expect(actions.type).toBe('actions');
    expect(actions.block_id).toBe(SUGGESTIONS_BLOCK_ID);
    expect(actions.elements.map((e) => e.action_id)).toEqual([
      'renderbot.suggest.0',
      'renderbot.suggest.1',
      'renderbot.suggest.2',
    ]);
    expect(actions.elements.every((e) => e.text.type === 'plain_text' && !e.text.emoji)).toBe(true);
    expect(actions.elements[1]!.text.text).toBe(hostile);
    expect(actions.elements[2]!.text.text).toHaveLength(MAX_BUTTON_TEXT);
    expect(actions.elements[2]!.value).toBe(long);
    // The notification text is the answer, not the buttons.
    expect(text).toBe('Three Kugellager products match.');
    expect(renderBlockKit(reply, { suggestions: 'omit' }).blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(assistantPrompts(reply.suggestions!)).toEqual(reply.suggestions!.map((s) => ({ title: s, message: s })));
  });

  it('Teams: imBack suggested actions in a personal chat; a valid card with Action.Submit buttons elsewhere, card functions inert in what is shown', () => {
    const personal = renderTeamsMessage(reply, { scope: 'personal' });
    expect(personal.text).toBe('Three Kugellager products match.');
    expect(personal.suggestedActions?.actions.map((a) => [a.type, a.value])).toEqual(
      reply.suggestions!.map((s) => ['imBack', s]),
    );
    const shared = renderTeamsMessage(reply, { scope: 'shared' });
    expect(shared.suggestedActions).toBeUndefined();
    const card = shared.attachments![0]!.content as {
      body: { type: string; actions?: { title: string; data: { msteams: { text: string; displayText: string } } }[] }[];
    };
    expect(cardSchemaProblems(card)).toEqual([]);
    const set = card.body.at(-1)!;
    expect(set.type).toBe('ActionSet');
    expect(set.actions![1]!.title).not.toContain('{{');
    expect(set.actions![1]!.data.msteams.displayText).not.toContain('{{');
    expect(set.actions![1]!.data.msteams.text).toBe(hostile);
    // Without suggestions a text reply stays a plain message.
    expect(renderTeamsMessage({ blocks: reply.blocks }, { scope: 'shared' }).attachments).toBeUndefined();
  });

  it('terminal: a numbered list apart from the answer text (fallbacks never carry it)', () => {
    expect(renderSuggestions(['Render these 3 products', 'line\nbreak'])).toBe(
      'Next steps (type the number to send it):\n  1. Render these 3 products\n  2. line break',
    );
    expect(renderText(reply)).toBe('Three Kugellager products match.');
  });
});
