// Every main screen: no serious or critical axe-core violation, in light and dark; screenshots of each at desktop
// and phone width kept in $ARTIFACTS/screenshots (gitignored) for people to look at.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  APP_URL, DESKTOP, PHONE, boardReady, context, expectAccessible, launch, logIn, rest, shot, watchErrors,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The screens, each with how to know it is ready. */
async function screens() {
  const deal = (await rest('GET', `classes/Deal?limit=1&order=-amount&where=${encodeURIComponent(JSON.stringify({ stage: 'negotiation' }))}`)).results[0];
  const company = (await rest('GET', 'classes/Company?limit=1&order=name')).results[0];
  const contact = (await rest('GET', 'classes/Contact?limit=1&order=name')).results[0];
  return [
    { name: 'dashboard', path: '/dashboard', ready: (p) => p.getByTestId('tile-open').waitFor() },
    { name: 'pipeline', path: '/pipeline', ready: boardReady },
    { name: 'deal', path: `/deals/${deal.objectId}`, ready: (p) => p.getByTestId('stage-history').locator('li').first().waitFor() },
    { name: 'companies', path: '/companies', ready: (p) => p.locator('table tbody tr').first().waitFor() },
    { name: 'company', path: `/companies/${company.objectId}`, ready: (p) => p.getByRole('heading', { level: 1 }).waitFor() },
    { name: 'contacts', path: '/contacts', ready: (p) => p.locator('table tbody tr').first().waitFor() },
    { name: 'contact', path: `/contacts/${contact.objectId}`, ready: (p) => p.getByRole('heading', { level: 1 }).waitFor() },
    { name: 'activities', path: '/activities', ready: (p) => p.locator('#bucket-upcoming').waitFor() },
    { name: 'tokens', path: '/settings/tokens', ready: (p) => p.getByText('You have no API tokens yet.').or(p.getByTestId('token-list')).waitFor() },
  ];
}

for (const theme of ['light', 'dark']) {
  test(`every main screen is accessible and captured (${theme})`, async () => {
    const list = await screens();
    for (const viewport of [DESKTOP, PHONE]) {
      const size = viewport === DESKTOP ? 'desktop' : 'phone';
      const ctx = await context(browser, { theme, viewport });
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      // signed out
      await page.goto(`${APP_URL}/login`);
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      if (size === 'desktop') await expectAccessible(page, `login (${theme})`);
      await shot(page, `login-${theme}-${size}`);
      await page.goto(`${APP_URL}/signup`);
      await page.getByRole('button', { name: 'Create account' }).waitFor();
      if (size === 'desktop') await expectAccessible(page, `signup (${theme})`);
      // signed in, as the manager (who sees every screen at its fullest)
      await logIn(page, 'manager', 'demo-manager');
      for (const screen of list) {
        await page.goto(`${APP_URL}${screen.path}`);
        await screen.ready(page);
        await page.waitForLoadState('networkidle').catch(() => undefined);
        if (size === 'desktop') await expectAccessible(page, `${screen.name} (${theme})`);
        await shot(page, `${screen.name}-${theme}-${size}`);
      }
      // the dialogs: search, shortcuts, a form
      await page.goto(`${APP_URL}/pipeline`);
      await boardReady(page);
      await page.keyboard.press('Control+k');
      await page.getByRole('combobox', { name: 'Search companies, contacts and deals' }).fill('north');
      await page.getByRole('dialog').getByRole('option').first().waitFor();
      if (size === 'desktop') await expectAccessible(page, `search (${theme})`);
      await shot(page, `search-${theme}-${size}`);
      await page.keyboard.press('Escape');
      await page.keyboard.press('?');
      await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
      if (size === 'desktop') await expectAccessible(page, `shortcuts (${theme})`);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'New deal' }).click();
      await page.getByRole('dialog', { name: 'New deal' }).waitFor();
      if (size === 'desktop') await expectAccessible(page, `deal form (${theme})`);
      await shot(page, `deal-form-${theme}-${size}`);
      assert.deepEqual(errors, []);
      await ctx.close();
    }
  });
}
