// The reference pages in a real browser (Debian chromium via playwright-core): the GraphQL playground (GraphiQL,
// built with the web app), the REST explorer and the schema page each load and run one query as a signed-in user.
// The session is put where the web app's Parse SDK keeps it, so this also checks that the pages pick up the app's
// session; GraphiQL also runs once without one, as an anonymous caller.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const APP_ID = process.env.APP_ID;
const TOKEN = process.env.SESSION_TOKEN;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser;

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: FLAGS });
});
after(async () => { await browser?.close(); });

async function open(session) {
  const context = await browser.newContext();
  if (session) {
    await context.addInitScript(([appId, token]) => {
      localStorage.setItem('Parse/' + appId + '/currentUser', JSON.stringify({ sessionToken: token }));
    }, [APP_ID, TOKEN]);
  }
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith(BASE)) problems.push('off-site request: ' + r.url()); });
  return { page, problems };
}

const signedIn = () => open(true);

async function rest(path, token) {
  const headers = { 'X-Parse-Application-Id': APP_ID, ...(token ? { 'X-Parse-Session-Token': token } : {}) };
  return (await fetch(BASE + '/parse/' + path, { headers })).json();
}

const QUERY = 'query TwoDeals { deals(first: 2) { count edges { node { title } } } }';

/** Opens GraphiQL at /graphql, types QUERY into its editor, runs it: the request as sent and the JSON answer. */
async function runInGraphiQL(page) {
  const schema = page.waitForResponse((r) => r.url() === BASE + '/graphql' && /IntrospectionQuery/.test(r.request().postData() ?? ''));
  await page.goto(BASE + '/graphql');
  assert.equal((await schema).status(), 200, 'the schema loads (introspection with the page\'s headers)');
  await page.waitForFunction(() => /X-Parse-Application-Id/.test(document.querySelector('.graphiql-editor-tool')?.textContent ?? ''));
  const headersShown = await page.locator('.graphiql-editor-tool').textContent();
  await page.locator('.graphiql-query-editor .monaco-editor').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.insertText(QUERY);
  await page.keyboard.press('Shift+ControlOrMeta+End'); // the editor closes brackets as they are typed
  await page.keyboard.press('Delete');
  // GraphiQL takes the operation's name from the edited text a moment later; running before that sends the old one
  await page.waitForFunction(() => document.querySelector('.graphiql-tab-active')?.textContent?.includes('TwoDeals'));
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === BASE + '/graphql' && r.request().postDataJSON()?.query === QUERY),
    page.click('.graphiql-execute-button'),
  ]);
  const json = await response.json();
  // and GraphiQL shows it in its response pane
  await page.waitForFunction(() => /"(data|errors)"/.test(document.querySelector('.graphiql-response')?.textContent ?? ''));
  return { request: response.request().headers(), status: response.status(), json, headersShown, shown: await page.locator('.graphiql-response').textContent() };
}

test('GraphiQL at /graphql runs a query as the user signed in to the app', async () => {
  const { page, problems } = await signedIn();
  const { request, status, json, headersShown, shown } = await runInGraphiQL(page);
  assert.match(headersShown, new RegExp(TOKEN), 'the session token is in the headers editor');
  assert.equal(request['x-parse-session-token'], TOKEN);
  assert.equal(request['x-parse-application-id'], APP_ID);
  assert.equal(status, 200);
  assert.equal(json.errors, undefined, JSON.stringify(json));
  // what this user may see, as the REST API says
  const expected = await rest('classes/Deal?count=1&limit=1000&keys=title', TOKEN);
  assert.ok(expected.count >= 2, JSON.stringify(expected));
  assert.equal(json.data.deals.count, expected.count);
  assert.equal(json.data.deals.edges.length, 2);
  const titles = new Set(expected.results.map((d) => d.title));
  for (const { node } of json.data.deals.edges) assert.ok(titles.has(node.title), node.title);
  assert.match(shown, new RegExp('"count":\\s*' + expected.count));
  assert.deepEqual(problems, []);
});

test('GraphiQL opened without a session runs the query as an anonymous caller, refused like REST', async () => {
  const { page, problems } = await open(false);
  const { request, json, headersShown } = await runInGraphiQL(page);
  assert.doesNotMatch(headersShown, /X-Parse-Session-Token/);
  assert.equal(request['x-parse-session-token'], undefined);
  assert.equal(request['x-parse-application-id'], APP_ID);
  const refused = await rest('classes/Deal?limit=1'); // Deal's class permissions require a signed-in user
  assert.equal(typeof refused.code, 'number', JSON.stringify(refused));
  assert.equal(json.data?.deals ?? null, null, JSON.stringify(json));
  assert.equal(json.errors?.[0]?.extensions?.code, refused.code, JSON.stringify(json));
  assert.deepEqual(json.errors[0].path, ['deals']);
  assert.deepEqual(problems, []);
});

test('REST explorer lists the operations and runs a find', async () => {
  const { page, problems } = await signedIn();
  await page.goto(BASE + '/api');
  await page.click('#ops button[data-op="findDeal"]');
  await page.fill('#detail input[name="where"]', JSON.stringify({ stage: 'qualified' }));
  await page.fill('#detail input[name="count"]', '1');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('HTTP'));
  assert.equal(await page.textContent('#status'), 'HTTP 200');
  const body = JSON.parse(await page.textContent('#response'));
  assert.ok(body.count >= 2 && body.results.every((d) => d.stage === 'qualified'), JSON.stringify(body));
  assert.deepEqual(problems, []);
});

test('schema page draws the ER diagram and counts objects', async () => {
  const { page, problems } = await signedIn();
  await page.goto(BASE + '/schema');
  for (const cls of ['Company', 'Contact', 'Deal', 'Activity', '_User']) {
    assert.equal(await page.locator(`svg g.entity[data-class="${cls}"]`).count(), 1, cls);
  }
  const edges = await page.locator('svg path.edge title').allTextContents();
  assert.ok(edges.includes('Activity.relatedTo → Contact') && edges.includes('Activity.relatedTo → Deal'), edges.join());
  assert.ok((await page.locator('#class-Deal table.fields tbody tr').count()) >= 10);
  await page.selectOption('#cls', 'Deal');
  await page.click('#count');
  await page.waitForFunction(() => document.getElementById('count-result').textContent !== '');
  assert.match(await page.textContent('#count-result'), /^Deal: \d+ objects$/);
  assert.deepEqual(problems, []);
});
