import * as assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, defaultSettings, describeAlert, normalizeSettings, bodyCapBytes } from '../../src/settings/settings';

describe('settings: normalizeSettings', () => {
  it('gives the defaults, and no problems, for missing or empty input', () => {
    for (const raw of [undefined, null, {}]) {
      const { settings, problems } = normalizeSettings(raw);
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.deepEqual(problems, []);
    }
  });

  it('keeps valid values, nested keys included', () => {
    const { settings, problems } = normalizeSettings({
      port: 0, host: 'localhost', autoStart: true, retentionDays: 0, bodyCapMb: 0.5,
      hovers: { enabled: false }, helicone: { baseUrl: 'https://eu.api.helicone.ai/' },
      compare: { environments: ['production', 'production', 'qa'] },
      upstreams: { ollama: 'http://127.0.0.1:11434/' },
      timeouts: { connectMs: 500 },
      environmentProperty: 'Env', devEnvironment: 'dev', refreshMinutes: 1,
    });
    assert.deepEqual(problems, []);
    assert.equal(settings.port, 0);
    assert.equal(settings.host, 'localhost');
    assert.equal(settings.autoStart, true);
    assert.equal(settings.retentionDays, 0);
    assert.equal(bodyCapBytes(settings), 512 * 1024);
    assert.equal(settings.hovers.enabled, false);
    assert.equal(settings.helicone.baseUrl, 'https://eu.api.helicone.ai', 'trailing slash trimmed');
    assert.deepEqual(settings.compare.environments, ['production', 'qa'], 'duplicates removed');
    assert.deepEqual(settings.upstreams, { ollama: 'http://127.0.0.1:11434' });
    assert.deepEqual(settings.timeouts, { ...DEFAULT_SETTINGS.timeouts, connectMs: 500 });
    assert.equal(settings.environmentProperty, 'Env');
  });

  it('replaces each bad value by its default with a problem naming the setting, never throwing', () => {
    const { settings, problems } = normalizeSettings({
      port: 70000, host: 'evil host; rm -rf', autoStart: 'yes', bodyCapMb: 0, refreshMinutes: -1,
      environmentProperty: 'has space', hovers: { enabled: 'no' }, helicone: { baseUrl: 'ftp://x' },
      timeouts: { idleMs: 5 },
    });
    assert.equal(settings.port, 8787);
    assert.equal(settings.host, '127.0.0.1');
    assert.equal(settings.autoStart, false);
    assert.equal(settings.bodyCapMb, 2);
    assert.equal(settings.refreshMinutes, 5);
    assert.equal(settings.environmentProperty, 'Environment');
    assert.equal(settings.hovers.enabled, true);
    assert.equal(settings.helicone.baseUrl, 'https://api.helicone.ai');
    assert.equal(settings.timeouts.idleMs, DEFAULT_SETTINGS.timeouts.idleMs);
    for (const key of ['port', 'host', 'autoStart', 'bodyCapMb', 'refreshMinutes', 'environmentProperty', 'hovers.enabled', 'helicone.baseUrl', 'timeouts.idleMs']) {
      assert.ok(problems.some((p) => p.startsWith(`llmLens.${key}:`)), `a problem for ${key} in ${JSON.stringify(problems)}`);
    }
    assert.ok(problems.find((p) => p.startsWith('llmLens.port:'))!.includes('using 8787'));
  });

  it('keeps the good entries of a list and drops only the bad ones', () => {
    const { settings, problems } = normalizeSettings({
      priceOverrides: [
        { model: 'ft:gpt-4o-mini:*', inputPerM: 0.3, outputPerM: 1.2 },
        { model: 'x', inputPerM: -1, outputPerM: 1 },
        'nonsense',
      ],
      sources: [
        { name: 'staging', baseUrl: 'http://10.0.0.5:8787/api/' },
        { name: 'Staging', baseUrl: 'http://other' },
        { name: 'nourl' },
      ],
      upstreams: { ok: 'https://openrouter.ai/api', 'bad name': 'http://x', api: 'http://x', creds: 'http://u:p@host' },
    });
    assert.deepEqual(settings.priceOverrides, [{ model: 'ft:gpt-4o-mini:*', inputPerM: 0.3, outputPerM: 1.2 }]);
    assert.deepEqual(settings.sources, [{ name: 'staging', baseUrl: 'http://10.0.0.5:8787/api' }]);
    assert.deepEqual(settings.upstreams, { ok: 'https://openrouter.ai/api' });
    assert.equal(problems.filter((p) => p.startsWith('llmLens.priceOverrides[')).length, 2);
    assert.equal(problems.filter((p) => p.startsWith('llmLens.sources')).length, 2);
    assert.equal(problems.filter((p) => p.startsWith('llmLens.upstreams')).length, 3);
  });

  it('has the issue-6 default alert rules, and names rules that have no name', () => {
    const { settings } = normalizeSettings({});
    assert.deepEqual(settings.alerts.map((a) => [a.environment, a.metric, a.threshold, a.windowMinutes, a.minRequests]), [
      ['development', 'cost', 50, 1440, 1],
      ['production', 'errorRate', 0.05, 10, 10],
      ['production', 'p95LatencyMs', 10000, 30, 20],
    ]);
    const custom = normalizeSettings({ alerts: [{ metric: 'errorRate', threshold: 0.1, windowMinutes: 60, environment: 'staging' }, { metric: 'bogus' }] });
    assert.equal(custom.settings.alerts.length, 1);
    assert.equal(custom.settings.alerts[0].name, 'staging error rate above 10 % over 1 h');
    assert.equal(custom.settings.alerts[0].minRequests, 1);
    assert.equal(custom.problems.length, 1);
    assert.deepEqual(normalizeSettings({ alerts: [] }).settings.alerts, [], 'an empty list turns alerts off');
    assert.equal(describeAlert({ metric: 'cost', threshold: 50, windowMinutes: 1440, minRequests: 1, environment: 'development' }), 'development cost above $50 over 1 d');
  });

  it('reports a non-object input once and still returns defaults', () => {
    const { settings, problems } = normalizeSettings(42);
    assert.deepEqual(settings, defaultSettings());
    assert.equal(problems.length, 1);
  });

  it('returns settings that callers may change without touching the defaults', () => {
    const a = normalizeSettings({}).settings;
    a.compare.environments.push('x');
    a.alerts[0].threshold = 1;
    assert.deepEqual(DEFAULT_SETTINGS.compare.environments, ['staging', 'production']);
    assert.equal(normalizeSettings({}).settings.alerts[0].threshold, 50);
  });
});
