import { launch, logIn, APP_URL, context } from './e2e/helpers.mjs';
const b = await launch(); const ctx = await context(b); const page = await ctx.newPage();
await logIn(page, 'manager', 'pw-manager-bench');
await page.goto(APP_URL + '/dashboard'); await page.getByTestId('tile-open').waitFor();
const cdp = await ctx.newCDPSession(page);
await cdp.send('Performance.enable');
for (let i = 0; i < 3; i++) {
const m0 = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
await page.goto(APP_URL + '/pipeline', { waitUntil: 'commit' });
await page.waitForFunction(() => document.querySelectorAll('section[data-stage]').length && !document.querySelector('section[data-stage] [role="status"]') && document.querySelector('[data-deal-id]'), undefined, { polling: 'raf', timeout: 10000 });
const now = await page.evaluate(() => Math.round(performance.now()));
const m1 = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
const d = (k) => Math.round((m1[k] - m0[k]) * 1000);
console.log(`ready ${now} ms; main thread: task ${d('TaskDuration')} script ${d('ScriptDuration')} layout ${d('LayoutDuration')} style ${d('RecalcStyleDuration')}`);
}
await b.close();
