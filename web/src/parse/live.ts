/**
 * Live queries through the official SDK: `query.subscribe()` opens (once) the WebSocket the SDK derives from
 * serverURL, and the SDK reconnects and resubscribes by itself. This wraps one subscription in typed callbacks.
 *
 * The subscribe promise resolves only once the server confirmed the subscription, so until then the caller's live
 * state stays "connecting"; a server without live queries simply never confirms (the lists still work).
 */
import { Parse, type PObject, type PQuery } from './client';

export type LiveEventKind = 'create' | 'enter' | 'update' | 'leave' | 'delete';
export const LIVE_EVENTS: readonly LiveEventKind[] = ['create', 'enter', 'update', 'leave', 'delete'];
const WITH_ORIGINAL: ReadonlySet<LiveEventKind> = new Set(['update', 'enter', 'leave']);

export interface LiveCallbacks {
  /** `original` is the object before the change (update, enter, leave), when the server sends it. */
  event(kind: LiveEventKind, object: PObject, original?: PObject): void;
  /** Subscribed, first time or again after a reconnect (then the caller catches up on what it missed). */
  open(again: boolean): void;
  /** The connection dropped; the SDK is reconnecting. */
  close(): void;
}

export interface LiveHandle {
  stop(): void;
}

type Subscription = Awaited<ReturnType<PQuery['subscribe']>>;

export function subscribe(query: PQuery, callbacks: LiveCallbacks): LiveHandle {
  let stopped = false;
  let subscription: Subscription | null = null;
  let opened = false;
  query
    .subscribe()
    .then((sub) => {
      if (stopped) {
        void sub.unsubscribe();
        return;
      }
      subscription = sub;
      // the SDK passes `original` only to update, enter and leave; create and delete get the raw response there
      for (const kind of LIVE_EVENTS)
        sub.on(kind, (object: PObject, second?: PObject) =>
          callbacks.event(kind, object, WITH_ORIGINAL.has(kind) ? second : undefined),
        );
      sub.on('open', () => {
        callbacks.open(opened);
        opened = true;
      });
      sub.on('close', () => callbacks.close());
      opened = true;
      callbacks.open(false);
    })
    .catch(() => {
      // refused (e.g. a class that is not live): the list stays a plain, refreshable list
      if (!stopped) callbacks.close();
    });
  return {
    stop() {
      stopped = true;
      if (subscription) void subscription.unsubscribe();
    },
  };
}

/** Ends every subscription and the socket (on log-out: the next user's subscriptions carry their own session). */
export async function closeLive(): Promise<void> {
  try {
    await Parse.LiveQuery.close();
  } catch {
    // never opened
  }
}
