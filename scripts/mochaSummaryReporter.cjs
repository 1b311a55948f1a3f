// mocha's spec reporter, plus one plain closing line CI log readers can parse:
//   unit: 123 passed, 0 failed            (" (N skipped)" appended when tests were skipped)
// The label comes from --reporter-option label=NAME (default "unit").
'use strict';
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const label = (options && options.reporterOption && options.reporterOption.label) || 'unit';
    // Registered after Spec's own run-end listener, so this prints after its epilogue.
    runner.once(EVENT_RUN_END, () => {
      const s = this.stats;
      console.log(`${label}: ${s.passes} passed, ${s.failures} failed${s.pending ? ` (${s.pending} skipped)` : ''}`);
    });
  }
}

module.exports = SummaryReporter;
