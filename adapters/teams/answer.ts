import type { AnswerMeta, Source } from '../../core/replies/reply.ts';
import { ellipsize } from '../../core/replies/format.ts';

/** Teams shows at most this many citations on a message; the rest are left out. */
const MAX_CITATIONS = 20;
/** Lengths Teams allows for a citation's name and abstract. */
const CITATION_NAME_MAX = 80;
const CITATION_ABSTRACT_MAX = 160;

/** A citation of the AI entity: `[n]` in the message text points to it. */
type Citation = {
  '@type': 'Claim';
  position: number;
  appearance: { '@type': 'DigitalDocument'; name: string; abstract: string; url?: string };
};

/** The `https://schema.org/Message` entity that labels a message AI-generated and carries its citations. */
export type AiMessageEntity = {
  type: 'https://schema.org/Message';
  '@type': 'Message';
  '@context': 'https://schema.org';
  '@id': '';
  additionalType: ['AIGeneratedContent'];
  citation: Citation[];
};

/** Teams' feedback loop on a message: `custom` asks the bot for the form (`message/fetchTask`). */
export type FeedbackLoop = { feedbackLoop: { type: 'custom' } };

/**
 * What an agent answer adds to its Teams activity (docs/design.md §12): the AI label entity with
 * one citation per source (orders with their results pages, counts), the text line that refers to
 * them (`[1]`, `[2]`; source names, which are tenant data, through `escape`), and the feedback
 * loop (👍/👎 under the message). Pure.
 */
export function answerActivityParts(
  answer: AnswerMeta,
  escape: (text: string) => string,
): { entity: AiMessageEntity; sourcesLine: string | undefined; channelData: FeedbackLoop } {
  const cited = answer.sources.slice(0, MAX_CITATIONS);
  const citation = cited.map((s, i): Citation => ({
    '@type': 'Claim',
    position: i + 1,
    appearance: {
      '@type': 'DigitalDocument',
      name: ellipsize(citationName(s), CITATION_NAME_MAX),
      abstract: ellipsize(citationAbstract(s), CITATION_ABSTRACT_MAX),
      ...(s.kind === 'order' && s.url && /^https?:\/\//.test(s.url) ? { url: s.url } : {}),
    },
  }));
  const sourcesLine = cited.length
    ? `Sources: ${cited.map((s, i) => `${escape(citationName(s))} [${i + 1}]`).join(' · ')}`
    : undefined;
  return {
    entity: {
      type: 'https://schema.org/Message',
      '@type': 'Message',
      '@context': 'https://schema.org',
      '@id': '',
      additionalType: ['AIGeneratedContent'],
      citation,
    },
    sourcesLine,
    channelData: { feedbackLoop: { type: 'custom' } },
  };
}

function citationName(s: Source): string {
  return s.kind === 'order' ? `Order ${s.number}` : `${s.count.toLocaleString('en-US')} ${s.what}`;
}

function citationAbstract(s: Source): string {
  return s.kind === 'order'
    ? `The render results page of order ${s.number}.`
    : `The count RenderBot read from the catalogue: ${s.count.toLocaleString('en-US')} ${s.what}.`;
}
