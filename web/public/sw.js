// The app shell, kept for offline use: the page itself (index.html, as the server last served it, with its
// settings) and every file of the build (offline-assets.json, written by the build). Navigations go to the network
// first and fall back to the kept page; build files (content-hashed) come from the cache first. API calls are not
// touched here: the app keeps its own data offline (src/offline).
const SHELL = 'crm-shell';
const PAGE = '/__app-shell';

async function assetList() {
  const res = await fetch('/offline-assets.json', { cache: 'no-store' });
  return res.ok ? res.json() : { version: 'none', files: [] };
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const { version, files } = await assetList();
      const cache = await caches.open(`${SHELL}-${version}`);
      await cache.addAll(files);
      const page = await fetch('/', { cache: 'no-store' });
      if (page.ok) await cache.put(PAGE, page);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const { version } = await assetList().catch(() => ({ version: null }));
      for (const name of await caches.keys()) {
        if (version && name.startsWith(SHELL) && name !== `${SHELL}-${version}`) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function shellCache() {
  const names = (await caches.keys()).filter((n) => n.startsWith(SHELL));
  return caches.open(names[names.length - 1] ?? `${SHELL}-none`);
}

async function navigate(request) {
  try {
    const res = await fetch(request);
    if (res.ok) {
      const copy = res.clone();
      void shellCache().then((c) => c.put(PAGE, copy));
    }
    return res;
  } catch (err) {
    const kept = await (await shellCache()).match(PAGE);
    if (kept) {
      const headers = new Headers(kept.headers);
      headers.set('x-crm-shell', 'kept'); // tells a test (and a curious user) the page came from the cache
      return new Response(kept.body, { status: 200, headers });
    }
    throw err;
  }
}

async function asset(request) {
  const cache = await shellCache();
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) void cache.put(request, res.clone());
  return res;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && !/^\/(parse|apps|schema|api|graphql|mcp)(\/|$)/.test(url.pathname)) {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(asset(request));
  }
});
