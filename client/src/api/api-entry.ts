/**
 * `api.js`: an ES module the loader imports on the page's first call of the API; the loader
 * passes its frame, the coordinator's origin and `window.sparecycles` to `createPageApi`.
 */
export { createPageApi } from './page.ts';
