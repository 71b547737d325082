import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath } from './e2e/support/chromium.ts';
import { E2E } from './e2e/support/ports.ts';

const reportDir = process.env['SPARECYCLES_REPORT_DIR'];

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  // Two cores: one browser at a time keeps timings honest.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 30_000 },
  reporter: reportDir
    ? [['list'], ['json', { outputFile: `${reportDir}/playwright.json` }]]
    : [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: chromiumPath, args: [...chromiumArgs] },
  },
  webServer: [
    {
      command: `rm -rf ${E2E.dataDir} && node --import tsx server/src/main.ts`,
      url: `${E2E.coordinator}/api/v1/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        PORT: String(E2E.coordinatorPort),
        HOST: '127.0.0.1',
        DEMO_PORT: String(E2E.demoPort),
        DATA_DIR: E2E.dataDir,
        SPARECYCLES_ADMIN_KEY: E2E.adminKey,
        SPARECYCLES_DEMO: '0',
      },
      stdout: 'pipe',
    },
    {
      command: 'node --import tsx e2e/support/host-server.ts',
      url: `${E2E.hostOrigin}/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
