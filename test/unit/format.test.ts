import * as assert from 'node:assert/strict';
import { formatCost, formatDuration, formatPercent, formatPricePerM, formatRelativeTime, formatTokens } from '../../src/core/format';

describe('core/format', () => {
  it('formats costs compactly, keeping two significant digits below a cent', () => {
    assert.deepEqual([0, 0.0000066, 0.00012, 0.0042, 0.0123, 0.375, 4.5, 1234.5, -0.5, null, NaN].map(formatCost),
      ['$0', '$0.0000066', '$0.00012', '$0.0042', '$0.0123', '$0.375', '$4.50', '$1,235', '-$0.50', '—', '—']);
    assert.equal(formatCost(0.0000001), '<$0.000001');
  });

  it('formats durations from milliseconds to hours', () => {
    assert.deepEqual([0, 420, 1234, 14_400, 125_000, 3_780_000, 7_200_000, null, -1].map(formatDuration),
      ['0 ms', '420 ms', '1.2 s', '14 s', '2 min 5 s', '1 h 3 min', '2 h', '—', '—']);
  });

  it('formats relative times', () => {
    const now = Date.UTC(2026, 10, 2, 12);
    assert.deepEqual([0, 42_000, 5 * 60_000, 3 * 3_600_000, 2 * 86_400_000].map((d) => formatRelativeTime(now - d, now)),
      ['just now', '42s ago', '5m ago', '3h ago', '2d ago']);
    assert.equal(formatRelativeTime(now - 40 * 86_400_000, now), '2026-09-23');
    assert.equal(formatRelativeTime(now + 5000, now), 'just now', 'clock skew is not "in the future"');
  });

  it('formats tokens, per-1M prices and percentages', () => {
    assert.deepEqual([950, 1000, 12_345, 1_234_567].map(formatTokens), ['950', '1k', '12k', '1.2M']);
    assert.deepEqual([2.5, 10, 0.6, 0.15, 0.075, 0.0375, 0, null].map(formatPricePerM), ['$2.50', '$10', '$0.60', '$0.15', '$0.075', '$0.0375', '$0', '—']);
    assert.deepEqual([0, 0.05, 0.004, 0.125, null].map(formatPercent), ['0 %', '5 %', '0.4 %', '12.5 %', '—']);
  });
});
