// Print vitest's totals from its JSON reports as one line: "N passed, N failed" (summed over the reports given).
// A test file that failed without a failed test (it did not load, or a hook failed before any
// test ran) counts as one failure, so a run whose files all broke does not read as green.
// With --failures, print instead each failed test (file › name: first line of the error), one a line.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const listFailures = process.argv[2] === '--failures';
const files = process.argv.slice(listFailures ? 3 : 2);
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const firstLine = (text) =>
  String(text ?? 'failed')
    .split('\n')
    .find((line) => line.trim() !== '') ?? 'failed';
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    failures.push(`(no report at ${file}: the test run did not finish)`);
    continue;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    const name = relative(process.cwd(), suite.name);
    const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failedTests) failures.push(`${name} › ${test.fullName ?? test.title}: ${firstLine(test.failureMessages?.[0])}`);
    if (suite.status === 'failed' && failedTests.length === 0) {
      failed += 1;
      failures.push(`${name}: ${firstLine(suite.message)}`);
    }
  }
}
if (listFailures) for (const failure of failures) console.log(`  FAILED ${failure}`);
else console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
