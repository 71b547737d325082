import { defineConfig } from 'vitest/config';

// The cluster suite (`npm run test:cluster`): three real coordinator processes on one throwaway
// PostgreSQL, hundreds of simulated volunteers, one node killed. Kept out of `vitest run`
// (test:unit) by its folder; CI sums this report too.
const reportDir = process.env['SPARECYCLES_REPORT_DIR'];

export default defineConfig({
  test: {
    include: ['e2e/cluster/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 90_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/vitest-cluster.json` } } : {}),
  },
});
