import { defineConfig } from 'vitest/config';

// The scheduler's chaos suite (`npm run test:chaos`): real coordinators, volunteers and wasm,
// with processes killed and volunteers lying. Kept out of `vitest run` (test:unit) by its own
// folder; CI sums this report too.
const reportDir = process.env['SPARECYCLES_REPORT_DIR'];

export default defineConfig({
  test: {
    include: ['e2e/chaos/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    // Two cores: one case at a time, so timings (deadlines, grace periods) mean what they say.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 60_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/vitest-chaos.json` } } : {}),
  },
});
