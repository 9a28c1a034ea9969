import { useState } from 'react';
import type { Api, Reply } from './api.ts';

type AnswerMeta = NonNullable<Reply['answer']>;
type Source = AnswerMeta['sources'][number];
type Rating = 'up' | 'down';

/** A results-page link only when it is an http(s) URL or a path on this server (never `javascript:`). */
const safeUrl = (url: string | undefined) =>
  url && (/^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url)) ? url : undefined;

/** A thumb drawn as SVG (emoji fonts are missing on many systems); `down` turns it over. */
function Thumb({ down }: { down?: boolean }) {
  return (
    <svg
      width="16"
      height="16"
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
      style={down ? { transform: 'rotate(180deg)' } : undefined}
    >
      <path
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinejoin="round"
        d="M7 10v11H3V10h4zm0 0 4-8c1.7 0 3 1.3 3 3v3h5.5c1.2 0 2.1 1.1 1.9 2.3l-1.3 8c-.2 1-1 1.7-2 1.7H7"
      />
    </svg>
  );
}

function SourceItem({ source }: { source: Source }) {
  if (source.kind === 'count')
    return (
      <>
        {source.count.toLocaleString('en-US')} {source.what}
      </>
    );
  const url = safeUrl(source.url);
  return url ? (
    <a href={url} target="_blank" rel="noopener noreferrer">
      {source.number}
    </a>
  ) : (
    <>{source.number}</>
  );
}

/**
 * What an agent answer shows under its content (docs/design.md §12): the AI label with the
 * records it used, and 👍/👎. A 👎 asks what went wrong (optional); a second click replaces the
 * first. Command output and notices have no `answer` and show none of it.
 */
export function AnswerFooter({
  answer,
  api,
  onError,
}: {
  answer: AnswerMeta;
  api: Api;
  onError: (message: string) => void;
}) {
  const [rating, setRating] = useState<Rating | null>(null);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);

  const give = async (r: Rating, why?: string) => {
    setBusy(true);
    try {
      await api.feedback(answer.id, r, why);
      setRating(r);
      setAsking(r === 'down' && why === undefined);
      setSent(r === 'up' || why !== undefined);
    } catch (err) {
      onError(err instanceof Error ? err.message : 'The feedback could not be sent. Please try again.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="rb-answer-footer">
      <p className="rb-ai-label">
        <span className="rb-ai-badge">AI</span> AI-generated — check important details.
        {answer.sources.length > 0 && (
          <>
            {' '}
            Sources:{' '}
            {answer.sources.map((s, i) => (
              <span key={i}>
                {i > 0 && ' · '}
                <SourceItem source={s} />
              </span>
            ))}
          </>
        )}
      </p>
      <div className="rb-feedback" role="group" aria-label="Was this answer helpful?">
        <button
          type="button"
          className="rb-thumb"
          aria-pressed={rating === 'up'}
          aria-label="Helpful"
          disabled={busy}
          onClick={() => void give('up')}
        >
          <Thumb />
        </button>
        <button
          type="button"
          className="rb-thumb"
          aria-pressed={rating === 'down'}
          aria-label="Not helpful"
          disabled={busy}
          onClick={() => void give('down')}
        >
          <Thumb down />
        </button>
        {sent && (
          <span className="rb-muted rb-feedback-thanks" role="status">
            Thanks — your admin will see it.
          </span>
        )}
      </div>
      {asking && (
        <form
          className="rb-feedback-reason"
          onSubmit={(e) => {
            e.preventDefault();
            void give('down', reason);
          }}
        >
          <label htmlFor={`rb-reason-${answer.id}`}>What went wrong? (optional)</label>
          <textarea
            id={`rb-reason-${answer.id}`}
            rows={2}
            maxLength={2000}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="submit" className="rb-btn" disabled={busy}>
            Send feedback
          </button>
        </form>
      )}
    </div>
  );
}
