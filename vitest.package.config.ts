import { defineConfig } from 'vitest/config';

// The installable package's test (`npm run test:package`): packs the built tree (`npm run build`
// first), installs the tarball into an empty folder and runs its `sparecycles` command. Kept out
// of `vitest run` (test:unit) by its own folder: it needs the build, the registry and a compiler
// (better-sqlite3 builds from source), about two minutes.
const reportDir = process.env['SPARECYCLES_REPORT_DIR'];

export default defineConfig({
  test: {
    include: ['e2e/package/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/vitest-package.json` } } : {}),
  },
});
