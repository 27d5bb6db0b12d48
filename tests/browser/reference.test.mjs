// The reference pages in a real browser (Debian chromium via playwright-core): the GraphQL playground, the REST
// explorer and the schema page each load and run one query as a signed-in user. The session is put where the web
// app's Parse SDK keeps it, so this also checks that the pages pick up the app's session.
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

async function signedIn() {
  const context = await browser.newContext();
  await context.addInitScript(([appId, token]) => {
    localStorage.setItem('Parse/' + appId + '/currentUser', JSON.stringify({ sessionToken: token }));
  }, [APP_ID, TOKEN]);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith(BASE)) problems.push('off-site request: ' + r.url()); });
  return { page, problems };
}

test('GraphQL playground runs the pipeline query with the app session', async () => {
  const { page, problems } = await signedIn();
  await page.goto(BASE + '/graphql');
  assert.match(await page.inputValue('#headers'), new RegExp(TOKEN));
  await page.waitForSelector('#docs details');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('"deals"'));
  const json = JSON.parse(await page.textContent('#result'));
  assert.equal(json.errors, undefined);
  assert.ok(json.data.deals.count >= 2, JSON.stringify(json));
  assert.ok(json.data.deals.edges.every((e) => e.node.stage === 'qualified'));
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
