/** The Datadog logs intake receiver, driven over real HTTP. */
import { deflateSync, gzipSync } from 'node:zlib';
import { DATADOG_MAX_ENTRIES } from './datadog';
import { envelope, receiverTestKit } from './test-support';

const kit = receiverTestKit();
const key = { 'dd-api-key': 'dd-test-key', 'content-type': 'application/json' };
const entry = (n: number, event: unknown = { n }) => ({
  ddsource: 'mimecast',
  service: 'mimecast-collector',
  ddtags: 'stream:siem,logtype:receipt,instance:test',
  ...envelope(n, 'siem', event),
});

describe('Datadog logs intake receiver', () => {
  it('accepts a gzip JSON array with 202 {}, the envelope fields at the top level of each entry', async () => {
    const r = await kit.start({ kind: 'datadog', token: 'dd-test-key' });
    expect(r.url).toBe(`${r.origin}/api/v2/logs`);
    const answer = await kit.send(r.url, gzipSync(JSON.stringify([entry(1), entry(2)])), {
      ...key,
      'content-encoding': 'gzip',
    });
    expect(answer.status).toBe(202);
    expect(answer.json()).toEqual({});
    expect(r.ids()).toEqual(['id-1', 'id-2']);
    expect(r.received()[0]).toEqual(envelope(1));
    expect(r.items()[0].raw).toEqual(entry(1));
  });

  it('takes one entry without an array, and deflate bodies', async () => {
    const r = await kit.start({ kind: 'datadog' });
    expect((await kit.send(r.url, JSON.stringify(entry(1)))).status).toBe(202);
    expect(
      (await kit.send(r.url, deflateSync(JSON.stringify([entry(2)])), { 'content-encoding': 'deflate' }))
        .status,
    ).toBe(202);
    expect(r.ids()).toEqual(['id-1', 'id-2']);
  });

  it.each([
    [{}, 401, 'API key is missing'],
    [{ 'dd-api-key': 'wrong' }, 403, 'API key is invalid'],
  ])('refuses %j with %i and a Datadog errors body', async (headers, status, detail) => {
    const r = await kit.start({ kind: 'datadog', token: 'dd-test-key' });
    const answer = await kit.send(r.url, JSON.stringify([entry(1)]), headers);
    expect(answer.status).toBe(status);
    expect(answer.json()).toEqual({
      errors: [{ status: String(status), title: expect.any(String), detail }],
    });
    expect(r.received()).toHaveLength(0);
  });

  it('answers 413 over 5 MB uncompressed, even when the gzip body is small', async () => {
    const r = await kit.start({ kind: 'datadog' });
    const big = JSON.stringify([entry(1, { pad: 'x'.repeat(5_000_000) })]);
    const zipped = gzipSync(big);
    expect(zipped.length).toBeLessThan(100_000);
    const answer = await kit.send(r.url, zipped, { 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(answer.json().errors[0].status).toBe('413');
    expect(r.received()).toHaveLength(0);
  });

  it('answers 413 for more than 1,000 entries and takes exactly 1,000', async () => {
    const r = await kit.start({ kind: 'datadog' });
    const many = Array.from({ length: DATADOG_MAX_ENTRIES + 1 }, (_, n) => entry(n));
    expect((await kit.send(r.url, JSON.stringify(many))).status).toBe(413);
    expect((await kit.send(r.url, JSON.stringify(many.slice(1)))).status).toBe(202);
    expect(r.received()).toHaveLength(1_000);
  });

  it('accepts an entry over 1 MB but truncates it, the others whole', async () => {
    const r = await kit.start({ kind: 'datadog' });
    const answer = await kit.send(
      r.url,
      JSON.stringify([entry(1, { pad: 'y'.repeat(1_100_000) }), entry(2)]),
    );
    expect(answer.status).toBe(202);
    const [cut, whole] = r.items();
    expect(cut.truncated).toBe(true);
    expect(typeof cut.envelope.event).toBe('string');
    expect(Buffer.byteLength(cut.raw as string)).toBe(1_000_000);
    expect(whole.truncated).toBeUndefined();
    expect(whole.envelope).toEqual(envelope(2));
    expect(r.requests()[0].warning).toMatch(/1 entries over 1000000 bytes truncated/);
  });

  it('refuses malformed JSON and non-object entries with 400', async () => {
    const r = await kit.start({ kind: 'datadog' });
    expect((await kit.send(r.url, '[{"id":')).json().errors[0].detail).toBe('Malformed JSON payload');
    expect((await kit.send(r.url, '[1,2]')).status).toBe(400);
    expect((await kit.send(`${r.origin}/v1/nope`, '[]')).json().errors[0].detail).toBe(
      'HTTP path is invalid',
    );
  });

  it.each([408, 429, 500, 503])('answers a %i fault with Datadog errors body', async (status) => {
    const r = await kit.start({ kind: 'datadog' });
    r.inject({ kind: 'status', status, retryAfter: 2 });
    const answer = await kit.send(r.url, JSON.stringify([entry(1)]));
    expect(answer.status).toBe(status);
    expect(answer.headers['retry-after']).toBe('2');
    expect(answer.json().errors[0].status).toBe(String(status));
    expect(r.received()).toHaveLength(0);
  });
});
