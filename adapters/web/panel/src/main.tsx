import { createRoot } from 'react-dom/client';
import type { PageContext } from './api.ts';
import { App } from './App.tsx';
import './styles.css';

/**
 * Mounts the panel into #renderbot-chat (created when missing, for embeds). The API is the
 * origin this script was loaded from. Host pages control it through `window.RenderBotChat`.
 * Mount attributes: data-open="true", data-context-type="order|product", data-context-id.
 */
const scriptUrl = new URL(import.meta.url);
const base = scriptUrl.origin;
let mount = document.getElementById('renderbot-chat');
if (!mount) {
  mount = document.createElement('div');
  mount.id = 'renderbot-chat';
  document.body.append(mount);
}
if (!document.querySelector('link[data-renderbot-css], link[href$="/chat/panel.css"]')) {
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = new URL('./panel.css', scriptUrl).href;
  css.dataset.renderbotCss = '';
  document.head.append(css);
}
const type = mount.dataset.contextType;
const context: PageContext | undefined =
  type === 'order' || type === 'product' ? { type, id: mount.dataset.contextId ?? '' } : undefined;
const events = new EventTarget();

/** The embed API for the SaaS's own pages. */
const api = {
  open: () => events.dispatchEvent(new Event('open')),
  setContext: (ctx: PageContext | undefined) => events.dispatchEvent(new CustomEvent('context', { detail: ctx })),
  setToken: (token: string) => events.dispatchEvent(new CustomEvent('token', { detail: token })),
};
(window as unknown as { RenderBotChat: typeof api }).RenderBotChat = api;

createRoot(mount).render(
  <App base={base} initiallyOpen={mount.dataset.open === 'true'} context={context} events={events} />,
);
