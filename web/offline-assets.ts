/**
 * Emits `offline-assets.json`: every file of the build (entry, lazy screens, CSS), which the service worker
 * (public/sw.js) stores when it installs, so a reload without network opens any screen, visited or not.
 * The list carries the build's id: a new build is a new cache, and the old one is dropped.
 */
import type { Plugin } from 'vite';

export function offlineAssets(): Plugin {
  return {
    name: 'crm-offline-assets',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => f.startsWith('assets/'))
        .sort()
        .map((f) => `/${f}`);
      const version = files.join('|').length.toString(36) + '-' + hash(files.join('|'));
      this.emitFile({ type: 'asset', fileName: 'offline-assets.json', source: JSON.stringify({ version, files }) });
    },
  };
}

function hash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}
