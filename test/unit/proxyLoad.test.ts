// Many concurrent streams through one proxy: every record written, none mixed up.
import * as assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startProxyHarness } from '../support/proxyHarness';
import type { ProxyHarness } from '../support/proxyHarness';

describe('proxy under load', function () {
  this.timeout(60_000);
  let h: ProxyHarness;
  let agent: Agent;
  beforeEach(async () => {
    h = await startProxyHarness();
    agent = new Agent({ connections: 256 });
  });
  afterEach(async () => {
    await agent.close();
    await h.close();
  });

  it('forwards 200 concurrent streams with no record lost and no bodies mixed up', async () => {
    const N = 200;
    const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const tag = `req-${i}-${Math.random().toString(36).slice(2, 8)}`;
      const res = await request(`${h.url}/v1/chat/completions`, {
        method: 'POST', dispatcher: agent,
        headers: {
          'content-type': 'application/json', 'x-mock-reply': `reply ${tag} ends here`, 'x-mock-chunk-delay-ms': String(i % 5),
          'Helicone-Property-Tag': tag,
        },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `question ${tag}` }] }),
      });
      const text = await res.body.text();
      return { tag, status: res.statusCode, id: res.headers['helicone-id'] as string, text };
    }));
    for (const r of results) {
      assert.equal(r.status, 200);
      const content = [...r.text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
      assert.equal(content, `reply ${r.tag} ends here`, 'the client got its own answer');
    }
    await h.waitRecords(N, 20_000);
    assert.equal(new Set(results.map((r) => r.id)).size, N);
    for (const r of results) {
      const rec = await h.record(r.id);
      assert.equal(rec.state, 'ok');
      assert.equal(rec.properties.Tag, r.tag);
      assert.match(JSON.stringify(rec.bodies.request.json), new RegExp(`question ${r.tag}`));
      const re = rec.bodies.reassembled as { choices: Array<{ message: { content: string } }> };
      assert.equal(re.choices[0].message.content, `reply ${r.tag} ends here`, 'the record holds this request\'s answer');
      assert.ok(rec.usage && !rec.usage.estimated);
    }
    // Every record is on disk after a restart, not only in memory.
    await h.restart();
    assert.equal(h.runtime.store.count(), N);
    assert.equal(h.mock.requests.length, N);
    assert.equal(h.runtime.proxy.inFlight(), 0);
  });
});
