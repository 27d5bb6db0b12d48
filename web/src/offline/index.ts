/**
 * Offline support, installed once at start (main.ts): the REST wrapper (controller.ts), the outbox replay
 * (replay.ts), the online/offline state the bar shows (state.ts) and the service worker that keeps the app shell
 * (public/sw.js) so a reload without network still opens the app.
 */
import { install, refreshCount } from './controller';
import { replay } from './replay';
import { online } from './state';

/** While writes wait and the network is there, try again now and then (a 5xx or a dropped answer stopped it). */
const RETRY_MS = 5000;

export function startOffline(): void {
  if (typeof window === 'undefined' || typeof indexedDB === 'undefined') return;
  install(() => {
    if (online.value) void replay();
  });
  window.addEventListener('online', () => {
    online.value = true;
    void replay(true);
  });
  window.addEventListener('offline', () => {
    online.value = false;
  });
  void refreshCount().then(() => replay());
  setInterval(() => {
    if (online.value) void replay();
  }, RETRY_MS);
  if ('serviceWorker' in navigator && (location.protocol === 'https:' || location.hostname === '127.0.0.1' || location.hostname === 'localhost')) {
    void navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  }
}
