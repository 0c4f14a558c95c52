// Print vitest's totals from its JSON reports as one line: "N passed, N failed" (summed over the reports given).
// A test file that failed without a failed test (it did not load, or a hook failed before any
// test ran) counts as one failure, so a run whose files all broke does not read as green.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    console.error(`No test report at ${file}: the test run did not finish.`);
    continue;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((test) => test.status === 'failed')) {
      failed += 1;
      console.error(`${suite.name}: ${(suite.message ?? 'failed').split('\n')[0]}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
