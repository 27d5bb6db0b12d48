// The app's main flows in a real Chromium against a real server and database (demo data seeded).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  APP_URL, boardReady, card, column, context, eventually, launch, logIn, rand, rest, restLogIn, watchErrors,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const me = `e2e_${rand()}`;
const password = 'pw-e2e-12345';
const companyName = `Zephyr Robotics ${rand(4)}`;
const contactName = `Quinn Harlow ${rand(4)}`;
const dealTitle = `Zephyr fleet ${rand(4)}`;

async function openDashboardTotals(page) {
  await page.goto(`${APP_URL}/dashboard`);
  const tile = page.getByTestId('tile-open');
  await tile.waitFor();
  return (await tile.innerText()).replace(/\s+/g, ' ');
}

test('a new user signs up, creates company → contact → deal, moves it by mouse and keyboard, sees the history, logs and completes an activity, and the dashboard changes', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const errors = watchErrors(page);

  // sign up
  await page.goto(`${APP_URL}/signup`);
  await page.getByLabel('Username').fill(me);
  await page.getByLabel('E-mail').fill(`${me}@example.com`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/dashboard$/);
  const before = await openDashboardTotals(page);
  assert.match(before, /\$0/);

  // company
  await page.goto(`${APP_URL}/companies`);
  await page.getByRole('button', { name: 'New company' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill(companyName);
  await dialog.getByLabel('Website').fill('Zephyr-Robotics.example.com/');
  await dialog.getByLabel('Industry').fill('Robotics');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/companies\/\w+$/);
  await page.getByRole('heading', { name: companyName }).waitFor();
  await page.getByText('https://zephyr-robotics.example.com', { exact: true }).waitFor(); // normalised by the server

  // contact at the company (from its page); a bad e-mail is refused on its field first
  await page.getByRole('button', { name: 'New contact' }).click();
  await dialog.getByLabel('Name').fill(contactName);
  await dialog.getByLabel('E-mail').fill('quinn@nowhere');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('This is not a valid e-mail address.').waitFor();
  await dialog.getByLabel('E-mail').fill('Quinn@Zephyr.example.com');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: contactName }).click();
  await page.waitForURL(/\/contacts\/\w+$/);
  await page.getByText('quinn@zephyr.example.com').waitFor();

  // deal for the contact (company and contact prefilled); required title first
  await page.getByRole('button', { name: 'New deal' }).click();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('Required.').waitFor();
  await dialog.getByLabel('Title').fill(dealTitle);
  await dialog.getByLabel('Amount').fill('48000');
  await dialog.getByLabel('Expected close').fill('2030-06-30');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: dealTitle }).waitFor();

  // the board: drag with the mouse from Lead to Qualified
  await page.goto(`${APP_URL}/pipeline`);
  await boardReady(page);
  const deal = card(page, dealTitle);
  await column(page, 'lead').locator('[data-deal-id]', { hasText: dealTitle }).waitFor();
  const from = await deal.boundingBox();
  const target = await column(page, 'qualified').boundingBox();
  await page.mouse.move(from.x + 40, from.y + 20);
  await page.mouse.down();
  await page.mouse.move(from.x + 80, from.y + 40, { steps: 4 });
  await page.mouse.move(target.x + target.width / 2, target.y + 120, { steps: 8 });
  await page.mouse.up();
  await column(page, 'qualified').locator('[data-deal-id]', { hasText: dealTitle }).waitFor();
  await page.getByText(`“${dealTitle}” moved to qualified.`).waitFor();

  // ... and with the keyboard from Qualified to Proposal: Space, →, Space
  await card(page, dealTitle).focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await column(page, 'proposal').locator('[data-deal-id]', { hasText: dealTitle }).waitFor();
  await page.getByText(`“${dealTitle}” moved to proposal.`).waitFor();
  assert.equal(await column(page, 'lead').locator('[data-deal-id]', { hasText: dealTitle }).count(), 0);

  // the deal page: the stage history has all three steps
  await card(page, dealTitle).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/deals\/\w+$/);
  const history = page.getByTestId('stage-history');
  await history.locator('li').nth(2).waitFor();
  const steps = await history.locator('li').allInnerTexts();
  assert.equal(steps.length, 3, steps.join(' | '));
  assert.match(steps[0], /Lead/);
  assert.match(steps[1], /Lead\s*→?\s*(to)?\s*Qualified/);
  assert.match(steps[2], /Qualified\s*→?\s*(to)?\s*Proposal/);

  // log an activity, then complete it
  await page.getByRole('button', { name: 'Log activity' }).click();
  await dialog.getByText('Meeting').click();
  await dialog.getByLabel('Subject').fill('Demo the fleet planner');
  await dialog.getByRole('button', { name: 'Save activity' }).click();
  await dialog.waitFor({ state: 'detached' });
  const item = page.locator('[data-activity-id]', { hasText: 'Demo the fleet planner' });
  await item.waitFor();
  await item.getByRole('button', { name: 'Mark “Demo the fleet planner” done' }).click();
  await item.getByText(/^Done /).waitFor();
  // the app shows it done at once (an optimistic write): the server has it a moment later
  const where = encodeURIComponent(JSON.stringify({ subject: 'Demo the fleet planner' }));
  const activity = await eventually(async () => {
    const [found] = (await rest('GET', `classes/Activity?where=${where}`)).results;
    return found?.done === true ? found : null;
  }, 'the server has the activity done');
  assert.ok(activity.completedAt, 'the server stamped completedAt');

  // the dashboard now counts the deal
  const afterTotals = await openDashboardTotals(page);
  assert.match(afterTotals, /\$48,000/);
  assert.match(afterTotals, /1 open deal/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('won asks for the final amount, lost for a reason; a refused move is rolled back with a message', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await logIn(page, me, password);
  await page.goto(`${APP_URL}/pipeline`);
  await boardReady(page);
  await card(page, dealTitle).focus();
  await page.keyboard.press('Space');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight'); // proposal → negotiation → won → lost
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Final amount').fill('51000');
  await dialog.getByRole('button', { name: 'Mark as won' }).click();
  await column(page, 'won').locator('[data-deal-id]', { hasText: dealTitle }).waitFor();
  await column(page, 'won').getByText('$51,000').waitFor();

  // the server refuses a move it cannot accept (here: the session's user lost write access) → back, with a message
  const byTitle = `classes/Deal?where=${encodeURIComponent(JSON.stringify({ title: dealTitle }))}`;
  const deal = await eventually(async () => {
    const [found] = (await rest('GET', byTitle)).results;
    return found?.stage === 'won' ? found : null; // the board shows the move before the server has it
  }, 'the server has the deal won');
  await rest('PUT', `classes/Deal/${deal.objectId}`, { ACL: { 'role:Managers': { read: true, write: true }, [deal.assignedTo.objectId]: { read: true } } });
  await card(page, dealTitle).focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').getByLabel('Reason').fill('Budget cut');
  await page.getByRole('dialog').getByRole('button', { name: 'Mark as lost' }).click();
  await page.getByText(`Could not move “${dealTitle}”; it is back where it was.`).waitFor();
  await column(page, 'won').locator('[data-deal-id]', { hasText: dealTitle }).waitFor();
  assert.equal(await column(page, 'lost').locator('[data-deal-id]', { hasText: dealTitle }).count(), 0);
  await ctx.close();
});

test('a rep never sees another rep’s deal (board, search, dashboard); a manager sees it and can filter by owner', async () => {
  const secret = `Alice private ${rand(6)}`;
  const alice = await restLogIn('alice', 'demo-alice');
  const bobCtx = await context(browser);
  const bob = await bobCtx.newPage();
  await logIn(bob, 'bob', 'demo-bob');
  const bobBefore = await openDashboardTotals(bob);

  await rest('POST', 'classes/Deal', { title: secret, amount: 777000, stage: 'lead', expectedCloseDate: { __type: 'Date', iso: '2030-01-15T00:00:00.000Z' } }, { session: alice.sessionToken });

  // board
  await bob.goto(`${APP_URL}/pipeline`);
  await boardReady(bob);
  assert.equal(await card(bob, secret).count(), 0);
  // search
  await bob.keyboard.press('Control+k');
  await bob.getByRole('combobox', { name: 'Search companies, contacts and deals' }).fill(secret);
  await bob.getByText(`Nothing found for “${secret}”.`).waitFor();
  await bob.keyboard.press('Escape');
  // dashboard figures are unchanged for bob
  assert.equal(await openDashboardTotals(bob), bobBefore);
  await bobCtx.close();

  // the manager: on the board (filtered to alice), in search, in alice's dashboard figures
  const mgrCtx = await context(browser);
  const mgr = await mgrCtx.newPage();
  await logIn(mgr, 'manager', 'demo-manager');
  await mgr.goto(`${APP_URL}/pipeline`);
  await boardReady(mgr);
  await mgr.getByLabel('Owner').selectOption({ label: 'alice' });
  await boardReady(mgr);
  await card(mgr, secret).waitFor();
  const ownerLines = await mgr.locator('[data-deal-id] .owner').allInnerTexts();
  assert.ok(ownerLines.length > 0 && ownerLines.every((o) => o.trim().endsWith('alice')), ownerLines.join(','));
  await mgr.keyboard.press('Control+k');
  await mgr.getByRole('combobox', { name: 'Search companies, contacts and deals' }).fill(secret);
  await mgr.getByRole('option', { name: new RegExp(secret) }).waitFor();
  await mgr.keyboard.press('Enter');
  await mgr.waitForURL(/\/deals\/\w+$/);
  await mgr.getByRole('heading', { name: secret }).waitFor();
  await mgrCtx.close();
});

test('an expired session sends the user to log-in, and back to the page they wanted afterwards', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await logIn(page, 'carol', 'demo-carol');
  await page.goto(`${APP_URL}/companies`);
  await page.getByRole('heading', { name: 'Companies' }).waitFor();
  // the server ends every session of carol's (as expiry or a revocation elsewhere would)
  const sessions = (await rest('GET', 'sessions?limit=1000&include=user')).results.filter((s) => s.user?.username === 'carol');
  assert.ok(sessions.length > 0);
  for (const s of sessions) await rest('DELETE', `sessions/${s.objectId}`);
  // the next thing carol does hits the server: she lands on log-in, told why
  await page.getByRole('link', { name: 'Contacts' }).click();
  await page.waitForURL(/\/login\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('redirect'), '/contacts');
  await page.getByText('Your session has ended. Log in again to continue where you were.').waitFor();
  await page.getByLabel('Username or e-mail').fill('carol');
  await page.getByLabel('Password').fill('demo-carol');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/contacts$/);

  // the same on a reload: the remembered session is checked in the background, and a dead one leads to log-in
  for (const s of (await rest('GET', 'sessions?limit=1000&include=user')).results.filter((x) => x.user?.username === 'carol')) {
    await rest('DELETE', `sessions/${s.objectId}`);
  }
  await page.reload();
  await page.waitForURL(/\/login\?/);
  assert.equal(new URL(page.url()).searchParams.get('redirect'), '/contacts');
  await ctx.close();
});

test('deleting a deal that has activities explains the cascade, and deletes both', async () => {
  const alice = await restLogIn('alice', 'demo-alice');
  const title = `Cascade me ${rand(5)}`;
  const deal = await rest('POST', 'classes/Deal', { title, amount: 1000 }, { session: alice.sessionToken });
  const pointer = { __type: 'Pointer', className: 'Deal', objectId: deal.objectId };
  await rest('POST', 'classes/Activity', { type: 'call', subject: 'Call before deleting', relatedTo: pointer }, { session: alice.sessionToken });
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await logIn(page, 'alice', 'demo-alice');
  await page.goto(`${APP_URL}/deals/${deal.objectId}`);
  await page.getByRole('heading', { name: title }).waitFor();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete “${title}”?` });
  await dialog.getByText('It has 1 activity. Deleting it deletes the activity too; this cannot be undone.').waitFor();
  await dialog.getByRole('button', { name: 'Delete with 1 activity' }).click();
  await page.waitForURL(/\/pipeline$/);
  const ofDeal = `classes/Activity?count=1&limit=0&where=${encodeURIComponent(JSON.stringify({ relatedTo: pointer }))}`;
  await eventually(async () => (await rest('GET', ofDeal)).count === 0, 'the deal\'s activity is deleted on the server');
  await ctx.close();
});

test('a password reset is requested with a clear confirmation', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(`${APP_URL}/login`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  // (log-in's "Username or e-mail" also matches the label 'E-mail': wait until the reset page is there)
  await page.waitForURL(/\/reset-password$/);
  await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
  await page.getByLabel('E-mail').fill('not-an-address');
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByText('This is not a valid e-mail address.').waitFor();
  await page.getByLabel('E-mail').fill(`${me}@example.com`);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByText(`If an account uses ${me}@example.com, a reset link is on its way. Check your inbox.`).waitFor();
  await ctx.close();
});

test('log-in errors are explained: wrong password, then a locked account', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(`${APP_URL}/login`);
  await page.getByLabel('Username or e-mail').fill(me);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong username or password.').waitFor();
  for (let i = 0; i < 5; i++) {
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForTimeout(150);
  }
  await page.getByText(/this account is locked/).waitFor();
  await ctx.close();
});
