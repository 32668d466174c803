import { strFromU8, unzipSync } from 'fflate';
import { DAY_MS } from './dates';
import { type RunningSimulator, startSimulator } from './index';
import {
  decodeV1File,
  fileNameOf,
  header,
  json,
  testClock,
  v1Caller,
  v2Caller,
  walkSiemV1,
} from './sim-client';

const SIEM_PATH = '/api/audit/get-siem-logs';
const FILE_NAME = /^(receipt|process|delivery|jrnl|ttp_url)_(\d{17})\.(json|log|zip)$/;

describe('get-siem-logs (API 1.0)', () => {
  const clock = testClock();
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 5,
      now: clock.now,
      events: { siem: 260 },
      siem: { v1EventsPerFile: 20 },
    });
  });
  afterAll(() => sim.stop());

  test('walking every file from no token to "no more files" yields exactly the ground truth, in order', async () => {
    const walk = await walkSiemV1(v1Caller(sim, clock.now), { format: 'json', compress: true });
    const truth = sim.groundTruth('siem', 1);
    expect(walk.files.length).toBeGreaterThan(10);
    expect(walk.files.flatMap((f) => f.records)).toEqual(truth);
    expect(walk.files.every((f) => f.records.length <= 20)).toBe(true);
    // File names carry the log type and a 17-digit stamp; names only ever increase in time.
    const stamps: string[] = [];
    for (const file of walk.files) {
      const match = FILE_NAME.exec(file.fileName);
      expect(match).not.toBeNull();
      stamps.push(match?.[2] ?? '');
      expect(match?.[3]).toBe('json');
    }
    expect(stamps).toEqual([...stamps].sort());
    // The "no more files" answer: JSON, isLastToken, no mc-siem-token header (default variant).
    expect(json(walk.end)).toEqual({ meta: { isLastToken: true, status: 200 }, data: [], fail: [] });
    expect(header(walk.end, 'mc-siem-token')).toBeUndefined();
  });

  test('one file per call: octet-stream zip, Content-Disposition, mc-siem-token', async () => {
    const result = await v1Caller(sim, clock.now).post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true }],
    });
    expect(result.status).toBe(200);
    expect(header(result, 'content-type')).toBe('application/octet-stream');
    expect(header(result, 'content-disposition')).toMatch(/^attachment; filename="[a-z_]+_\d{17}\.json"$/);
    expect(header(result, 'mc-siem-token')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(result.body.subarray(0, 4)).toEqual(Buffer.from('PK\u0003\u0004', 'latin1'));
    const [member] = Object.entries(unzipSync(result.body));
    expect(member[0]).toBe(fileNameOf(result));
    const document = JSON.parse(strFromU8(member[1]));
    expect(document.type).toBe('MTA');
    expect(Array.isArray(document.data)).toBe(true);
  });

  test('records look like v1 MTA logs: PascalCase keys, +hhmm datetime, log type from the file name', async () => {
    const walk = await walkSiemV1(v1Caller(sim, clock.now), { format: 'json', compress: true });
    const byType = new Map<string, Record<string, unknown>>();
    for (const file of walk.files) byType.set(FILE_NAME.exec(file.fileName)?.[1] ?? '', file.records[0]);
    expect(byType.get('receipt')).toMatchObject({
      acc: expect.any(String),
      aCode: expect.any(String),
      Act: expect.stringMatching(/^(Acc|Rej)$/),
      Rcpt: expect.any(String),
      SpamScore: expect.any(Number),
    });
    expect(byType.get('receipt')?.datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0100$/);
    expect(byType.get('delivery')).toMatchObject({
      Delivered: expect.any(Boolean),
      Latency: expect.any(Number),
    });
    expect(byType.get('ttp_url')?.datetime).toMatch(/\+0000$/);
    expect(byType.get('ttp_url')).toHaveProperty('urlCategory');
  });

  test('the token stays valid after "no more files"; newly published events arrive as new files after it', async () => {
    const caller = v1Caller(sim, clock.now);
    const first = await walkSiemV1(caller, { format: 'json', compress: true });
    const published = sim.publish('siem', 25, { api: 1, lateBySeconds: 3 * 3600 });
    expect(published).toHaveLength(25);
    const more = await walkSiemV1(caller, { format: 'json', compress: true, token: first.lastToken });
    const records = more.files.flatMap((f) => f.records);
    expect(records).toHaveLength(25);
    expect(new Set(records.map((r) => JSON.stringify(r)))).toEqual(
      new Set(published.map((r) => JSON.stringify(r))),
    );
    const lastOld = FILE_NAME.exec(first.files[first.files.length - 1].fileName)?.[2] ?? '';
    for (const file of more.files) expect((FILE_NAME.exec(file.fileName)?.[2] ?? '') > lastOld).toBe(true);
    expect(sim.groundTruth('siem', 1)).toEqual([...first.files.flatMap((f) => f.records), ...records]);
  });

  test('an invalid token gets err_audit_siem_invalid_token inside HTTP 200', async () => {
    const result = await v1Caller(sim, clock.now).post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true, token: 'bm90LWEtdG9rZW4' }],
    });
    expect(result.status).toBe(200);
    expect(json(result).fail[0].errors[0].code).toBe('err_audit_siem_invalid_token');
  });

  test('uncompressed JSON files are served raw', async () => {
    const result = await v1Caller(sim, clock.now).post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: false }],
    });
    expect(result.body.toString('utf8', 0, 22)).toBe('{"type":"MTA","data":[');
  });

  test('without fileFormat the default variant answers key_value text', async () => {
    const result = await v1Caller(sim, clock.now).post(SIEM_PATH, { data: [{ type: 'MTA' }] });
    expect(fileNameOf(result)).toMatch(/\.log$/);
    expect(result.body.toString('utf8')).toMatch(/^datetime=\d{4}-\d\d-\d\dT[^|]+\|/);
  });

  test('get-siem-logs does not exist under API 2.0 (which uses batch files)', async () => {
    const caller = await v2Caller(sim);
    expect((await caller.post(SIEM_PATH, { data: [{ type: 'MTA' }] })).status).toBe(404);
  });
});

test('key_value files decode to the ground truth (string values, nulls dropped)', async () => {
  const sim = await startSimulator({
    seed: 9,
    events: { siem: 120 },
    siem: { v1FileFormat: 'key_value', v1EventsPerFile: 30 },
    variants: { v1KeyValueLineEnding: 'crlf' },
  });
  try {
    const walk = await walkSiemV1(v1Caller(sim), { format: 'key_value', compress: true });
    const truth = sim.groundTruth('siem', 1) as Record<string, string>[];
    expect(walk.files.flatMap((f) => f.records)).toEqual(truth);
    expect(truth.every((r) => Object.values(r).every((v) => typeof v === 'string'))).toBe(true);
    expect(Object.keys(truth[0])[0]).toBe('datetime');
    const raw = await v1Caller(sim).post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'key_value', compress: false }],
    });
    expect(raw.body.toString('utf8')).toMatch(/\r\n$/);
  } finally {
    await sim.stop();
  }
});

test('variants: .zip extension, echoed token on "no more files", 400 for an invalid token', async () => {
  const sim = await startSimulator({
    events: { siem: 10 },
    variants: {
      v1SiemCompressedExtension: 'zip',
      v1SiemNoMoreFilesToken: 'echo',
      v1SiemInvalidTokenStatus: 400,
    },
  });
  try {
    const caller = v1Caller(sim);
    const walk = await walkSiemV1(caller, { format: 'json', compress: true });
    expect(walk.files.every((f) => f.fileName.endsWith('.zip'))).toBe(true);
    expect(header(walk.end, 'mc-siem-token')).toBe(walk.lastToken);
    const bad = await caller.post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'json', token: 'garbage' }],
    });
    expect(bad.status).toBe(400);
    expect(json(bad).fail[0].errors[0].code).toBe('err_audit_siem_invalid_token');
  } finally {
    await sim.stop();
  }
});

test('files are retained 7 days: after that the old token is refused and nothing is left', async () => {
  const clock = testClock();
  const sim = await startSimulator({ now: clock.now, events: { siem: 30 } });
  try {
    const walk = await walkSiemV1(v1Caller(sim, clock.now), { format: 'json', compress: true });
    expect(walk.files.length).toBeGreaterThan(0);
    clock.advance(8 * DAY_MS);
    const caller = v1Caller(sim, clock.now);
    const stale = await caller.post(SIEM_PATH, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true, token: walk.files[0].token }],
    });
    expect(json(stale).fail[0].errors[0].code).toBe('err_audit_siem_invalid_token');
    expect(sim.groundTruth('siem', 1)).toEqual([]);
    const fresh = await walkSiemV1(caller, { format: 'json', compress: true });
    expect(fresh.files).toEqual([]);
  } finally {
    await sim.stop();
  }
});

test('decodeV1File tells a zip from text by content, not by name', () => {
  expect(decodeV1File(Buffer.from('{"type":"MTA","data":[{"a":1}]}'), 'json')).toEqual([{ a: 1 }]);
});
