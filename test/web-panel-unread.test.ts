import { describe, expect, it } from 'vitest';
import { badgeText, withArrived } from '../adapters/web/panel/src/unread.ts';

// The badge's counting, without a browser (test/web-panel-suggestions.test.ts shows it in Chromium).
describe('panel unread count', () => {
  const msg = (id: string, role: string, cursor: string) => ({ id, role, cursor });

  it('counts assistant messages once each and resumes after the newest cursor', () => {
    const first = withArrived(null, 's1', [msg('u1', 'user', '7'), msg('a1', 'assistant', '8')]);
    expect(first).toEqual({ sessionId: 's1', after: '8', ids: ['a1'] });
    // The send's result and the long-poll both bring a1: it counts once.
    const again = withArrived(first, 's1', [msg('a1', 'assistant', '8'), msg('a2', 'assistant', '10')]);
    expect(again).toEqual({ sessionId: 's1', after: '10', ids: ['a1', 'a2'] });
  });

  it('compares cursors as numbers, not strings', () => {
    expect(withArrived({ sessionId: 's1', after: '9', ids: [] }, 's1', [msg('a3', 'assistant', '10')]).after).toBe(
      '10',
    );
    expect(withArrived({ sessionId: 's1', after: '10', ids: [] }, 's1', [msg('a3', 'assistant', '9')]).after).toBe(
      '10',
    );
  });

  it('another conversation starts a new count', () => {
    expect(withArrived({ sessionId: 's1', after: '10', ids: ['a1'] }, 's2', [msg('b1', 'assistant', '3')])).toEqual({
      sessionId: 's2',
      after: '3',
      ids: ['b1'],
    });
  });

  it('shows 99+ beyond 99', () => {
    expect([badgeText(1), badgeText(99), badgeText(100)]).toEqual(['1', '99', '99+']);
  });
});
