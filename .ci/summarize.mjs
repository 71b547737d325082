// Sums the passed/failed counts of Vitest's (unit, chaos) and Playwright's JSON reports into one line.
// A runner whose report is missing (it never ran because an earlier step failed) counts as one failure
// when the run as a whole failed, so a red run never prints "0 failed".
import { readFileSync, existsSync } from 'node:fs';

const [dir, status] = process.argv.slice(2);
let passed = 0;
let failed = 0;

// Vitest writes one report per configuration: the unit, package and chaos suites.
for (const name of ['vitest.json', 'vitest-package.json', 'vitest-chaos.json']) {
  const vitestFile = `${dir}/${name}`;
  if (!existsSync(vitestFile)) continue;
  const report = JSON.parse(readFileSync(vitestFile, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // A suite that fails to load has no tests; count it as a failure.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed += 1;
  }
}

const playwrightFile = `${dir}/playwright.json`;
if (existsSync(playwrightFile)) {
  const report = JSON.parse(readFileSync(playwrightFile, 'utf8'));
  passed += (report.stats?.expected ?? 0) + (report.stats?.flaky ?? 0);
  failed += report.stats?.unexpected ?? 0;
  // Errors outside tests (a web server that did not start, a config error) fail the run.
  if ((report.errors ?? []).length > 0 && (report.stats?.unexpected ?? 0) === 0) failed += 1;
}

if (Number(status) !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
