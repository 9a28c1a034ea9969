import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import {
  ApiError,
  createApi,
  login,
  type Me,
  type Message,
  type PageContext,
  type Reply,
  type Session,
  type Step,
  type Upload,
} from './api.ts';
import { AnswerFooter } from './answer.tsx';
import { Steps } from './steps.tsx';
import { Blocks } from './blocks.tsx';
import { Markdown } from './markdown.tsx';
import { Suggestions } from './suggestions.tsx';
import { badgeText, loadUnread, saveUnread, withArrived, type Unread } from './unread.ts';

const TOKEN_KEY = 'renderbot.token';

/** A message in the list; `error` items are local notices, not stored anywhere. */
type Item = Message & { key: string; error?: boolean };

/** A login link for someone else than who is signed in, waiting for the person to choose (`current`: null when it could not be told). */
type PendingSwitch = { token: string; next: Me; current: Me | null };

const sameIdentity = (a: Me, b: Me) => a.user_id === b.user_id && a.tenant.slug === b.tenant.slug;
const identity = (who: Me) => `${who.user_id} (${who.tenant.name})`;

export type AppProps = { base: string; initiallyOpen: boolean; context: PageContext | undefined; events: EventTarget };

const toItem = (m: Message): Item => ({ ...m, key: m.id });
const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
/** The newest stored cursor of `items` (numeric strings), or undefined. */
const lastCursor = (xs: readonly { cursor: string }[]) =>
  xs.reduce<string | undefined>((c, x) => (x.cursor && (!c || BigInt(x.cursor) > BigInt(c)) ? x.cursor : c), undefined);
const later = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : BigInt(a) >= BigInt(b) ? a : b);
const FOCUSABLE =
  'button:not([disabled]), select:not([disabled]), textarea:not([disabled]), input:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

/** The slide-out chat panel: sign-in, sessions, streamed answers, confirm cards. */
export function App({ base, initiallyOpen, context: initialContext, events }: AppProps) {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [open, setOpen] = useState(initiallyOpen);
  const [me, setMe] = useState<Me | null>(null);
  const [signInError, setSignInError] = useState<string | null>(null);
  const [pendingSwitch, setPendingSwitch] = useState<PendingSwitch | null>(null);
  const [sessions, setSessions] = useState<Session[]>([]);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [streaming, setStreaming] = useState<string | null>(null);
  const [steps, setSteps] = useState<Step[]>([]);
  const [busy, setBusy] = useState(false);
  const [deciding, setDeciding] = useState(false);
  const [draft, setDraft] = useState('');
  /** Files uploaded for the next message (POST /api/chat/files), shown as chips above the composer. */
  const [attachments, setAttachments] = useState<Upload[]>([]);
  const [uploading, setUploading] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [context, setContext] = useState<PageContext | undefined>(initialContext);
  const [unread, setUnread] = useState<Unread | null>(null);
  // Read synchronously by handlers and the watcher (state would be one render late).
  const meRef = useRef<Me | null>(null);
  const unreadRef = useRef<Unread | null>(null);
  const openRef = useRef(open);
  const sessionRef = useRef<string | null>(null);
  const sendingRef = useRef(false);
  openRef.current = open;
  sessionRef.current = sessionId;
  /** Changes the unread record and keeps it in this browser's storage (it survives a reload). */
  const putUnread = useCallback((f: (u: Unread | null) => Unread | null) => {
    const next = f(unreadRef.current);
    unreadRef.current = next;
    setUnread(next);
    if (meRef.current) saveUnread(meRef.current, next);
  }, []);
  const api = useMemo(() => (token ? createApi(base, token) : null), [base, token]);
  const panelRef = useRef<HTMLElement>(null);
  const launcherRef = useRef<HTMLButtonElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLDivElement>(null);

  /** Forgets the signed-in person's identity and conversations on screen. */
  const forgetPerson = useCallback(() => {
    setMe(null);
    meRef.current = null;
    unreadRef.current = null;
    setUnread(null);
    setItems([]);
    setSessions([]);
    setSessionId(null);
  }, []);

  const signOut = useCallback(
    (message: string | null) => {
      sessionStorage.removeItem(TOKEN_KEY);
      setToken(null);
      forgetPerson();
      setSignInError(message);
    },
    [forgetPerson],
  );

  const signIn = useCallback((t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setSignInError(null);
    setToken(t);
  }, []);

  /** Signs in as another person: nothing of the previous one's conversations stays on screen. */
  const switchAccount = useCallback(
    (t: string) => {
      setPendingSwitch(null);
      forgetPerson();
      signIn(t);
    },
    [forgetPerson, signIn],
  );

  // A one-time login link: /chat#login=<code>. The fragment never reaches server logs. When
  // someone is signed in already, a link for another person (anyone can send such a link) only
  // switches once the person agrees.
  useEffect(() => {
    const m = /^#login=([\w-]+)$/.exec(location.hash);
    if (!m) return;
    history.replaceState(null, '', location.pathname + location.search);
    const current = sessionStorage.getItem(TOKEN_KEY);
    const arrive = async () => {
      const token = await login(base, m[1]!);
      if (!current) return signIn(token);
      const next = await createApi(base, token).me();
      const now = await createApi(base, current)
        .me()
        .then(
          (who) => who,
          (err: unknown) => (err instanceof ApiError && err.status === 401 ? 'signed out' : null),
        );
      if (now === 'signed out' || (now && sameIdentity(now, next))) return switchAccount(token);
      setPendingSwitch({ token, next, current: now });
      setOpen(true);
    };
    arrive().catch((err: unknown) => setSignInError(err instanceof Error ? err.message : 'Sign-in failed.'));
  }, [base, signIn, switchAccount]);

  // The host page can open the panel, set the page's context or hand over a token.
  useEffect(() => {
    const onOpen = () => setOpen(true);
    const onContext = (e: Event) => setContext((e as CustomEvent<PageContext | undefined>).detail);
    const onToken = (e: Event) => signIn((e as CustomEvent<string>).detail);
    events.addEventListener('open', onOpen);
    events.addEventListener('context', onContext);
    events.addEventListener('token', onToken);
    return () => {
      events.removeEventListener('open', onOpen);
      events.removeEventListener('context', onContext);
      events.removeEventListener('token', onToken);
    };
  }, [events, signIn]);

  const refreshSessions = useCallback(async () => {
    if (api) setSessions((await api.sessions()).sessions);
  }, [api]);

  useEffect(() => {
    if (!api) return;
    api
      .me()
      .then((who) => {
        meRef.current = who;
        unreadRef.current = loadUnread(who);
        setUnread(unreadRef.current);
        setMe(who);
        return refreshSessions();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401)
          signOut('That token was not accepted. Check it, or ask your admin for a new one.');
      });
  }, [api, refreshSessions, signOut]);

  useEffect(() => {
    if (open) (inputRef.current ?? panelRef.current?.querySelector<HTMLElement>(FOCUSABLE))?.focus();
  }, [open, me]);

  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight });
  }, [items, streaming, steps]);

  const close = useCallback(() => setOpen(false), []);

  // Focus moves into the panel when it opens and back to the launcher when it closes.
  const wasOpen = useRef(open);
  useEffect(() => {
    if (wasOpen.current && !open) launcherRef.current?.focus();
    wasOpen.current = open;
  }, [open]);

  // Escape closes the panel wherever focus is (e.g. after a clicked button was replaced).
  useEffect(() => {
    if (!open) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        close();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open, close]);

  const selectSession = useCallback(
    async (id: string) => {
      if (!api) return;
      setSessionId(id || null);
      setItems(id ? (await api.messages(id)).messages.map(toItem) : []);
    },
    [api],
  );

  // Opening the panel shows the conversation: its unread answers are read now (and shown, when they are in another one).
  useEffect(() => {
    if (!open || !me) return;
    const u = unreadRef.current;
    if (!u || u.ids.length === 0) return;
    putUnread((x) => (x ? { ...x, ids: [] } : x));
    if (u.sessionId !== sessionRef.current) void selectSession(u.sessionId);
  }, [open, me, putUnread, selectSession]);

  // While the panel is closed, the conversation is watched (long-poll): answers and completion notices count on the badge.
  useEffect(() => {
    const watched = sessionId ?? unreadRef.current?.sessionId;
    if (open || !api || !me || !watched) return;
    const stop = new AbortController();
    const seen = unreadRef.current?.sessionId === watched ? unreadRef.current.after : undefined;
    let after = later(watched === sessionId ? lastCursor(items) : undefined, seen) ?? '0';
    const watch = async () => {
      while (!stop.signal.aborted) {
        try {
          const fresh = (await api.newMessages(watched, after, stop.signal)).messages;
          if (stop.signal.aborted || fresh.length === 0) continue;
          after = lastCursor(fresh) ?? after;
          putUnread((u) => withArrived(u, watched, fresh));
          if (sessionRef.current === watched)
            setItems((xs) => [...xs, ...fresh.filter((m) => !xs.some((x) => x.id === m.id)).map(toItem)]);
        } catch {
          if (stop.signal.aborted) return;
          await new Promise((r) => setTimeout(r, 5000));
        }
      }
    };
    void watch();
    return () => stop.abort();
    // `items` is read once, where watching starts (not a dependency); new ones arrive through the watch itself.
  }, [open, api, me, sessionId, putUnread]);

  const notice = (content: string) =>
    setItems((xs) => [
      ...xs,
      {
        key: `e${Date.now()}${Math.random()}`,
        id: '',
        role: 'assistant',
        content,
        created_at: new Date().toISOString(),
        cursor: '',
        error: true,
      },
    ]);

  const attach = async (files: FileList | File[] | null) => {
    if (!api || !files) return;
    for (const file of Array.from(files)) {
      setUploading(true);
      try {
        const up = await api.upload(file);
        setAttachments((xs) => [...xs, up]);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401)
          return signOut('Your token is no longer valid. Sign in again.');
        notice(err instanceof Error ? err.message : `${file.name} could not be uploaded.`);
      } finally {
        setUploading(false);
      }
    }
  };

  /** Sends the draft with the attached files, or `given` (a clicked suggestion) — once, however often it is clicked while a message is on its way. */
  const send = async (given?: string) => {
    const files = given === undefined ? attachments.map((a) => a.file_id) : [];
    const text = (given ?? draft).trim() || (files.length ? 'I attached a file.' : '');
    if (!api || !text || busy || uploading || sendingRef.current) return;
    sendingRef.current = true;
    if (given === undefined) {
      setDraft('');
      setAttachments([]);
    }
    setBusy(true);
    setStreaming('');
    setSteps([]);
    const tempKey = `u${Date.now()}`;
    setItems((xs) => [
      ...xs,
      { key: tempKey, id: '', role: 'user', content: text, created_at: new Date().toISOString(), cursor: '' },
    ]);
    try {
      const ctx =
        context && context.type !== 'general' && context.id
          ? { context_type: context.type, context_id: context.id }
          : {};
      const result = await api.send(
        { message: text, ...(sessionId ? { session_id: sessionId } : {}), ...ctx, ...(files.length ? { files } : {}) },
        setSessionId,
        (t) => setStreaming((s) => (s ?? '') + t),
        () => {
          setStreaming('');
          setSteps([]);
        },
        (step) =>
          setSteps((xs) =>
            xs.some((x) => x.id === step.id) ? xs.map((x) => (x.id === step.id ? step : x)) : [...xs, step],
          ),
      );
      setSessionId(result.session_id);
      const stored = [result.message.id, result.response.id];
      setItems((xs) => [
        ...xs.filter((x) => x.key !== tempKey && !stored.includes(x.id)),
        { ...result.message, key: result.message.id },
        { ...result.response, key: result.response.id },
      ]);
      // Answered while the panel was closed: the launcher counts it.
      if (!openRef.current) putUnread((u) => withArrived(u, result.session_id, [result.response]));
      void refreshSessions();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        return signOut('Your token is no longer valid. Sign in again.');
      notice(err instanceof Error ? err.message : 'Sending failed. Please try again.');
    } finally {
      sendingRef.current = false;
      setStreaming(null);
      setSteps([]);
      setBusy(false);
    }
  };

  /** Stop: the answer in progress ends with "Stopped by …" (the pending send resolves with it). */
  const stop = async () => {
    if (!api || !sessionId) return;
    try {
      const r = await api.stop(sessionId);
      if (r.status === 'idle') notice(r.message);
    } catch (err) {
      notice(err instanceof Error ? err.message : 'Stopping failed. Please try again.');
    }
  };

  const decide = async (actionId: string, verb: 'confirm' | 'cancel') => {
    if (!api || deciding) return;
    setDeciding(true);
    try {
      const d = await api.decide(actionId, verb);
      const card = d.reply.blocks.find((b) => b.type === 'confirm');
      if (card) {
        // Update the card in place.
        setItems((xs) =>
          xs.map((x) =>
            x.reply?.blocks.some((b) => b.type === 'confirm' && b.actionId === actionId)
              ? {
                  ...x,
                  reply: {
                    ...x.reply,
                    blocks: x.reply.blocks.map((b) => (b.type === 'confirm' && b.actionId === actionId ? card : b)),
                  } satisfies Reply,
                }
              : x,
          ),
        );
      }
      if (!d.ok) notice(d.message);
      if (verb === 'confirm' && d.ok && sessionId) {
        // The follow-up is written by the worker; wait for it (long-poll).
        setBusy(true);
        const cursor = [...items].reverse().find((x) => x.cursor)?.cursor ?? '0';
        const fresh = await api.newMessages(sessionId, cursor);
        setItems((xs) => [...xs, ...fresh.messages.filter((m) => !xs.some((x) => x.id === m.id)).map(toItem)]);
      }
    } catch (err) {
      notice(err instanceof Error ? err.message : 'That did not work. Please try again.');
    } finally {
      setBusy(false);
      setDeciding(false);
      // The clicked button is gone; keep focus in the panel.
      if (!panelRef.current?.contains(document.activeElement)) inputRef.current?.focus();
    }
  };

  const removeSession = async () => {
    if (!api || !sessionId) return;
    await api.deleteSession(sessionId);
    setSessionId(null);
    setItems([]);
    await refreshSessions();
    inputRef.current?.focus();
  };

  const newConversation = () => {
    setSessionId(null);
    setItems([]);
    inputRef.current?.focus();
  };

  const onPanelKey = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key !== 'Tab' || !panelRef.current) return;
    const focusable = [...panelRef.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = focusable[0];
    const last = focusable.at(-1);
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last?.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first?.focus();
    }
  };

  const canConfirm = me ? me.role !== 'viewer' : false;
  const unreadCount = unread?.ids.length ?? 0;
  const lastItem = items.at(-1);
  // The next steps of the newest answer; a new conversation starts with the tenant's.
  const suggestions =
    items.length === 0
      ? (me?.suggestions ?? [])
      : lastItem?.role === 'assistant' && !lastItem.error
        ? (lastItem.reply?.suggestions ?? [])
        : [];
  const aiOff = me && !me.ai.configured;
  const limit = me && me.ai.configured && me.ai.limit_reached;

  return (
    <div className="rb-root">
      <button
        ref={launcherRef}
        type="button"
        className="rb-launcher"
        aria-label="Open RenderBot chat"
        aria-describedby={unreadCount ? 'rb-unread' : undefined}
        aria-expanded={open}
        aria-controls="rb-panel"
        onClick={() => setOpen(true)}
        hidden={open}
      >
        <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">
          <path
            fill="currentColor"
            d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"
          />
        </svg>
        {unreadCount > 0 && (
          <span id="rb-unread" className="rb-badge">
            {badgeText(unreadCount)}
            <span className="rb-visually-hidden"> unread</span>
          </span>
        )}
      </button>
      {open && <div className="rb-backdrop" onClick={close} aria-hidden="true" />}
      <aside
        id="rb-panel"
        ref={panelRef}
        className={`rb-panel${open ? ' rb-open' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby="rb-title"
        aria-hidden={!open}
        inert={!open}
        onKeyDown={onPanelKey}
      >
        <header className="rb-header">
          <h2 id="rb-title">RenderBot{me && <span className="rb-muted"> · {me.tenant.name}</span>}</h2>
          <button type="button" className="rb-icon" aria-label="Close chat" onClick={close}>
            ×
          </button>
        </header>
        {api && me && (
          <div className="rb-toolbar">
            <label className="rb-visually-hidden" htmlFor="rb-session">
              Conversation
            </label>
            <select id="rb-session" value={sessionId ?? ''} onChange={(e) => void selectSession(e.target.value)}>
              <option value="">New conversation</option>
              {sessionId && !sessions.some((s) => s.session_id === sessionId) && (
                <option value={sessionId}>Current conversation</option>
              )}
              {sessions.map((s) => (
                <option key={s.session_id} value={s.session_id}>
                  {s.title ?? 'Untitled'} · {time(s.last_active_at)}
                </option>
              ))}
            </select>
            <button type="button" className="rb-btn" onClick={newConversation}>
              New conversation
            </button>
            <button
              type="button"
              className="rb-icon"
              aria-label="Delete conversation"
              disabled={!sessionId || busy}
              onClick={() => void removeSession()}
            >
              <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
                <path
                  fill="currentColor"
                  d="M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h2v-8h-2zm4 0v8h2v-8h-2z"
                />
              </svg>
            </button>
          </div>
        )}
        {pendingSwitch && (
          <div className="rb-switch" role="alertdialog" aria-labelledby="rb-switch-question">
            <p id="rb-switch-question">
              Sign in as <strong>{identity(pendingSwitch.next)}</strong> instead of{' '}
              <strong>{pendingSwitch.current ? identity(pendingSwitch.current) : 'the person signed in now'}</strong>?
            </p>
            <p className="rb-muted">Only switch if you opened this sign-in link yourself.</p>
            <div className="rb-switch-actions">
              <button
                type="button"
                className="rb-btn rb-btn-primary"
                onClick={() => switchAccount(pendingSwitch.token)}
              >
                Sign in as {pendingSwitch.next.user_id}
              </button>
              <button type="button" className="rb-btn" onClick={() => setPendingSwitch(null)}>
                Stay signed in{pendingSwitch.current ? ` as ${pendingSwitch.current.user_id}` : ''}
              </button>
            </div>
          </div>
        )}
        {aiOff && (
          <p className="rb-banner" role="status">
            AI not configured — ask your admin to set up AI for {me.tenant.name}. Meanwhile these commands work:{' '}
            <code>help</code>, <code>orders</code>, <code>order SA-…</code>, <code>search …</code>, <code>stats</code>.
          </p>
        )}
        {limit && (
          <p className="rb-banner" role="status">
            {me.tenant.name} has used this month's AI allowance — it renews on the 1st. Commands such as{' '}
            <code>orders</code> and <code>stats</code> still work.
          </p>
        )}
        {context && context.type !== 'general' && context.id && api && (
          <p className="rb-context rb-muted">
            About this {context.type}: {context.id}
          </p>
        )}
        {!api ? (
          <SignIn error={signInError} onToken={signIn} />
        ) : (
          <>
            <div className="rb-messages" ref={listRef} role="log" aria-live="polite" aria-label="Messages">
              {items.length === 0 && !busy && (
                <p className="rb-empty rb-muted">
                  Ask about products, orders and renders — e.g. “Render all Kugellager products as WebP at 1024x1024”.
                </p>
              )}
              {items.map((m) => (
                <div key={m.key} className={`rb-msg rb-${m.role}${m.error ? ' rb-error' : ''}`}>
                  <span className="rb-avatar" aria-hidden="true">
                    {m.role === 'user' ? 'You' : 'RB'}
                  </span>
                  <div className="rb-bubble">
                    {m.reply?.steps && <Steps steps={m.reply.steps} />}
                    {m.reply ? (
                      <Blocks
                        blocks={m.reply.blocks}
                        onDecide={(id, v) => void decide(id, v)}
                        busy={deciding}
                        canConfirm={canConfirm}
                      />
                    ) : (
                      <Markdown text={m.content} />
                    )}
                    {m.reply?.answer && <AnswerFooter answer={m.reply.answer} api={api} onError={notice} />}
                    <time className="rb-time" dateTime={m.created_at}>
                      {time(m.created_at)}
                    </time>
                  </div>
                </div>
              ))}
              {busy && streaming && (
                <div className="rb-msg rb-assistant rb-streaming">
                  <span className="rb-avatar" aria-hidden="true">
                    RB
                  </span>
                  <div className="rb-bubble">
                    {steps.length > 0 && <Steps steps={steps} />}
                    <Markdown text={streaming} />
                  </div>
                </div>
              )}
              {busy && !streaming && steps.length > 0 && (
                <div className="rb-msg rb-assistant rb-streaming">
                  <span className="rb-avatar" aria-hidden="true">
                    RB
                  </span>
                  <div className="rb-bubble">
                    <Steps steps={steps} />
                  </div>
                </div>
              )}
              {busy && !streaming && (
                <div className="rb-msg rb-assistant">
                  <span className="rb-avatar" aria-hidden="true">
                    RB
                  </span>
                  <div className="rb-bubble rb-typing" role="status" aria-label="RenderBot is typing">
                    <span />
                    <span />
                    <span />
                  </div>
                </div>
              )}
              {!busy && <Suggestions items={suggestions} disabled={busy} onPick={(text) => void send(text)} />}
            </div>
            {attachments.length > 0 && (
              <ul className="rb-attachments" aria-label="Attached files">
                {attachments.map((a) => (
                  <li key={a.file_id} className="rb-attachment" title={a.summary}>
                    <span>{a.summary}</span>
                    <button
                      type="button"
                      className="rb-btn"
                      aria-label={`Remove ${a.name}`}
                      onClick={() => setAttachments((xs) => xs.filter((x) => x.file_id !== a.file_id))}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <form
              className={`rb-composer${dragging ? ' rb-dragging' : ''}`}
              onSubmit={(e) => {
                e.preventDefault();
                void send();
              }}
              onDragOver={(e) => {
                if (e.dataTransfer.types.includes('Files')) {
                  e.preventDefault();
                  setDragging(true);
                }
              }}
              onDragLeave={() => setDragging(false)}
              onDrop={(e) => {
                e.preventDefault();
                setDragging(false);
                void attach(e.dataTransfer.files);
              }}
            >
              <label className="rb-visually-hidden" htmlFor="rb-file">
                Attach a CSV or XLSX file
              </label>
              <input
                id="rb-file"
                ref={fileRef}
                type="file"
                className="rb-visually-hidden"
                accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                onChange={(e) => {
                  void attach(e.target.files);
                  e.target.value = '';
                }}
              />
              <button
                type="button"
                className="rb-btn"
                aria-label="Attach a file"
                title="Attach a CSV or XLSX of product ids (or drop it here)"
                disabled={busy || uploading}
                onClick={() => fileRef.current?.click()}
              >
                {uploading ? '…' : '📎'}
              </button>
              <label className="rb-visually-hidden" htmlFor="rb-input">
                Message
              </label>
              <textarea
                id="rb-input"
                ref={inputRef}
                rows={2}
                value={draft}
                placeholder="Message RenderBot… (Enter sends, Shift+Enter for a new line)"
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                    e.preventDefault();
                    void send();
                  }
                }}
              />
              {busy && sessionId ? (
                <button type="button" className="rb-btn" onClick={() => void stop()}>
                  Stop
                </button>
              ) : (
                <button
                  type="submit"
                  className="rb-btn rb-btn-primary"
                  disabled={busy || uploading || (!draft.trim() && attachments.length === 0)}
                >
                  Send
                </button>
              )}
            </form>
          </>
        )}
      </aside>
    </div>
  );
}

function SignIn({ error, onToken }: { error: string | null; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      className="rb-signin"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <p>
        Sign in with the API token your admin gave you (<code>renderbot admin token create</code>), or open a sign-in
        link.
      </p>
      <label htmlFor="rb-token">API token</label>
      <input
        id="rb-token"
        type="password"
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      {error && (
        <p className="rb-error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="rb-btn rb-btn-primary" disabled={!value.trim()}>
        Sign in
      </button>
    </form>
  );
}
