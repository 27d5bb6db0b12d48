// Shared set-up for the browser tests (node --test picks up *.test.mjs only).
//
// Environment (set by tests/test_webapp.py from the same server fixture pytest uses):
//   APP_URL           e.g. http://127.0.0.1:41234        (the server serving web/dist at /)
//   PARSE_SERVER_URL  e.g. http://127.0.0.1:41234/parse
//   PARSE_APP_ID, PARSE_MASTER_KEY
//   ARTIFACTS         where screenshots go (gitignored)
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} must be set (tests/test_webapp.py sets it)`);
  return value;
}

export const APP_URL = required('APP_URL').replace(/\/+$/, '');
export const SERVER_URL = required('PARSE_SERVER_URL').replace(/\/+$/, '');
export const APP_ID = required('PARSE_APP_ID');
export const MASTER_KEY = required('PARSE_MASTER_KEY');
export const ARTIFACTS = process.env.ARTIFACTS || new URL('../test-results', import.meta.url).pathname;
export const SHOTS = `${ARTIFACTS}/screenshots`;
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
}

export const DESKTOP = { width: 1400, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** A new browser context (its own storage: one user's session) with the theme and size asked for. */
export async function context(browser, { theme = 'light', viewport = DESKTOP } = {}) {
  const ctx = await browser.newContext({ viewport, colorScheme: theme, locale: 'en-US', timezoneId: 'UTC' });
  ctx.setDefaultTimeout(15_000);
  return ctx;
}

/** Fails the test on any uncaught error in the page (the live-query socket's refusals are network noise). */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

export function rand(n = 6) {
  return randomBytes(n).toString('hex').slice(0, n);
}

export async function logIn(page, username, password) {
  await page.goto(`${APP_URL}/login`);
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/** REST as the master key or a session (test set-up only; the app itself never sees the master key). */
export async function rest(method, path, body, { session } = {}) {
  const headers = { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' };
  if (session) headers['X-Parse-Session-Token'] = session;
  else headers['X-Parse-Master-Key'] = MASTER_KEY;
  const res = await fetch(`${SERVER_URL}/${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Polls `probe` (async, answers a value or null) until it answers a value; fails with `what` after `timeout` ms.
 * For what the app shows before the server has it (optimistic writes), where the test then asks the server. */
export async function eventually(probe, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `not within ${timeout} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Logs in over REST (no master key): the session token, as the app would hold it. */
export async function restLogIn(username, password) {
  const res = await fetch(`${SERVER_URL}/login`, {
    method: 'POST',
    headers: { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const json = await res.json();
  assert.ok(res.ok, JSON.stringify(json));
  return json;
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core in the page: every serious or critical WCAG A/AA violation, described. */
export async function axeViolations(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // @ts-ignore axe is injected above
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function expectAccessible(page, screen) {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${screen}: ${JSON.stringify(violations, null, 1)}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
}

/** Waits until the board's columns have loaded (no column says "Loading…"). */
export async function boardReady(page) {
  await page.locator('[data-stage]').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-stage] [role="status"]'));
}

export function column(page, stage) {
  return page.locator(`section[data-stage="${stage}"]`);
}

export function card(page, title) {
  return page.locator('[data-deal-id]', { hasText: title });
}
