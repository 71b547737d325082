/**
 * Two builds of the client:
 * - default mode: the frame the coordinator serves at `/frame` (`dist/client/frame.html`, scripts in
 *   `dist/client/assets/`). The runtime sits behind a dynamic `import()` and the worker in its own
 *   chunk, so a visitor who has not consented downloads only the banner.
 * - `--mode embed`: the loader as one small IIFE, `dist/client/embed.js`, checked against a size
 *   budget on every build.
 * - `--mode api`: the host page's API code as one small ES module, `dist/client/api.js` (budgeted too),
 *   loaded by the loader on the page's first call.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The loader runs in other people's pages: it must stay under a kilobyte. */
export const EMBED_BUDGET_GZIP_BYTES = 1024;
/** The page API's code (`api.js`), loaded by the page's first call of `window.sparecycles`. */
export const API_BUDGET_GZIP_BYTES = 2048;

/** Fails the build when an emitted chunk's gzipped size passes `budget`. */
export function sizeBudget(fileName: string, budget: number): Plugin {
  return {
    name: 'sparecycles:size-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunk = bundle[fileName];
      if (!chunk || chunk.type !== 'chunk') this.error(`size budget: ${fileName} was not emitted`);
      const size = gzipSync(chunk.code, { level: 9 }).byteLength;
      if (size > budget) {
        this.error(`size budget: ${fileName} is ${size} bytes gzipped, over the budget of ${budget} bytes`);
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode === 'api') {
    return {
      publicDir: false,
      build: {
        outDir: here('./dist/client'),
        emptyOutDir: false,
        target: 'es2020',
        minify: true,
        sourcemap: false,
        lib: {
          entry: here('./client/src/api/api-entry.ts'),
          formats: ['es'],
          fileName: () => 'api.js',
        },
        // A library build in ES format keeps its whitespace for bundlers downstream; this file goes
        // straight to browsers, so it is minified in full.
        rolldownOptions: { output: { minify: true } },
      },
      plugins: [sizeBudget('api.js', API_BUDGET_GZIP_BYTES)],
    };
  }
  if (mode === 'embed') {
    return {
      publicDir: false,
      build: {
        outDir: here('./dist/client'),
        emptyOutDir: false,
        target: 'es2021',
        minify: true,
        sourcemap: false,
        lib: {
          entry: here('./client/src/embed/loader.ts'),
          formats: ['iife'],
          name: 'sparecycles',
          fileName: () => 'embed.js',
        },
      },
      plugins: [sizeBudget('embed.js', EMBED_BUDGET_GZIP_BYTES)],
    };
  }
  return {
    root: here('./client'),
    base: '/',
    publicDir: false,
    build: {
      outDir: here('./dist/client'),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // The frame's CSP allows no inline script; the polyfill would be inlined into the entry.
      modulePreload: { polyfill: false },
      rolldownOptions: { input: { frame: here('./client/frame.html') } },
    },
    worker: { format: 'es' },
  };
});
