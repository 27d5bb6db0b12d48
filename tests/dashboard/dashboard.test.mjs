// Parse Dashboard (npm parse-dashboard, unchanged) against parsecrm, in Debian's Chromium via playwright-core.
// Started by tests/test_dashboard.py, which runs our server and the dashboard and passes:
//   DASHBOARD_URL, DASHBOARD_USER, DASHBOARD_PASS, PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY, CHROMIUM
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (tests/test_dashboard.py sets it)`);
  return value;
};
const DASHBOARD = env('DASHBOARD_URL');
const SERVER = env('PARSE_SERVER_URL');
const HEADERS = { 'X-Parse-Application-Id': env('PARSE_APP_ID'), 'X-Parse-Master-Key': env('PARSE_MASTER_KEY') };
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function rest(path, query) {
  const url = new URL(`${SERVER}/${path}`);
  for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, JSON.stringify(v));
  const res = await fetch(url, { headers: HEADERS });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function eventually(check, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const nonEmpty = (list) => (list.length ? list : null);

describe('Parse Dashboard against parsecrm', () => {
  let browser;
  let page;
  const serverErrors = [];

  before(async () => {
    browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: FLAGS });
    page = await browser.newPage({ viewport: { width: 3000, height: 1000 } });
    page.on('response', (r) => {
      if (r.url().startsWith(SERVER) && r.status() >= 400) serverErrors.push(`${r.status()} ${r.url()}`);
    });
  });
  after(async () => browser && (await browser.close()));

  test('log in', async () => {
    await page.goto(`${DASHBOARD}/login`);
    await page.fill('input[name=username]', env('DASHBOARD_USER'));
    await page.fill('input[name=password]', env('DASHBOARD_PASS'));
    await page.click('input[type=submit]');
    await page.waitForURL(/\/apps/);
    await page.getByText('CRM', { exact: true }).first().waitFor();
  });

  test('open Deal: every row, with the schema as columns', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/browser/Deal`);
    await page.locator('span', { hasText: /^Dash deal won 1$/ }).waitFor();
    const columns = await page.locator('div[draggable=true] > div:first-child').allTextContents();
    for (const name of ['objectId', 'title', 'stage', 'amount', 'assignedTo', 'createdAt']) {
      assert.ok(columns.includes(name), `column ${name} in ${columns}`);
    }
    for (const title of ['Dash deal won 1', 'Dash deal won 2', 'Dash deal lead 1']) {
      await page.locator('span', { hasText: new RegExp(`^${title}$`) }).waitFor();
    }
  });

  test('filter by stage', async () => {
    // the dashboard's own shareable filter URL (what its Filter menu writes into the address bar)
    const filters = JSON.stringify([{ field: 'stage', constraint: 'eq', compareTo: 'won' }]);
    await page.goto(`${DASHBOARD}/apps/CRM/browser/Deal?filters=${encodeURIComponent(filters)}`);
    await page.locator('span', { hasText: /^Dash deal won 2$/ }).waitFor();
    await page.locator('span', { hasText: /^Dash deal won 1$/ }).waitFor();
    assert.equal(await page.locator('span', { hasText: /^Dash deal lead 1$/ }).count(), 0);
  });

  test('edit a cell; the change is there over REST', async () => {
    const cell = page.locator('span', { hasText: /^Dash deal won 1$/ }).first();
    await cell.dblclick();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Renamed in the dashboard');
    await page.keyboard.press('Enter');
    await page.locator('span', { hasText: /^Renamed in the dashboard$/ }).waitFor();
    const found = await eventually(async () => nonEmpty(
      (await rest('classes/Deal', { where: { title: 'Renamed in the dashboard' } })).results));
    assert.equal(found.length, 1);
    assert.equal(found[0].stage, 'won');
  });

  test('add a row; it is there over REST', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/browser/Deal`);
    await page.locator('span', { hasText: /^Renamed in the dashboard$/ }).waitFor();
    const columns = await page.locator('div[draggable=true] > div:first-child').allTextContents();
    await page.getByText('Add Row', { exact: true }).click();
    const fresh = page.locator('span', { hasText: /^\(required\)$/ }).first();  // the new row's title cell
    await fresh.dblclick();
    await page.keyboard.type('Created in the dashboard');
    await page.keyboard.press('Enter');
    const row = page.locator('span', { hasText: /^Created in the dashboard$/ }).locator('..');
    await row.locator('span').nth(columns.indexOf('amount') + 1).dblclick();
    await page.keyboard.type('4200');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const found = await eventually(async () => nonEmpty(
      (await rest('classes/Deal', { where: { title: 'Created in the dashboard' } })).results));
    assert.equal(found?.length, 1, 'the new row reached the server');
    assert.equal(found[0].amount, 4200);
    assert.equal(found[0].stage, 'lead');  // the CRM's default stage, applied by its rules
  });

  test('delete a row; it is gone over REST', async () => {
    const row = page.locator('span', { hasText: /^Dash deal lead 1$/ }).locator('..');
    await row.locator('input[type=checkbox]').check();
    await page.getByText('Edit', { exact: true }).click();
    await page.getByText('Delete this row', { exact: true }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const gone = await eventually(async () =>
      (await rest('classes/Deal', { where: { title: 'Dash deal lead 1' } })).results.length === 0);
    assert.ok(gone, 'the deleted row is gone from the server');
  });

  test('add a column to the schema', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/browser/DashNote`);
    await page.getByText('Add a new column', { exact: true }).click();
    await page.getByPlaceholder('Give it a good name...').fill('priority');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const added = await eventually(async () => (await rest('schemas/DashNote')).fields.priority);
    assert.deepEqual(added, { type: 'String' });
  });

  test('edit the class-level permissions', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/browser/DashNote`);
    await page.getByText('Security', { exact: true }).click();
    await page.getByText('Class Level Permissions', { exact: true }).click();
    await page.locator('xpath=//div[div[text()="Public"]]//span[text()="Write"]').click();
    await page.getByText('Save CLP', { exact: true }).click();
    const clp = await eventually(async () => {
      const found = (await rest('schemas/DashNote')).classLevelPermissions;
      return found.create['*'] ? null : found;
    });
    assert.ok(clp, 'public write was switched off');
    assert.deepEqual([clp.create, clp.update, clp.delete], [{}, {}, {}]);
    assert.equal(clp.find['*'], true);
  });

  test('run a cloud function from the API console', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/api_console`);
    await page.getByPlaceholder('classes/_User').fill('functions/pipelineSummary');
    // the "Use Master Key?" switch: the second cell of the field row that holds that label
    await page.locator('xpath=//div[text()="Use Master Key?"]/../../following-sibling::div[1]/div').click();
    await page.getByText('Send Query', { exact: true }).click();
    await page.getByText('"winRate"').first().waitFor();
  });

  test('run a job from the Jobs page; Job Status shows it succeeded', async () => {
    // the server runs tests/fixtures/auth_hooks.py, whose jobs include countUsers
    await page.goto(`${DASHBOARD}/apps/CRM/jobs/all`);
    await page.getByText('countUsers', { exact: true }).waitFor();
    await page.locator('tr', { hasText: 'countUsers' }).getByText('Run...', { exact: true }).click();
    await page.getByText('Run countUsers').waitFor();
    await page.locator('textarea').last().fill('{"from": "dashboard"}');
    await page.getByText('Run', { exact: true }).last().click();
    await page.getByText('Success!', { exact: true }).waitFor();
    const done = await eventually(async () =>
      nonEmpty((await rest('classes/_JobStatus', { where: { jobName: 'countUsers', status: 'succeeded' } })).results));
    assert.ok(done, 'the job ran to success');
    assert.deepEqual(done[0].params.input, { from: 'dashboard' });
    await page.goto(`${DASHBOARD}/apps/CRM/jobs/status`);
    await page.getByText('succeeded').first().waitFor();
  });

  test('view the config', async () => {
    await page.goto(`${DASHBOARD}/apps/CRM/config`);
    await page.getByText('dashboardGreeting', { exact: true }).waitFor();
    await page.getByText('hello from parsecrm').first().waitFor();
  });

  test('no request the dashboard made failed', () => {
    assert.deepEqual(serverErrors, []);
  });
});
