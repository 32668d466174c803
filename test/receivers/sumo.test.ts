/** The Sumo Logic HTTP Source receiver, driven over real HTTP. */
import { deflateSync, gzipSync } from 'node:zlib';
import { envelope, receiverTestKit } from './test-support';

const kit = receiverTestKit();
const ndjson = (...items: unknown[]) => items.map((item) => `${JSON.stringify(item)}\n`).join('');

describe('Sumo Logic HTTP Source receiver', () => {
  it('takes gzip NDJSON at the URL that is the credential, one message per line, with the X-Sumo headers', async () => {
    const r = await kit.start({ kind: 'sumo', token: 'ZaVnC4dhaV2-test-token==' });
    expect(r.url).toBe(`${r.origin}/receiver/v1/http/${encodeURIComponent('ZaVnC4dhaV2-test-token==')}`);
    const answer = await kit.send(r.url, gzipSync(ndjson(envelope(1), envelope(2))), {
      'content-encoding': 'gzip',
      'x-sumo-category': 'mimecast/siem',
      'x-sumo-name': 'mimecast-collector',
      'x-sumo-host': 'collector-1',
      'x-sumo-fields': 'instance=test, env=dev',
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(r.ids()).toEqual(['id-1', 'id-2']);
    expect(r.received()[0]).toEqual(envelope(1));
    expect(r.items()[1].raw).toEqual({
      message: JSON.stringify(envelope(2)),
      category: 'mimecast/siem',
      name: 'mimecast-collector',
      host: 'collector-1',
      fields: { instance: 'test', env: 'dev' },
    });
  });

  it('takes deflate (zlib) and plain bodies; any text line is a message', async () => {
    const r = await kit.start({ kind: 'sumo' });
    await kit.send(r.url, deflateSync(ndjson(envelope(1))), { 'content-encoding': 'deflate' });
    await kit.send(r.url, 'plain text line\r\n\n');
    expect(r.items().map((i) => (i.raw as { message: string }).message)).toEqual([
      JSON.stringify(envelope(1)),
      'plain text line',
    ]);
    expect((await kit.send(r.url, 'x', { 'content-encoding': 'br' })).status).toBe(415);
  });

  it('answers 401 to a wrong (removed or regenerated) token, and a random token is made when none is given', async () => {
    const r = await kit.start({ kind: 'sumo' });
    expect(r.url).toMatch(/\/receiver\/v1\/http\/[A-Za-z0-9%]{60,}$/);
    const wrong = await kit.send(`${r.origin}/receiver/v1/http/old-token`, ndjson(envelope(1)));
    expect(wrong.status).toBe(401);
    expect(r.received()).toHaveLength(0);
    expect((await kit.send(r.url, undefined, {}, 'GET')).status).toBe(405);
  });

  it('accepts a request over the recommended 1 MB uncompressed and flags it, as Sumo imposes no hard limit', async () => {
    const r = await kit.start({ kind: 'sumo' });
    const big = ndjson(envelope(1, 'siem', { pad: 'x'.repeat(1_000_001) }));
    expect((await kit.send(r.url, gzipSync(big), { 'content-encoding': 'gzip' })).status).toBe(200);
    expect(r.ids()).toEqual(['id-1']);
    expect(r.requests()[0].warning).toMatch(/over Sumo's recommended 1000000/);
  });

  it('throttles with 429 and Sumo quota text, fails with 503/504, and drops under an ingest budget with 200', async () => {
    const r = await kit.start({ kind: 'sumo' });
    r.inject(
      { kind: 'status', status: 429, retryAfter: 30 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 504 },
      { kind: 'sumo-budget-drop' },
    );
    const throttled = await kit.send(r.url, ndjson(envelope(1)));
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('30');
    expect(throttled.text).toBe(
      'You have temporarily exceeded your Sumo Logic quota. Please try again at a later time',
    );
    expect((await kit.send(r.url, ndjson(envelope(2)))).status).toBe(503);
    expect((await kit.send(r.url, ndjson(envelope(3)))).status).toBe(504);
    const dropped = await kit.send(r.url, ndjson(envelope(4)));
    expect(dropped.status).toBe(200);
    expect(r.received()).toHaveLength(0);
    expect(r.requests()[3].warning).toBe('dropped by an ingest budget');
    expect((await kit.send(r.url, ndjson(envelope(5)))).status).toBe(200);
    expect(r.ids()).toEqual(['id-5']);
  });

  it('resets the connection and hangs like the other receivers', async () => {
    const r = await kit.start({ kind: 'sumo' });
    r.inject({ kind: 'reset' });
    await expect(kit.send(r.url, ndjson(envelope(1)))).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/),
    });
    expect(r.received()).toHaveLength(0);
  });
});
