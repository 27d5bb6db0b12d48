/**
 * Live queries through the official SDK: `query.subscribe()` opens (once) the WebSocket the SDK derives from
 * serverURL, and the SDK reconnects and resubscribes by itself. This wraps one subscription in typed callbacks.
 *
 * The subscribe promise resolves only once the server confirmed the subscription, so until then the caller's live
 * state stays "connecting"; a server without live queries simply never confirms (the lists still work). All
 * subscriptions share one client (one socket), made for the signed-in user and dropped by `closeLive`.
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
  /** Resolves true once the server confirmed the subscription, false if it refused it. */
  ready: Promise<boolean>;
  stop(): void;
}

type Subscription = Awaited<ReturnType<PQuery['subscribe']>>;

export function originalOf(kind: LiveEventKind, second: unknown): PObject | undefined {
  return WITH_ORIGINAL.has(kind) && second instanceof Parse.Object ? second : undefined;
}

type Client = Awaited<ReturnType<ReturnType<typeof Parse.CoreManager.getLiveQueryController>['getDefaultLiveQueryClient']>>;
let client: Promise<Client> | null = null;

/**
 * The SDK's default client (one WebSocket, carrying the session token of the user signed in when it was made). The
 * SDK makes it lazily after an await, so subscriptions started together (a board's six columns) would each make
 * their own socket, and only the last is kept: one shared promise makes them share one. Whatever client the SDK had
 * cached before ours (another user's session, or one made by an unsubscribe after log-out, with none) is dropped.
 */
function sharedClient(): Promise<Client> {
  if (!client) {
    const controller = Parse.CoreManager.getLiveQueryController();
    controller._clearCachedDefaultClient();
    client = controller.getDefaultLiveQueryClient().catch((err: unknown) => {
      client = null;
      throw err;
    });
  }
  return client;
}

export function subscribe(query: PQuery, callbacks: LiveCallbacks): LiveHandle {
  let stopped = false;
  let subscription: Subscription | null = null;
  const ready = sharedClient()
    .then(() => query.subscribe())
    .then((sub) => {
      if (stopped) {
        void sub.unsubscribe();
        return false;
      }
      subscription = sub;
      // The SDK's second argument is `original` (a Parse.Object) only when the server sent one; otherwise it is the
      // raw message. Create and delete never have one; a `leave` after losing read access has none either (the
      // server sends the last state the subscriber could read as the object itself).
      for (const kind of LIVE_EVENTS)
        sub.on(kind, (object: PObject, second?: unknown) =>
          callbacks.event(kind, object, originalOf(kind, second)),
        );
      // The SDK also emits 'open' 200 ms after the *first* confirmation: only an 'open' after a 'close' is a
      // resubscription whose caller must catch up on what it missed.
      let lost = false;
      sub.on('open', () => {
        if (!lost) return;
        lost = false;
        callbacks.open(true);
      });
      sub.on('close', () => {
        lost = true;
        callbacks.close();
      });
      callbacks.open(false);
      return true;
    })
    .catch(() => {
      // refused (e.g. a class that is not live): the list stays a plain, refreshable list
      if (!stopped) callbacks.close();
      return false;
    });
  return {
    ready,
    stop() {
      stopped = true;
      if (subscription) void subscription.unsubscribe();
    },
  };
}

/**
 * Ends every subscription and the socket, and forgets the client (log-out, expired session): the SDK keeps its
 * default client, with the session token it was made with, for good; the next user's subscriptions need a new one
 * carrying their own session, or the server refuses them (209) and the lists are never live again until a reload.
 */
export async function closeLive(): Promise<void> {
  const open = client;
  client = null;
  try {
    if (open) await (await open).close();
  } catch {
    // never connected
  }
  Parse.CoreManager.getLiveQueryController()._clearCachedDefaultClient();
}
