/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** For `npm run dev` only: the built app reads its settings from the page the server sends. */
  readonly VITE_PARSE_APP_ID?: string;
  readonly VITE_PARSE_JAVASCRIPT_KEY?: string;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}
