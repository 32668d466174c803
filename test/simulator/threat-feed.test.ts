import { strFromU8, unzipSync } from 'fflate';
import { type RunningSimulator, startSimulator } from './index';
import { callerFor, header, json, v1Caller, walkFeed } from './sim-client';

const FEED_PATH = '/api/ttp/threat-intel/get-feed';

describe('threat-intel feed', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({
      seed: 3,
      events: { 'malware-customer': 23, 'malware-grid': 57 },
      threatFeed: { indicatorsPerFile: 10 },
    });
  });
  afterAll(() => sim.stop());

  test.each([
    [1, 'malware_customer', 'malware-customer', 3],
    [2, 'malware_customer', 'malware-customer', 3],
    [1, 'malware_grid', 'malware-grid', 6],
    [2, 'malware_grid', 'malware-grid', 6],
  ] as const)(
    'API %i %s: following x-mc-threat-feed-next-token yields the ground truth',
    async (api, feedType, stream, calls) => {
      const walk = await walkFeed(await callerFor(sim, api), feedType);
      expect(walk.objects).toEqual(sim.groundTruth(stream, api));
      expect(walk.calls).toBe(calls);
    },
  );

  test('bundles are STIX 2.0 with malware, indicator and relationship objects', async () => {
    const result = await v1Caller(sim).post(FEED_PATH, {
      data: [{ feedType: 'malware_grid', fileType: 'stix' }],
    });
    const bundle = json(result);
    expect(bundle).toMatchObject({
      type: 'bundle',
      id: expect.stringMatching(/^bundle--/),
      spec_version: '2.0',
    });
    expect(bundle.objects).toHaveLength(30);
    const [malware, indicator, relationship] = bundle.objects;
    expect(malware.type).toBe('malware');
    expect(indicator.pattern).toMatch(/^\[file:hashes\.'SHA-256' = '[0-9a-f]{64}'\]$/);
    expect(relationship).toMatchObject({
      relationship_type: 'indicates',
      source_ref: indicator.id,
      target_ref: malware.id,
    });
    expect(header(result, 'x-mc-threat-feed-next-token')).toBeDefined();
  });

  test('csv is the default fileType; compress zips the file', async () => {
    const csv = await v1Caller(sim).post(FEED_PATH, { data: [{ feedType: 'malware_customer' }] });
    expect(header(csv, 'content-type')).toBe('text/csv');
    expect(csv.body.toString().split('\n')[0]).toBe('sha256,malware_name,label,created,valid_from');
    const zipped = await v1Caller(sim).post(FEED_PATH, {
      data: [{ feedType: 'malware_customer', fileType: 'stix', compress: true }],
    });
    const [content] = Object.values(unzipSync(zipped.body));
    expect(JSON.parse(strFromU8(content)).type).toBe('bundle');
  });

  test('indicators published later are delivered after the last token', async () => {
    const caller = v1Caller(sim);
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const item: Record<string, unknown> = { feedType: 'malware_customer', fileType: 'stix' };
      if (token) item.token = token;
      const result = await caller.post(FEED_PATH, { data: [item] });
      const next = header(result, 'x-mc-threat-feed-next-token');
      if (!next) break;
      token = next;
    }
    const published = sim.publish('malware-customer', 4);
    expect(published).toHaveLength(12);
    const result = await caller.post(FEED_PATH, {
      data: [{ feedType: 'malware_customer', fileType: 'stix', token }],
    });
    const objects = json(result).objects;
    expect(objects.slice(-12)).toEqual(published);
  });

  test('nothing (more) in the window: HTTP 200 with fail[] err_threat_intel_feed_no_result_found', async () => {
    const caller = v1Caller(sim);
    const empty = await caller.post(FEED_PATH, {
      data: [
        {
          feedType: 'malware_grid',
          fileType: 'stix',
          start: '2001-01-01T00:00:00+0000',
          end: '2001-01-02T00:00:00+0000',
        },
      ],
    });
    expect(empty.status).toBe(200);
    expect(json(empty)).toMatchObject({
      data: [],
      fail: [{ errors: [{ code: 'err_threat_intel_feed_no_result_found', retryable: false }] }],
    });
    expect(header(empty, 'x-mc-threat-feed-next-token')).toBeUndefined();
  });

  test('variant threatFeedEmptyAnswer empty-bundle: an empty STIX bundle instead', async () => {
    const other = await startSimulator({
      seed: 3,
      events: { 'malware-grid': 0 },
      variants: { threatFeedEmptyAnswer: 'empty-bundle' },
    });
    try {
      const empty = await v1Caller(other).post(FEED_PATH, {
        data: [{ feedType: 'malware_grid', fileType: 'stix' }],
      });
      expect(json(empty)).toMatchObject({ type: 'bundle', objects: [] });
    } finally {
      await other.stop();
    }
  });

  test('a token of another feed, or a missing feedType, is refused', async () => {
    const first = await v1Caller(sim).post(FEED_PATH, {
      data: [{ feedType: 'malware_grid', fileType: 'stix' }],
    });
    const token = header(first, 'x-mc-threat-feed-next-token');
    const wrong = await v1Caller(sim).post(FEED_PATH, {
      data: [{ feedType: 'malware_customer', fileType: 'stix', token }],
    });
    expect(json(wrong).fail[0].errors[0].code).toBe('err_threat_intel_invalid_token');
    const missing = await v1Caller(sim).post(FEED_PATH, { data: [{ fileType: 'stix' }] });
    expect(json(missing).fail[0].errors[0]).toMatchObject({ code: 'err_validation_null', field: 'feedType' });
  });
});
