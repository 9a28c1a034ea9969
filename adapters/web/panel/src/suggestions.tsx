/**
 * Suggested next messages (docs/design.md §12) as chips: a click sends the chip's text as the
 * person's message. The text may quote tenant names, so it is only ever rendered as text.
 */
export function Suggestions({
  items,
  disabled,
  onPick,
}: {
  items: readonly string[];
  disabled: boolean;
  onPick: (text: string) => void;
}) {
  if (items.length === 0) return null;
  return (
    <div className="rb-suggestions" role="group" aria-label="Suggested next steps">
      {items.map((text) => (
        <button key={text} type="button" className="rb-chip" disabled={disabled} onClick={() => onPick(text)}>
          {text}
        </button>
      ))}
    </div>
  );
}
