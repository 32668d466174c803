/**
 * `status` and `reset` against the embedded checkpoint store in a temporary folder, seeded by a real
 * tick (simulator → engine → ndjson receiver) or by direct store calls.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { main } from '../../bin/cli/main';
import { resetCommand } from '../../bin/cli/reset';
import { cursorSummary, statusCommand } from '../../bin/cli/status';
import { parseCollectorSettings } from '../../lambda/config';
import { type CheckpointKey, toLastError } from '../../lambda/core/checkpoint';
import { type Log, silentLog } from '../../lambda/core/ports';
import { AuthenticationError } from '../../lambda/errors';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { collectTick } from '../../lambda/tick';
import { type Receiver, startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { captureIO } from './cli-io';

const TOKEN = 'receiver-token-0123456789';
const silent: Log = silentLog;

let dir: string;
let stateDir: string;
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  [sim, receiver] = await Promise.all([
    startSimulator({ seed: 5 }),
    startReceiver({ kind: 'ndjson', token: TOKEN }),
  ]);
});

afterAll(async () => {
  await Promise.all([sim.stop(), receiver.stop()]);
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mimecast-cli-'));
  stateDir = path.join(dir, 'state');
  receiver.reset();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One real tick of the engine, as `run --once` does it, into the state folder. */
async function tick(streams: string): Promise<void> {
  const local = await openLocalCheckpointStore({ stateDir });
  const dispatcher = new Agent();
  try {
    const config = parseCollectorSettings({
      instance: 'local',
      apiVersion: '2',
      mimecastBaseUrl: sim.url,
      streams,
      collectionStart: new Date(Date.now() - 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      sinkUrl: receiver.url,
      sinkFormat: 'ndjson',
    });
    const { outcome } = await collectTick({
      config,
      adapters: {
        log: silent,
        store: local.store,
        dispatcher,
        credentials: {
          get: async () => ({ mimecast: sim.credentials.v2, sinkToken: TOKEN }),
          invalidate: () => {},
        },
      },
      owner: 'test-tick',
      deadline: Date.now() + 60_000,
    });
    expect(outcome.ok).toBe(true);
  } finally {
    await dispatcher.close();
    await local.close();
  }
}

/** Direct store calls: a stream that failed twice and is held by a run right now. */
async function seedFailingHeldStream(leaseMs: number): Promise<void> {
  const local = await openLocalCheckpointStore({ stateDir });
  try {
    const key: CheckpointKey = { instance: 'prod', stream: 'dlp' };
    const now = Date.now();
    const leased = await local.store.acquireLease(
      key,
      { owner: 'lambda-req-42', expiresAt: now + leaseMs },
      now,
    );
    if (leased === null) throw new Error('lease not acquired');
    const progressed = await local.store.commitProgress(
      key,
      { owner: 'lambda-req-42', version: leased.version },
      {
        cursor: {
          from: '2026-11-20T00:00:00Z',
          to: '2026-11-20T06:00:00Z',
          pageToken: 'page-2',
          skipIds: [],
          newest: '2026-11-20T03:00:00Z',
          newestIds: ['x'],
        },
        offset: 7,
        totals: { events: 1234, pages: 3, bytes: 56_789 },
        newestEventTime: '2026-11-20T03:00:00.000Z',
        succeededAt: now - 3600_000,
        at: now - 3600_000,
      },
    );
    const refused = new AuthenticationError(
      'Mimecast refused the credentials (stream dlp, HTTP 401)',
      'Check the API 2.0 client id and client secret in the secret.',
      { stream: 'dlp', status: 401 },
    );
    await local.store.recordFailure(
      key,
      { owner: 'lambda-req-42', version: progressed.version },
      { error: toLastError(refused, now), consecutiveFailures: 2, at: now },
    );
  } finally {
    await local.close();
  }
}

test('status after a real tick: every stream, its cursor, newest event, lag and totals matching what the receiver got', async () => {
  await tick('audit,siem,dlp,siem-ci,awareness-watchlist');
  const delivered = receiver.received();
  expect(delivered.length).toBeGreaterThan(0);

  const io = captureIO({});
  const code = await statusCommand(['--state-dir', stateDir], io);
  expect(io.errLines).toEqual([]);
  expect(code).toBe(0);
  const text = io.outLines.join('\n');
  expect(text).toMatch(/^stream\s+lag\s+last success\s+failures\s+lease\s+events$/m);
  expect(text).toMatch(/^audit\s+\S+\s+\S+ ago\s+0\s+free\s+\d+$/m);
  expect(text).toMatch(/^\s+cursor\s+window \S+ → (\S+|now − lateness margin), first page$/m);
  expect(text).toMatch(
    /^\s+cursor\s+batch listings since \S+: \d+ event types? with a page token, \d+ pending$/m,
  );
  expect(text).toMatch(/^siem-ci\s+\S+\s+\S+ ago\s+0\s+free\s+\d+$/m);
  expect(text).toMatch(/^\s+cursor\s+caught up; next snapshot due \S+Z$/m);
  expect(text).toMatch(/^\s+last error\s+none$/m);
  expect(text).toContain('No stream is failing.');

  const json = captureIO({});
  expect(await statusCommand(['--state-dir', stateDir, '--json'], json)).toBe(0);
  const doc = JSON.parse(json.outLines.join('\n')) as {
    instance: string;
    streams: Array<{
      stream: string;
      totals: { events: number };
      newestEventTime: string | null;
      lagSeconds: number | null;
      lastSuccessAt: string | null;
      lease: { active: boolean } | null;
    }>;
  };
  expect(doc.instance).toBe('local');
  expect(doc.streams.map((s) => s.stream)).toEqual([
    'audit',
    'awareness-watchlist',
    'dlp',
    'siem',
    'siem-ci',
  ]);
  expect(doc.streams.reduce((sum, s) => sum + s.totals.events, 0)).toBe(delivered.length);
  for (const stream of doc.streams) {
    expect(stream.lastSuccessAt).not.toBeNull();
    expect(stream.lease === null || stream.lease.active === false).toBe(true);
    // ISO-8601 UTC strings sort by time.
    const newest = delivered
      .filter((e) => e.stream === stream.stream)
      .map((e) => e.time)
      .sort()
      .at(-1);
    if (newest !== undefined) {
      expect(stream.newestEventTime).toBe(newest);
      expect(stream.lagSeconds).toBeGreaterThanOrEqual(0);
    }
  }
});

test('status shows a failing, leased stream: error kind and message, failures in a row, lease holder and expiry; exit 1', async () => {
  await seedFailingHeldStream(10 * 60_000);
  const io = captureIO({});
  const code = await statusCommand(['--state-dir', stateDir, '--instance', 'prod'], io);
  expect(code).toBe(1);
  const text = io.outLines.join('\n');
  expect(text).toMatch(/^dlp\s+\S+\s+60m ago\s+2\s+held\s+1234$/m);
  expect(text).toMatch(
    /cursor\s+window 2026-11-20T00:00:00Z → 2026-11-20T06:00:00Z, following page tokens; 7 events of the current page delivered/,
  );
  expect(text).toMatch(/newest event\s+2026-11-20T03:00:00.000Z \(lag \S+\)/);
  expect(text).toMatch(
    /last error\s+authentication at \S+ \(0s ago\): Mimecast refused the credentials \(stream dlp, HTTP 401\)/,
  );
  expect(text).toMatch(/what to do\s+Check the API 2.0 client id/);
  expect(text).toMatch(/failures\s+2 in a row/);
  expect(text).toMatch(/lease\s+held by lambda-req-42 until \S+ \((9|10)m left\)/);
  expect(text).toMatch(/totals\s+1234 events, 3 pages, 55\.5 KiB sent/);
  expect(text).toContain('1 stream is failing: dlp.');

  // Another instance in the same store sees nothing.
  const other = captureIO({});
  expect(await statusCommand(['--state-dir', stateDir, '--instance', 'staging'], other)).toBe(0);
  expect(other.outLines.join('\n')).toMatch(/No checkpoints for instance "staging"/);
  // ...and names the instances that do have checkpoints there (issue 12, section 4).
  expect(other.outLines.join('\n')).toMatch(
    /Instances with checkpoints there: prod; pass one with --instance\./,
  );
});

test('reset refuses while a run holds the lease, then deletes with --force; the stream is gone from status', async () => {
  await seedFailingHeldStream(10 * 60_000);
  const flags = ['--stream', 'dlp', '--instance', 'prod', '--state-dir', stateDir];

  const refused = captureIO({});
  expect(await resetCommand(flags, refused)).toBe(1);
  expect(refused.errLines.join('\n')).toMatch(/stream dlp is being collected right now by lambda-req-42/);
  expect(refused.errLines.join('\n')).toMatch(/what to do: wait until that run ends .* or pass --force/);
  const still = captureIO({});
  await statusCommand(['--state-dir', stateDir, '--instance', 'prod', '--json'], still);
  expect(JSON.parse(still.outLines.join('\n')).streams).toHaveLength(1);

  const forced = captureIO({});
  expect(await resetCommand([...flags, '--force'], forced)).toBe(0);
  const said = forced.outLines.join('\n');
  expect(said).toMatch(/now: cursor window 2026-11-20T00:00:00Z/);
  expect(said).toMatch(/starts this stream again from the configured collection start/);
  expect(said).toMatch(/--force: lambda-req-42 holds the stream/);
  expect(said).toMatch(/Done: the checkpoint of dlp is deleted/);

  const after = captureIO({});
  expect(await statusCommand(['--state-dir', stateDir, '--instance', 'prod', '--json'], after)).toBe(0);
  expect(JSON.parse(after.outLines.join('\n')).streams).toEqual([]);

  const again = captureIO({});
  expect(await resetCommand(flags, again)).toBe(0);
  expect(again.outLines.join('\n')).toMatch(/has no checkpoint .*; nothing to reset/);
});

test('reset of a stream whose lease expired needs no --force, and warns what a siem restart re-reads', async () => {
  await tick('siem,audit');
  // An expired lease left by a crashed run does not block.
  await seedFailingHeldStream(-1000);
  const expired = captureIO({});
  expect(
    await resetCommand(['--stream', 'dlp', '--instance', 'prod', '--state-dir', stateDir], expired),
  ).toBe(0);

  const io = captureIO({});
  expect(await resetCommand(['--stream', 'siem', '--state-dir', stateDir], io)).toBe(0);
  expect(io.outLines.join('\n')).toMatch(
    /With API 1.0 it re-reads every SIEM file Mimecast still keeps \(up to 7 days back\)/,
  );
  const json = captureIO({});
  await statusCommand(['--state-dir', stateDir, '--json'], json);
  expect(JSON.parse(json.outLines.join('\n')).streams.map((s: { stream: string }) => s.stream)).toEqual([
    'audit',
  ]);
});

test('bad flags and a missing state folder: clear messages, exit 2, nothing created', async () => {
  const missing = path.join(dir, 'never-ran');
  const io = captureIO({});
  expect(await statusCommand(['--state-dir', missing], io)).toBe(2);
  expect(io.errLines.join('\n')).toMatch(/--state-dir: .*never-ran holds no checkpoint store/);
  expect(existsSync(missing)).toBe(false);

  const both = captureIO({});
  expect(
    await statusCommand(['--state-dir', stateDir, '--table', 'checkpoints', '--instance', 'Bad!'], both),
  ).toBe(2);
  expect(both.errLines.join('\n')).toMatch(/--table: use either --table or --state-dir, not both/);
  expect(both.errLines.join('\n')).toMatch(/--instance: "Bad!" is not a safe id/);

  const reset = captureIO({});
  expect(await resetCommand(['--stream', 'everything', '--region', 'eu-west-1'], reset)).toBe(2);
  expect(reset.errLines.join('\n')).toMatch(
    /--stream: "everything" is not a stream; expected one of siem, audit/,
  );
  expect(reset.errLines.join('\n')).toMatch(/--region: is only used with --table/);

  const unknown = captureIO({});
  expect(await resetCommand(['--stream', 'siem', '--yes'], unknown)).toBe(2);
  expect(unknown.errLines.join('\n')).toMatch(/Unknown option '--yes'/);
  expect(unknown.text()).not.toMatch(/\n\s+at /);
});

test('--help of status and reset explains every flag with an example', async () => {
  const status = captureIO({});
  expect(await main(['status', '--help'], status)).toBe(0);
  for (const flag of ['--state-dir', '--table', '--region', '--instance', '--json']) {
    expect(status.outLines.join('\n')).toContain(flag);
  }
  expect(status.outLines.join('\n')).toMatch(/Examples:\n\s+npx mimecast-collector status/);
  const reset = captureIO({});
  expect(await main(['reset', '--help'], reset)).toBe(0);
  for (const flag of ['--stream', '--instance', '--state-dir', '--table', '--region', '--force']) {
    expect(reset.outLines.join('\n')).toContain(flag);
  }
  expect(reset.outLines.join('\n')).toMatch(/up to\s+7 days back/);
});

test('a snapshot in progress is summarised with its time, campaign and page', () => {
  expect(
    cursorSummary({
      cursor: {
        due: '2026-11-20T00:00:00.000Z',
        snapshot: {
          at: '2026-11-21T00:00:05.000Z',
          pageToken: 'p2',
          campaign: { id: 'c-1', name: 'Parcel' },
          after: null,
        },
      },
      offset: 3,
    }),
  ).toBe(
    'snapshot of 2026-11-21T00:00:05.000Z in progress, campaign c-1, following page tokens; 3 events of the current page delivered',
  );
  expect(
    cursorSummary({
      cursor: {
        due: '2026-11-20T00:00:00.000Z',
        snapshot: { at: 'x', pageToken: null, campaign: null, after: 'c-1' },
      },
      offset: 0,
    }),
  ).toBe('snapshot of x in progress, after campaign c-1, first page');
});
