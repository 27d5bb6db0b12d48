// The GraphQL playground from the app: a user logs in, opens Help → GraphQL playground (a new tab at /graphql,
// GraphiQL), and a query there runs as that user — the session comes from the app, nothing is typed in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APP_URL, context, launch, logIn, rand, rest, restLogIn, watchErrors } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const QUERY = 'query TwoDeals { deals(first: 2) { count edges { node { title } } } }';

test('Help → GraphQL playground opens GraphiQL, which runs a query as the user signed in to the app', async () => {
  const username = `gql_${rand()}`;
  const password = 'pw-gql-12345';
  await rest('POST', 'users', { username, password, email: `${username}@example.com` });
  const { sessionToken } = await restLogIn(username, password);
  for (const title of [`GraphiQL one ${rand(4)}`, `GraphiQL two ${rand(4)}`]) {
    await rest('POST', 'classes/Deal', { title, stage: 'lead' }, { session: sessionToken });
  }
  // what this user may see, as REST answers it
  const visible = await rest('GET', 'classes/Deal?count=1&limit=1000&keys=title', undefined, { session: sessionToken });

  const ctx = await context(browser);
  const page = await ctx.newPage();
  await logIn(page, username, password);
  await page.getByRole('button', { name: 'Help' }).click();
  const [playground] = await Promise.all([
    ctx.waitForEvent('page'),
    page.getByRole('link', { name: 'GraphQL playground' }).click(),
  ]);
  const errors = watchErrors(playground);
  const offSite = [];
  playground.on('request', (r) => { if (!r.url().startsWith(APP_URL)) offSite.push(r.url()); });
  await playground.waitForURL(`${APP_URL}/graphql`);
  await playground.locator('.graphiql-execute-button').waitFor();
  await playground.waitForFunction(() => /X-Parse-Session-Token/.test(document.querySelector('.graphiql-editor-tool')?.textContent ?? ''));

  await playground.locator('.graphiql-query-editor .monaco-editor').click();
  await playground.keyboard.press('ControlOrMeta+a');
  await playground.keyboard.insertText(QUERY);
  await playground.keyboard.press('Shift+ControlOrMeta+End'); // drop the brackets the editor closed while typing
  await playground.keyboard.press('Delete');
  await playground.waitForFunction(() => document.querySelector('.graphiql-tab-active')?.textContent?.includes('TwoDeals'));
  const [response] = await Promise.all([
    playground.waitForResponse((r) => r.url() === `${APP_URL}/graphql` && r.request().postDataJSON()?.query === QUERY),
    playground.locator('.graphiql-execute-button').click(),
  ]);
  // the session is the one the app signed in with (the SDK's, not the REST log-in above: a session of its own)
  const sent = response.request().headers()['x-parse-session-token'];
  assert.ok(sent && sent !== sessionToken, 'the app session, not the test set-up one');
  const me = await rest('GET', 'users/me', undefined, { session: sent });
  assert.equal(me.username, username);

  const json = await response.json();
  assert.equal(json.errors, undefined, JSON.stringify(json));
  assert.equal(json.data.deals.count, visible.count);
  assert.equal(json.data.deals.edges.length, Math.min(2, visible.count));
  const titles = new Set(visible.results.map((d) => d.title));
  for (const { node } of json.data.deals.edges) assert.ok(titles.has(node.title), node.title);
  await playground.waitForFunction(
    (count) => new RegExp(`"count":\\s*${count}\\b`).test(document.querySelector('.graphiql-response')?.textContent ?? ''),
    visible.count,
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(offSite, [], 'everything from this server, no CDN');
  await ctx.close();
});
