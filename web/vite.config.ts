/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { nativeBuiltins } from './native-builtins.ts';
import { offlineAssets } from './offline-assets.ts';

// `npm run dev` proxies the API to a server started with `make run` (or CRM_API=http://host:port).
const api = process.env.CRM_API ?? 'http://127.0.0.1:1337';

export default defineConfig({
  plugins: [vue(), nativeBuiltins(), offlineAssets()],
  server: { proxy: { '/parse': { target: api, ws: true } } },
  build: {
    // into the Python package (package data), where `crm serve` finds it: src/parsecrm/web/dist
    outDir: '../src/parsecrm/web/dist',
    emptyOutDir: true,
    target: 'es2022',
    // The stores and the API layer are shared by every screen; views are split per route (router.ts).
    chunkSizeWarningLimit: 300,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  test: {
    include: ['src/**/*.test.ts', '*.test.ts'],
    // in Node the SDK's Node build (the same package), against the server tests/test_webapp.py starts
    alias: [{ find: /^parse$/, replacement: 'parse/node' }],
    setupFiles: ['src/test-setup.ts'],
    environment: 'node',
    testTimeout: 30_000,
    fileParallelism: false,
  },
});
