/**
 * What the GraphQL playground sends with every request: the REST headers of this server (application id, and the
 * JavaScript key when the server has one), plus the session token of the user signed in to the web app, which the
 * Parse SDK keeps in localStorage under `Parse/<appId>/currentUser` (same origin, so the playground reads it). The
 * headers are shown, and editable, in GraphiQL's headers editor. The master key is never put in the page.
 */

export interface PlaygroundConfig {
  appId: string;
  javascriptKey: string | null;
  /** Where the queries go: the page is served at the GraphQL endpoint itself. */
  endpoint: string;
}

/** Reads the settings the server wrote into the page (`<script id="crm-config">`, like the app's index.html). */
export function playgroundConfig(doc: Document = document): PlaygroundConfig {
  const raw = doc.getElementById('crm-config')?.textContent;
  const page = raw ? (JSON.parse(raw) as { appId?: string; javascriptKey?: string | null; graphqlPath?: string }) : {};
  return {
    appId: page.appId ?? 'crm',
    javascriptKey: page.javascriptKey ?? null,
    endpoint: page.graphqlPath ?? '/graphql',
  };
}

/** The app's session token, or null when nobody is signed in (or the stored user cannot be read). */
export function sessionToken(appId: string, storage: Pick<Storage, 'getItem'> | undefined): string | null {
  try {
    const user = JSON.parse(storage?.getItem(`Parse/${appId}/currentUser`) ?? 'null') as { sessionToken?: unknown };
    return typeof user?.sessionToken === 'string' && user.sessionToken ? user.sessionToken : null;
  } catch {
    return null;
  }
}

/** The headers editor's starting text (JSON, as GraphiQL expects it). */
export function initialHeaders(config: PlaygroundConfig, storage: Pick<Storage, 'getItem'> | undefined): string {
  const headers: Record<string, string> = { 'X-Parse-Application-Id': config.appId };
  if (config.javascriptKey) headers['X-Parse-Javascript-Key'] = config.javascriptKey;
  const token = sessionToken(config.appId, storage);
  if (token) headers['X-Parse-Session-Token'] = token;
  return JSON.stringify(headers, null, 2);
}
