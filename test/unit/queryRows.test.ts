// Records as Helicone rows, and Helicone rows as metric rows: the same numbers whichever way a
// request reaches the metrics module.
import * as assert from 'node:assert/strict';
import { metricRowFromSummary } from '../../src/metrics/metrics';
import { DEFAULT_UUID, metricRowFromHeliconeRow, toHeliconeRow } from '../../src/query/rows';
import { makeRecord, makeUsage, summaryOf } from '../support/records';

describe('query rows', () => {
  it('maps a record to Helicone field names and units', () => {
    const rec = makeRecord({
      startedAt: Date.UTC(2025, 4, 1, 9, 30),
      latencyMs: 850,
      ttftMs: 120,
      usage: makeUsage({ promptTokens: 100, completionTokens: 40, cacheReadTokens: 60, cacheWriteTokens: 5, totalTokens: 140 }),
      costUsd: 0.0123,
      properties: { Environment: 'development' },
      userId: 'bob',
      session: { id: 'sess-1', path: '/research/step', name: 'Research' },
      cache: { enabled: true, hit: false, savedUsd: null, bucketMaxSize: 1, seed: null },
    });
    const row = toHeliconeRow(summaryOf(rec));
    assert.equal(row.request_id, rec.id);
    assert.equal(row.request_created_at, '2025-05-01T09:30:00.000Z');
    assert.equal(row.response_created_at, '2025-05-01T09:30:00.850Z');
    assert.equal(row.request_model, 'gpt-4o-mini');
    assert.equal(row.response_model, 'gpt-4o-mini-2024-07-18');
    assert.equal(row.model, 'gpt-4o-mini');
    assert.equal(row.provider, 'OPENAI');
    assert.equal(row.response_status, 200);
    assert.equal(row.delay_ms, 850);
    assert.equal(row.time_to_first_token, 120);
    assert.equal(row.prompt_tokens, 100);
    assert.equal(row.completion_tokens, 40);
    assert.equal(row.prompt_cache_read_tokens, 60);
    assert.equal(row.prompt_cache_write_tokens, 5);
    assert.equal(row.total_tokens, 140);
    assert.equal(row.cost, 0.0123);
    assert.equal(row.request_user_id, 'bob');
    assert.equal(row.request_path, '/v1/chat/completions');
    assert.equal(row.target_url, 'https://api.openai.com/v1/chat/completions');
    assert.equal(row.cache_enabled, true);
    assert.equal(row.cache_hit, false);
    assert.equal(row.cache_reference_id, DEFAULT_UUID);
    // Helicone keeps the session in properties.
    assert.deepEqual(row.properties, {
      Environment: 'development',
      'Helicone-Session-Id': 'sess-1',
      'Helicone-Session-Path': '/research/step',
      'Helicone-Session-Name': 'Research',
    });
    assert.deepEqual(row.request_properties, row.properties);
    assert.equal('request_body' in row, false, 'no bodies unless asked');
  });

  it('includes bodies when given: JSON, the reassembled stream, omitted and text', () => {
    const rec = makeRecord();
    const row = toHeliconeRow(summaryOf(rec), rec.bodies);
    assert.deepEqual(row.request_body, rec.bodies.request.json);
    assert.deepEqual(row.response_body, rec.bodies.response.json);

    const streamed = toHeliconeRow(summaryOf(rec), { ...rec.bodies, reassembled: { id: 'final' }, response: { kind: 'text', text: 'data: ...', size: 9, truncated: false } });
    assert.deepEqual(streamed.response_body, { id: 'final' });
    const omitted = toHeliconeRow(summaryOf(rec), { ...rec.bodies, request: { kind: 'omitted', size: 10, truncated: false } });
    assert.match(JSON.stringify(omitted.request_body), /omitted/);
    const text = toHeliconeRow(summaryOf(rec), { ...rec.bodies, response: { kind: 'text', text: 'not json', size: 8, truncated: false } });
    assert.equal(text.response_body, 'not json');
  });

  it('keeps unknown things unknown: no usage, no cost, no status', () => {
    const rec = makeRecord({ usage: null, costUsd: null, status: null, state: 'error', error: { kind: 'upstream_unreachable', message: 'ECONNREFUSED' }, latencyMs: null });
    const row = toHeliconeRow(summaryOf(rec));
    assert.equal(row.prompt_tokens, null);
    assert.equal(row.total_tokens, null);
    assert.equal(row.cost, null);
    assert.equal(row.response_status, null);
    assert.equal(row.error_kind, 'upstream_unreachable');
    assert.equal(row.response_created_at, null);
  });

  it('names custom steps CUSTOM and other routes in upper case', () => {
    assert.equal(toHeliconeRow(summaryOf(makeRecord({ kind: 'custom', provider: 'custom' }))).provider, 'CUSTOM');
    assert.equal(toHeliconeRow(summaryOf(makeRecord({ provider: 'anthropic' }))).provider, 'ANTHROPIC');
    assert.equal(toHeliconeRow(summaryOf(makeRecord({ provider: 'ollama' }))).provider, 'OLLAMA');
  });

  it('gives the same metric row as metricRowFromSummary for every kind of local record', () => {
    const records = [
      makeRecord({ properties: { Environment: 'development' } }),
      makeRecord({ status: 500, state: 'error', error: { kind: 'upstream_status', message: '500' } }),
      makeRecord({ status: 200, state: 'error', error: { kind: 'client_aborted', message: 'gone' } }),
      makeRecord({ status: null, state: 'error', error: { kind: 'upstream_timeout', message: 't' }, latencyMs: null, usage: null, costUsd: null }),
      makeRecord({ cache: { enabled: true, hit: true, savedUsd: 0.01, bucketMaxSize: 1, seed: null }, costUsd: 0.01 }),
      makeRecord({ requestModel: null, responseModel: 'gpt-4o-2024-08-06' }),
      makeRecord({ usage: makeUsage({ promptTokens: 7, completionTokens: 3, totalTokens: 10 }), costUsd: null }),
      makeRecord({ session: { id: 's', path: '/', name: null }, properties: { Version: 'v3' } }),
    ];
    for (const rec of records) {
      const viaRow = metricRowFromHeliconeRow(toHeliconeRow(summaryOf(rec)));
      const direct = metricRowFromSummary(summaryOf(rec));
      // The row's properties also carry Helicone's session keys; everything else must agree.
      assert.deepEqual({ ...viaRow, properties: direct.properties }, direct, rec.error?.kind ?? rec.id);
      for (const [k, v] of Object.entries(direct.properties)) assert.equal(viaRow.properties[k], v);
    }
  });

  it('reads a remote Helicone row: 5xx is an error, missing counts are zero, request_model names it', () => {
    const base = toHeliconeRow(summaryOf(makeRecord()));
    const remote = { ...base, response_status: 503, prompt_tokens: null, completion_tokens: null, total_tokens: null, model: null, request_model: 'gpt-4o', error_kind: undefined, lens_kind: undefined };
    const m = metricRowFromHeliconeRow(remote);
    assert.equal(m.ok, false);
    assert.equal(m.promptTokens, 0);
    assert.equal(m.totalTokens, 0);
    assert.equal(m.model, 'gpt-4o');
    assert.equal(m.createdAt, Date.parse(base.request_created_at));
  });
});
