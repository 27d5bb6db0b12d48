// Offline (issue 13) in a real Chromium: pinned pages browsed and reloaded without network (the service worker keeps
// the app shell), edits queued in the outbox and counted, replayed on reconnect (checked over REST, no duplicates),
// and a colleague's edit made meanwhile shown as a conflict and merged by the user's choice.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APP_URL, APP_ID, SERVER_URL, boardReady, card, column, context, launch, logIn, rand, rest, watchErrors } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function signUp(username, password) {
  const res = await fetch(`${SERVER_URL}/users`, {
    method: 'POST',
    headers: { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password, email: `${username}@example.com` }),
  });
  const json = await res.json();
  assert.ok(res.ok, JSON.stringify(json));
  return json;
}

const where = (w) => `where=${encodeURIComponent(JSON.stringify(w))}`;

test('offline: browse pinned pages, reload, edit, see the outbox, reconnect, sync, and merge a conflict', async () => {
  const user = `off_${rand()}`;
  const password = 'pw-offline-123';
  const me = await signUp(user, password);
  const as = { session: me.sessionToken };
  const tag = rand(4);
  const moved = await rest('POST', 'classes/Deal', { title: `Harbor cranes ${tag}`, amount: 1000, stage: 'lead' }, as);
  const contested = await rest('POST', 'classes/Deal', { title: `Tidal audit ${tag}`, amount: 2000, stage: 'lead' }, as);
  const doomed = await rest('POST', 'classes/Deal', { title: `Old lead ${tag}`, amount: 10, stage: 'lead' }, as);

  const ctx = await context(browser);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await logIn(page, user, password);
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined);

  // online: open what will be needed offline (pinned as it is read)
  await page.goto(`${APP_URL}/pipeline`);
  await boardReady(page);
  await column(page, 'lead').locator('[data-deal-id]', { hasText: `Tidal audit ${tag}` }).waitFor();
  for (const d of [contested, doomed]) {
    await page.goto(`${APP_URL}/deals/${d.objectId}`);
    await page.getByRole('heading', { name: new RegExp(`${tag}$`) }).waitFor();
  }
  await page.goto(`${APP_URL}/contacts`);
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  await page.goto(`${APP_URL}/pipeline`);
  await boardReady(page);

  // offline: the indicator says so; a reload still opens the app and the pinned board
  await ctx.setOffline(true);
  await page.getByTestId('offline-status').getByText('Offline').waitFor();
  const shell = await page.reload();
  assert.equal(await shell.headerValue('x-crm-shell'), 'kept', 'the page came from the service worker\'s cache');
  await boardReady(page);
  await card(page, `Harbor cranes ${tag}`).waitFor();
  await page.getByTestId('offline-status').getByText('Offline').waitFor();

  // a stage move, offline
  await card(page, `Harbor cranes ${tag}`).focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await column(page, 'qualified').locator('[data-deal-id]', { hasText: `Harbor cranes ${tag}` }).waitFor();
  await page.getByTestId('outbox-count').getByText('Waiting to sync (1)').waitFor();

  // a contact created offline, then a deal pointing to it, then an activity logged on that deal and completed
  // (in-app navigation from here on: the app is a single page, offline as online)
  const contactName = `Robin Offline ${tag}`;
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Contacts' }).click();
  await page.getByRole('button', { name: 'New contact' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill(contactName);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/contacts\/tmp\w+$/);
  await page.getByRole('heading', { name: contactName }).waitFor();
  await page.getByRole('button', { name: 'New deal' }).click();
  await dialog.getByLabel('Title').fill(`Robin's deal ${tag}`);
  await dialog.getByLabel('Amount').fill('3300');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: `Robin's deal ${tag}` }).click();
  await page.waitForURL(/\/deals\/tmp\w+$/);
  await page.getByRole('heading', { name: `Robin's deal ${tag}` }).waitFor();
  const subject = `Call Robin ${tag}`;
  await page.getByRole('button', { name: 'Log activity' }).click();
  await dialog.getByText('Call', { exact: true }).click();
  await dialog.getByLabel('Subject').fill(subject);
  await dialog.getByRole('button', { name: 'Save activity' }).click();
  await dialog.waitFor({ state: 'detached' });
  const item = page.locator('[data-activity-id]', { hasText: subject });
  await item.getByRole('button', { name: `Mark “${subject}” done` }).click();
  await item.getByRole('button', { name: `Re-open “${subject}”` }).waitFor();
  const count = page.getByTestId('outbox-count');
  await count.getByText('Waiting to sync (5)').waitFor();

  // an edit of a deal a colleague is about to change too (opened from the board, by keyboard)
  await nav.getByRole('link', { name: 'Pipeline' }).click();
  await boardReady(page);
  await card(page, `Tidal audit ${tag}`).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: `Tidal audit ${tag}` }).waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  await dialog.getByLabel('Title').fill(`Tidal audit (mine) ${tag}`);
  await dialog.getByLabel('Amount').fill('2500');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: `Tidal audit (mine) ${tag}` }).waitFor();

  // a delete
  await nav.getByRole('link', { name: 'Pipeline' }).click();
  await boardReady(page);
  await card(page, `Old lead ${tag}`).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: `Old lead ${tag}` }).waitFor();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/\/pipeline$/);
  await count.getByText('Waiting to sync (7)').waitFor();

  // nothing reached the server yet
  assert.equal((await rest('GET', `classes/Contact?${where({ name: contactName })}`)).results.length, 0);
  assert.equal((await rest('GET', `classes/Deal/${moved.objectId}`)).stage, 'lead');

  // the outbox survives a reload (still offline), and the board shows the queued writes
  await page.reload();
  await boardReady(page);
  await column(page, 'qualified').locator('[data-deal-id]', { hasText: `Harbor cranes ${tag}` }).waitFor();
  await column(page, 'lead').locator('[data-deal-id]', { hasText: `Robin's deal ${tag}` }).waitFor();
  await count.getByText('Waiting to sync (7)').waitFor();
  assert.equal(await card(page, `Old lead ${tag}`).count(), 0);

  // meanwhile a colleague changes the contested deal's amount
  await rest('PUT', `classes/Deal/${contested.objectId}`, { amount: 9999 });

  // the answer to the contact's create is lost on the way back (the server did write it): the replay stops, and
  // its retry, with the same request id, gets the first answer instead of writing a second contact
  let lost = 0;
  await page.route('**/parse/classes/Contact', async (route) => {
    if (route.request().method() !== 'POST' || lost > 0) return route.continue();
    lost += 1;
    await route.fetch();
    await route.abort('connectionreset');
  });

  // back online: the replay stops at the conflict and shows both versions
  await ctx.setOffline(false);
  const conflict = page.getByRole('dialog', { name: 'Changed by someone else' });
  await conflict.waitFor({ timeout: 30_000 }); // after the lost answer's retry, on the replay's next tick (5 s)
  const amountRow = conflict.locator('tr[data-field="amount"]');
  assert.equal((await amountRow.locator('.mine').innerText()).trim(), '2500');
  assert.equal((await amountRow.locator('.theirs').innerText()).trim(), '9999');
  // merge: my title, their amount
  await conflict.getByRole('checkbox', { name: 'Use your value for amount' }).uncheck();
  await conflict.getByRole('button', { name: 'Merge selected fields' }).click();
  await conflict.waitFor({ state: 'detached' });
  await page.getByTestId('offline-status').waitFor({ state: 'detached' });

  // the server holds what was intended, once
  assert.equal((await rest('GET', `classes/Deal/${moved.objectId}`)).stage, 'qualified');
  const contacts = (await rest('GET', `classes/Contact?${where({ name: contactName })}`)).results;
  assert.equal(lost, 1, 'one answer was lost');
  assert.equal(contacts.length, 1, 'the retried create wrote one contact');
  const robins = (await rest('GET', `classes/Deal?${where({ title: `Robin's deal ${tag}` })}`)).results;
  assert.equal(robins.length, 1);
  assert.equal(robins[0].amount, 3300);
  assert.equal(robins[0].contact?.objectId, contacts[0].objectId, 'the offline deal points to the contact created offline');
  const calls = (await rest('GET', `classes/Activity?${where({ subject })}`)).results;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].done, true, 'completed offline, on an activity created offline');
  assert.equal(calls[0].relatedTo?.objectId, robins[0].objectId);
  const merged = await rest('GET', `classes/Deal/${contested.objectId}`);
  assert.equal(merged.title, `Tidal audit (mine) ${tag}`);
  assert.equal(merged.amount, 9999);
  const gone = await fetch(`${SERVER_URL}/classes/Deal/${doomed.objectId}`, { headers: { 'X-Parse-Application-Id': APP_ID, 'X-Parse-Session-Token': me.sessionToken } });
  assert.equal(gone.status, 404);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('offline conflicts: "keep mine" overwrites based on the current version, "take theirs" drops the edit', async () => {
  const user = `off2_${rand()}`;
  const password = 'pw-offline-123';
  const me = await signUp(user, password);
  const as = { session: me.sessionToken };
  const tag = rand(4);
  const kept = await rest('POST', 'classes/Deal', { title: `Keep ${tag}`, amount: 100, stage: 'lead' }, as);
  const yielded = await rest('POST', 'classes/Deal', { title: `Yield ${tag}`, amount: 200, stage: 'lead' }, as);

  const ctx = await context(browser);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await logIn(page, user, password);
  await page.goto(`${APP_URL}/pipeline`);
  await boardReady(page);
  await card(page, `Yield ${tag}`).waitFor();

  await ctx.setOffline(true);
  await page.getByTestId('offline-status').getByText('Offline').waitFor();
  const dialog = page.getByRole('dialog');
  for (const [title, amount] of [[`Keep ${tag}`, '111'], [`Yield ${tag}`, '222']]) {
    await card(page, title).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: title }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await dialog.getByLabel('Amount').fill(amount);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipeline' }).click();
    await boardReady(page);
  }
  await page.getByTestId('outbox-count').getByText('Waiting to sync (2)').waitFor();
  // a colleague changes both meanwhile
  await rest('PUT', `classes/Deal/${kept.objectId}`, { amount: 900, notes: 'theirs' });
  await rest('PUT', `classes/Deal/${yielded.objectId}`, { amount: 800 });

  await ctx.setOffline(false);
  const conflict = page.getByRole('dialog', { name: 'Changed by someone else' });
  await conflict.getByText(`Deal “Keep ${tag}”`).waitFor();
  await conflict.getByRole('button', { name: 'Keep mine' }).click();
  await conflict.getByText(`Deal “Yield ${tag}”`).waitFor();
  await conflict.getByRole('button', { name: 'Take theirs' }).click();
  await page.getByTestId('offline-status').waitFor({ state: 'detached' });

  const keptNow = await rest('GET', `classes/Deal/${kept.objectId}`);
  assert.equal(keptNow.amount, 111, 'mine kept');
  assert.equal(keptNow.notes, undefined, 'keep mine sends my whole edit again: the form had no notes, so theirs are cleared');
  assert.equal((await rest('GET', `classes/Deal/${yielded.objectId}`)).amount, 800, 'theirs kept');
  assert.deepEqual(errors, []);
  await ctx.close();
});
