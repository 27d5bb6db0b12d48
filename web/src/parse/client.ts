/**
 * The one place the Parse SDK is initialised. The server writes its settings into index.html
 * (`<script id="crm-config">`, see src/parsecrm/web.py); tests in Node pass them explicitly.
 */
import Parse from 'parse';

export type PObject = InstanceType<typeof Parse.Object>;
export type PQuery = InstanceType<typeof Parse.Query>;

export interface ClientConfig {
  appId: string;
  /** Absolute URL of the API, e.g. http://127.0.0.1:1337/parse (the live-query WebSocket URL is derived from it). */
  serverURL: string;
  javascriptKey?: string | null;
  /** Deal stages the server accepts, in pipeline order (CRM_DEAL_STAGES). */
  stages: string[];
}

export const DEFAULT_STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

let current: ClientConfig | null = null;

/** Reads the configuration the server embedded in the page (falls back to `npm run dev` defaults). */
export function configFromPage(doc: Document = document): ClientConfig {
  const raw = doc.getElementById('crm-config')?.textContent;
  const page = raw ? (JSON.parse(raw) as Partial<ClientConfig> & { mountPath?: string }) : {};
  return {
    appId: page.appId ?? import.meta.env.VITE_PARSE_APP_ID ?? 'crm',
    serverURL: new URL(page.mountPath ?? '/parse', doc.location.origin).href.replace(/\/$/, ''),
    javascriptKey: page.javascriptKey ?? import.meta.env.VITE_PARSE_JAVASCRIPT_KEY ?? null,
    stages: page.stages?.length ? page.stages : DEFAULT_STAGES,
  };
}

export function initParse(config: ClientConfig): typeof Parse {
  Parse.initialize(config.appId, config.javascriptKey ?? (undefined as unknown as string));
  Parse.serverURL = config.serverURL;
  current = config;
  return Parse;
}

export function config(): ClientConfig {
  if (!current) throw new Error('initParse() has not been called');
  return current;
}

export { Parse };

type Listener = () => void;
let sessionExpired: Listener = () => {};

/** Called once by the auth store: what to do when the server says the session is gone (209). */
export function onSessionExpired(listener: Listener): void {
  sessionExpired = listener;
}

/** The session turned out to be gone outside an API call (e.g. the background check on start). */
export function reportSessionExpired(): void {
  sessionExpired();
}

/** Runs one API call; an expired session (209/206) is reported to the auth store before the error propagates. */
export async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 209 || code === 206) sessionExpired();
    throw err;
  }
}
