// Settings → API tokens in a real Chromium against a real server: a user makes a token in the app (reached from the
// user menu), copies its secret (shown once), uses it as `Authorization: Bearer` on REST from here (it acts as them:
// their objects, their permissions; read-only refuses writes), revokes it in the app, and it is refused from then on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APP_ID, APP_URL, SERVER_URL, context, expectAccessible, launch, logIn, rand, rest, shot, watchErrors } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** REST with an API token only (no session, no master key), as a script or an assistant would call it. */
async function withToken(secret, method, path, body) {
  const res = await fetch(`${SERVER_URL}/${path}`, {
    method,
    headers: { 'X-Parse-Application-Id': APP_ID, Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

const tokenRow = (page, name) => page.locator('[data-testid="token-list"] tbody tr', { hasText: name });

test('a user creates an API token in the app, uses it as a Bearer token on REST as themselves, revokes it, and it is refused', async () => {
  const username = `tok_${rand()}`;
  const password = 'pw-tokens-12345';
  const user = await rest('POST', 'users', { username, password, email: `${username}@example.com` });
  const other = await rest('POST', 'users', { username: `${username}_x`, password, email: `${username}_x@example.com` });
  const othersCompany = await rest('POST', 'classes/Company', { name: `Not yours ${rand(4)}` }, { session: other.sessionToken });

  const ctx = await context(browser);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: APP_URL });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await logIn(page, username, password);

  // reached from the user menu
  await page.getByRole('button', { name: `Account: ${username}` }).click();
  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.waitForURL(/\/settings\/tokens$/);
  await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
  await page.getByText('You have no API tokens yet.').waitFor();
  await expectAccessible(page, 'API tokens (none yet)');

  // the name is required; then made with the keyboard (Enter in the form), expiring in 30 days
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('Required.').waitFor();
  await page.getByLabel('Name').fill('e2e script');
  await page.getByLabel('Expires').selectOption({ label: 'In 30 days' });
  await page.getByLabel('Name').press('Enter');
  const shown = page.getByTestId('new-token');
  await shown.getByRole('heading', { name: 'Your new token “e2e script”' }).waitFor();
  const secretField = page.getByLabel('Token', { exact: true });
  const secret = await secretField.inputValue();
  assert.match(secret, /^pcrm_[A-Za-z0-9_-]{20,}$/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-token-secret', 'focus moves to the secret');
  await shown.getByRole('button', { name: 'Copy token' }).click();
  await shown.getByText('Token copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await expectAccessible(page, 'API tokens (secret shown)');
  await shot(page, 'tokens-created-light-desktop');

  // listed with its prefix, never its secret
  const row = tokenRow(page, 'e2e script');
  await row.getByText('Read and write').waitFor();
  const listed = await page.getByTestId('token-list').innerText();
  assert.ok(!listed.includes(secret), 'the list never shows the secret');
  const [scriptToken] = (await rest('POST', 'functions/listApiTokens', {}, { session: user.sessionToken })).result;
  const days = (Date.parse(scriptToken.expiresAt) - Date.parse(scriptToken.createdAt)) / 86_400_000;
  assert.ok(Math.abs(days - 30) < 0.01, `expires in ${days} days`);
  assert.equal(scriptToken.readOnly, false);
  assert.ok(listed.includes(scriptToken.prefix), 'listed by its prefix');

  // the token acts as its user on REST: creates as them, reads what they read, not what they cannot
  const made = await withToken(secret, 'POST', 'classes/Company', { name: `Made with a token ${rand(4)}` });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const read = await withToken(secret, 'GET', `classes/Company/${made.json.objectId}`);
  assert.equal(read.status, 200, JSON.stringify(read.json));
  assert.equal(read.json.createdBy?.objectId, user.objectId, 'created as the token’s user');
  assert.equal(read.json.ACL?.[user.objectId]?.write, true);
  const hidden = await withToken(secret, 'GET', `classes/Company/${othersCompany.objectId}`);
  assert.equal(hidden.json.code, 101, 'another user’s company stays invisible to the token');

  // a read-only one, made with the checkbox, reads and cannot write
  await shown.getByRole('button', { name: 'I have copied it' }).click();
  await shown.waitFor({ state: 'detached' });
  await page.getByLabel('Name').fill('e2e reader');
  await page.getByLabel('Read-only').check();
  await page.getByLabel('Expires').selectOption({ label: 'Never' });
  await page.getByRole('button', { name: 'Create token' }).click();
  await shown.getByRole('heading', { name: 'Your new token “e2e reader”' }).waitFor();
  const readerSecret = await secretField.inputValue();
  assert.notEqual(readerSecret, secret);
  await tokenRow(page, 'e2e reader').getByText('Read-only').waitFor();
  assert.equal((await withToken(readerSecret, 'GET', `classes/Company/${made.json.objectId}`)).status, 200);
  const refusedWrite = await withToken(readerSecret, 'PUT', `classes/Company/${made.json.objectId}`, { industry: 'x' });
  assert.equal(refusedWrite.json.code, 119, JSON.stringify(refusedWrite.json));

  // shown once: after a reload only the names and prefixes are left, and "last used" is filled in
  await page.reload();
  await tokenRow(page, 'e2e script').waitFor();
  assert.equal(await page.getByTestId('new-token').count(), 0);
  assert.ok(!(await page.content()).includes(secret) && !(await page.content()).includes(readerSecret));
  const lastUsed = tokenRow(page, 'e2e script').locator('td').nth(4); // token, access, created, expires, last used
  assert.notEqual((await lastUsed.innerText()).trim(), 'Never', 'last used is filled in');

  // revoked in the app, with the keyboard: refused at once; the other token still works
  await tokenRow(page, 'e2e script').getByRole('button', { name: 'Revoke “e2e script”' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Revoke “e2e script”?' });
  await dialog.getByText('Everything that uses this token stops working at once.', { exact: false }).waitFor();
  await expectAccessible(page, 'API tokens (revoke dialog)');
  await dialog.getByRole('button', { name: 'Revoke token' }).click();
  await page.getByText('Token “e2e script” revoked.').waitFor();
  await tokenRow(page, 'e2e script').waitFor({ state: 'detached' });
  const refused = await withToken(secret, 'GET', `classes/Company/${made.json.objectId}`);
  assert.equal(refused.json.code, 209, JSON.stringify(refused.json));
  assert.ok(refused.status >= 400);
  assert.equal((await withToken(readerSecret, 'GET', `classes/Company/${made.json.objectId}`)).status, 200);
  const [left] = (await rest('POST', 'functions/listApiTokens', {}, { session: user.sessionToken })).result;
  assert.equal(left?.name, 'e2e reader');

  assert.deepEqual(errors, []);
  await ctx.close();
});
