/**
 * The GraphQL playground (graphiql.html: GraphiQL, React and the Monaco editor with its web workers), built on its
 * own after the app (`vite build -c vite.graphiql.config.ts`, into the same folder): the app's build, its initial
 * JavaScript and the service worker's list of files (offline-assets.json) stay exactly what they were without it.
 * The server sends this page for a browser's GET /graphql.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  publicDir: false, // the app's build copies public/
  build: {
    outDir: '../src/parsecrm/web/dist',
    emptyOutDir: false, // the app is already there
    target: 'es2022',
    rolldownOptions: {
      input: { graphiql: 'graphiql.html' },
      checks: { pluginTimings: false },
      onLog(level, log, handler) {
        // React libraries mark files "use client" (a server-components hint); it means nothing in a browser bundle
        if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
    },
    // the Monaco editor is one ~2.8 MB module (~700 KB gzip), loaded only by this page
    chunkSizeWarningLimit: 3000,
  },
});
