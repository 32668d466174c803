import { strFromU8, unzipSync } from 'fflate';
import { buildV1FileBody } from './file-bodies';
import { startSimulator } from './index';
import { resolveOptions } from './options';
import { header, http, json, v1Caller } from './sim-client';
import { TenantData } from './stores';
import { makeTenant } from './tenant';
import { Timeline } from './timeline';

test('a million records per stream start fast, and pages deep in the walk cost no more than the first', async () => {
  const started = Date.now();
  const sim = await startSimulator({ events: { audit: 1_000_000, siem: 1_000_000, 'ttp-url': 10, dlp: 10 } });
  try {
    expect(Date.now() - started).toBeLessThan(5000);
    const caller = v1Caller(sim);
    const item = {
      startDateTime: new Date(Date.now() - 2 * 86_400_000).toISOString(),
      endDateTime: new Date().toISOString(),
    };
    let page = json(
      await caller.post('/api/audit/get-audit-events', {
        meta: { pagination: { pageSize: 500 } },
        data: [item],
      }),
    );
    expect(page.meta.pagination.totalCount).toBe(1_000_000);
    const walkStarted = Date.now();
    for (let i = 0; i < 20; i++) {
      page = json(
        await caller.post('/api/audit/get-audit-events', {
          meta: { pagination: { pageSize: 500, pageToken: page.meta.pagination.next } },
        }),
      );
      expect(page.data).toHaveLength(500);
    }
    expect(Date.now() - walkStarted).toBeLessThan(3000);
    const file = await caller.post('/api/audit/get-siem-logs', {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true }],
    });
    expect(header(file, 'mc-siem-token')).toBeDefined();
  } finally {
    await sim.stop();
  }
});

test('publishing many small batches stays linear', () => {
  const timeline = new Timeline(new Float64Array([1000, 2000, 3000]));
  const started = Date.now();
  for (let i = 0; i < 2000; i++) timeline.append([500 + i, 2500, 10_000 - i]);
  expect(Date.now() - started).toBeLessThan(2000);
  expect(timeline.size).toBe(6003);
  const times = [...timeline.walk('asc', 0, Number.POSITIVE_INFINITY)].map((e) => e.time);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(timeline.count(2500, 2500)).toBe(2000);
});

test('a v1 file larger than the compression chunk is streamed into one valid zip member', () => {
  const options = resolveOptions({
    events: { siem: 4000 },
    siem: { v1LogTypes: ['receipt'], v1EventsPerFile: 4000, fileIntervalMs: 0 },
  });
  const data = new TenantData(options, makeTenant(options.seed));
  expect(data.siemV1.files).toHaveLength(1);
  const [file] = data.siemV1.files;
  const zipped = buildV1FileBody(data, file, 'json', true, '\n');
  const [text] = Object.values(unzipSync(zipped)).map((member) => strFromU8(member));
  expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
  const parsed = JSON.parse(text);
  expect(parsed.data).toHaveLength(4000);
  expect(parsed.data[3999]).toEqual(data.v1Event(file.events[3999]));
  expect(buildV1FileBody(data, file, 'json', true, '\n').equals(zipped)).toBe(true);
});

test('request bodies over 1 MiB get 413', async () => {
  const sim = await startSimulator({ events: { dlp: 1 } });
  try {
    const result = await http(`${sim.url}/api/dlp/get-logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(result.status).toBe(413);
  } finally {
    await sim.stop();
  }
});
