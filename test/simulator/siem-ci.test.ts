import { type RunningSimulator, startSimulator } from './index';
import { downloadBatch, json, listBatches, testClock, v2Caller } from './sim-client';

describe('Cloud Integrated SIEM batch files (API 2.0, /siem/v1/batch/events/ci)', () => {
  const clock = testClock();
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 22,
      now: clock.now,
      events: { siem: 50, 'siem-ci': 200 },
      siem: { v2EventsPerFile: 15 },
    });
  });
  afterAll(() => sim.stop());

  test('listing every page and downloading every file yields exactly the ground truth, in order', async () => {
    const caller = await v2Caller(sim);
    const listing = await listBatches(caller.get, { pageSize: 4, feed: 'ci' });
    const records: Record<string, unknown>[] = [];
    for (const file of listing.files) records.push(...(await downloadBatch(file)));
    expect(records).toEqual(sim.groundTruth('siem-ci', 2));
    expect(records).toHaveLength(200);
    expect(new Set(records.map((r) => r.type))).toEqual(new Set(['entities', 'mailflow', 'urlclick']));
    // A Cloud Gateway listing is another dataset.
    const cg = await listBatches(caller.get, { feed: 'cg' });
    expect(cg.files.some((f) => listing.files.some((c) => c.url === f.url))).toBe(false);
  });

  test('records have the Cloud Integrated shapes: arrays stay arrays, epoch-ms timestamps', () => {
    const records = sim.groundTruth('siem-ci', 2) as Record<string, unknown>[];
    const entity = records.find((r) => r.type === 'entities')!;
    expect(entity).toMatchObject({
      accountId: expect.any(String),
      recipients: expect.any(Array),
      policiesApplied: [expect.objectContaining({ action: expect.any(String), mode: 'ACTIVE' })],
      historicalMail: false,
      source: 'OFFICE_365_MAIL',
      threatType: expect.any(String),
      timestamp: expect.any(Number),
    });
    const mailflow = records.find((r) => r.type === 'mailflow')!;
    expect((mailflow.authResults as { type: string }[]).map((a) => a.type)).toEqual(['SPF', 'DKIM', 'DMARC']);
    const click = records.find((r) => r.type === 'urlclick')!;
    expect(click).toMatchObject({ originalUrl: expect.any(String), redirectUrl: expect.any(String) });
  });

  test('one type per listing; a Cloud Gateway type is unknown here; tokens do not cross feeds', async () => {
    const caller = await v2Caller(sim);
    const mailflow = await listBatches(caller.get, { feed: 'ci', type: 'mailflow' });
    const rows = (await Promise.all(mailflow.files.map(downloadBatch))).flat();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.type === 'mailflow')).toBe(true);

    const wrongType = await caller.get('/siem/v1/batch/events/ci?type=receipt');
    expect(wrongType.status).toBe(400);
    expect(json(wrongType)).toEqual({
      error: { code: 'Request Validation Failed', message: 'Unknown type: receipt' },
    });

    const cgPage = json(await caller.get('/siem/v1/batch/events/cg?pageSize=1'));
    const crossed = await caller.get(
      `/siem/v1/batch/events/ci?nextPage=${encodeURIComponent(cgPage['@nextPage'])}`,
    );
    expect(crossed.status).toBe(400);
  });

  test('publishing adds files after the existing ones; API 1.0 holds no Cloud Integrated data', async () => {
    const caller = await v2Caller(sim);
    const before = await listBatches(caller.get, { feed: 'ci' });
    const added = sim.publish('siem-ci', 5);
    expect(sim.publish('siem-ci', 5, { api: 1 })).toEqual([]);
    expect(sim.groundTruth('siem-ci', 1)).toEqual([]);
    const after = await listBatches(caller.get, { feed: 'ci', nextPage: before.nextPage });
    const rows = (await Promise.all(after.files.map(downloadBatch))).flat();
    // One new file per type: the same events, grouped by type.
    expect(rows).toHaveLength(added.length);
    expect(rows).toEqual(expect.arrayContaining(added));
  });
});
