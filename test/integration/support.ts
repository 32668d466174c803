/**
 * Helpers for the end-to-end tests of issue 4: a "rig" of real parts on loopback — the Mimecast
 * simulator, a receiver, dynalite, the Secrets Manager/KMS stub — with a clock the test moves, and
 * two ways to run a tick through the real engine, Mimecast client and HTTP sink:
 * - `rig.run()`: runTick wired like tick.ts, but on the rig clock and with short leases, so crashes,
 *   lateness and throttle waits are crossed by moving time instead of waiting;
 * - `rig.collect()`: collectTick itself, credentials read from the secret (Date.now(), default leases).
 * Plus store and sink wrappers that make a tick "crash" at a chosen point, and delivery checks.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Agent } from 'undici';
import type { CollectorSettings } from '../../lambda/config';
import type {
  Checkpoint,
  CheckpointKey,
  CheckpointStore,
  FailureUpdate,
  Lease,
  LeaseToken,
  ProgressUpdate,
} from '../../lambda/core/checkpoint';
import type { Envelope } from '../../lambda/core/envelope';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import type { Cursor, Sink } from '../../lambda/core/ports';
import type { TickResult } from '../../lambda/core/results';
import { type StreamId, streamsFor } from '../../lambda/core/streams';
import type { MimecastClient } from '../../lambda/mimecast';
import { buildTick, createCollectorClient } from '../../lambda/root';
import { createCredentialsProvider } from '../../lambda/secrets/provider';
import { isSinkFormat, type SinkFormat } from '../../lambda/sinks';
import { createDynamoDbCheckpointStore, type DynamoCheckpointStore } from '../../lambda/state/dynamodb-store';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { collectTick, type TickReport } from '../../lambda/tick';
import { type AwsStub, startAwsStub } from '../aws-stub';
import { TestClock } from '../kit/clock';
import { RecordingLog } from '../kit/log';
import { rigSettings } from '../kit/settings';
import { type CommitWitness, type Process, ProcessStore, StoreProxy } from '../kit/stores';

import {
  type DestinationKind,
  type EntraTokenEndpoint,
  type HecAckOptions,
  type Receiver,
  startEntraTokenEndpoint,
  startReceiver,
} from '../receivers';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../simulator';

/**
 * The streams both API versions serve, which every test here runs on both. The API 2.0-only streams
 * (siem-ci, the Awareness Training snapshots) have their own tests (api2-streams.test.ts).
 */
export const ALL_STREAMS: readonly StreamId[] = streamsFor(1);
export const INSTANCE = 'it';
/** Records served per JSON page (the simulator clamps the client's larger request to this). */
export const PAGE_SIZE = 8;
/** Events per sink batch: smaller than a page, so batches end inside pages and span them. */
export const BATCH = 5;
/** The client's lateness margin (seconds): window ends stay this far behind the rig clock. */
export const MARGIN_S = 60;
/** Engine runs (`rig.run`) end this long after they start on the rig clock; their leases last until then. */
export const RUN_BUDGET_MS = 20_000;
const SECRET_NAME = 'mimecast-collector/it';

/** Records per stream at start (threat feeds: indicators, three STIX objects each). */
export const SMALL_EVENTS: Record<StreamId, number> = {
  siem: 36,
  audit: 30,
  'ttp-url': 24,
  'ttp-attachment': 20,
  'ttp-impersonation': 18,
  dlp: 17,
  'held-release': 19,
  'archive-search': 21,
  'malware-customer': 7,
  'malware-grid': 8,
  'siem-ci': 30,
  'awareness-performance': 19,
  'awareness-safescore': 17,
  'awareness-user-data': 23,
  'awareness-watchlist': 11,
};

/** Mimecast paths per stream (the simulator's `inject` matches on them). */
export const STREAM_PATHS: Record<StreamId, { 1: string | RegExp; 2: string | RegExp }> = {
  siem: { 1: '/api/audit/get-siem-logs', 2: '/siem/v1/batch/events/cg' },
  audit: { 1: '/api/audit/get-audit-events', 2: '/api/audit/get-audit-events' },
  'ttp-url': { 1: '/api/ttp/url/get-logs', 2: '/api/ttp/url/get-logs' },
  'ttp-attachment': { 1: '/api/ttp/attachment/get-logs', 2: '/api/ttp/attachment/get-logs' },
  'ttp-impersonation': { 1: '/api/ttp/impersonation/get-logs', 2: '/api/ttp/impersonation/get-logs' },
  dlp: { 1: '/api/dlp/get-logs', 2: '/api/dlp/get-logs' },
  'held-release': { 1: '/api/gateway/get-held-release-logs', 2: '/api/gateway/get-held-release-logs' },
  'archive-search': {
    1: /^\/api\/archive\/get-(archive-)?search-logs$/,
    2: /^\/api\/archive\/get-(archive-)?search-logs$/,
  },
  // Both feeds share one path; the feed type is in the body.
  'malware-customer': { 1: '/api/ttp/threat-intel/get-feed', 2: '/api/ttp/threat-intel/get-feed' },
  'malware-grid': { 1: '/api/ttp/threat-intel/get-feed', 2: '/api/ttp/threat-intel/get-feed' },
  // API 2.0 only: the API 1.0 entries name the same paths (nothing calls them).
  'siem-ci': { 1: '/siem/v1/batch/events/ci', 2: '/siem/v1/batch/events/ci' },
  'awareness-performance': {
    1: '/api/awareness-training/company/get-performance-details',
    2: '/api/awareness-training/company/get-performance-details',
  },
  'awareness-safescore': {
    1: '/api/awareness-training/company/get-safe-score-details',
    2: '/api/awareness-training/company/get-safe-score-details',
  },
  'awareness-user-data': {
    1: /^\/api\/awareness-training\/phishing\/campaign\/get-(campaign|user-data)$/,
    2: /^\/api\/awareness-training\/phishing\/campaign\/get-(campaign|user-data)$/,
  },
  'awareness-watchlist': {
    1: '/api/awareness-training/company/get-watchlist-details',
    2: '/api/awareness-training/company/get-watchlist-details',
  },
};

export interface RigOptions {
  api: 1 | 2;
  /** The destination and its receiver; `ack` turns on HEC indexer acknowledgement on both sides. */
  receiver?: { kind: DestinationKind; token?: string; ack?: HecAckOptions; maxBodyBytes?: number };
  simulator?: Partial<SimulatorOptions>;
  /** The client's lateness margin (default MARGIN_S). */
  latenessMarginSeconds?: number;
}

export interface RunOptions {
  owner?: string;
  streams?: readonly StreamId[];
  /** Default: the rig's dynalite store. */
  store?: CheckpointStore;
  /** Wraps the real HTTP sink (crash points, recording). */
  wrapSink?: (sink: Sink) => Sink;
  signal?: AbortSignal;
  /** A new Mimecast client (empty token cache), as in a new process after a crash. */
  freshProcess?: boolean;
  /** Where streams collected for the first time start; default `rig.collectionStart`, null = now. */
  collectionStart?: Date | null;
}

export interface CollectOptions {
  owner: string;
  /** Adapters of one "container" (its own SDK clients and agent); default: the rig's. */
  container?: Container;
  streams?: readonly StreamId[];
  onDelivered?: (stream: StreamId, batch: readonly Envelope[]) => void;
  /** Wraps the container's store for this tick. */
  wrapStore?: (store: CheckpointStore) => CheckpointStore;
}

/** What a Lambda container holds across invocations: its own SDK clients and HTTP agent. */
export interface Container {
  store: DynamoCheckpointStore;
  dispatcher: Agent;
  credentials: ReturnType<typeof createCredentialsProvider>;
  log: RecordingLog;
  close(): Promise<void>;
}

export interface Rig {
  api: 1 | 2;
  sim: RunningSimulator;
  receiver: Receiver;
  /** sentinel: the Entra token endpoint the destination signs in at. */
  entra?: EntraTokenEndpoint;
  dynamo: LocalCheckpointStore;
  aws: AwsStub;
  clock: TestClock;
  log: RecordingLog;
  /** Where collection starts: before all of the simulator's data. */
  collectionStart: Date;
  /** Ground-truth ids of a stream now. */
  truth(stream: StreamId): string[];
  /** Ids the receiver accepted for a stream, in arrival order. */
  delivered(stream: StreamId): string[];
  /** Ids of each acknowledged ingestion request for a stream (one entry per batch). */
  batches(stream: StreamId): string[][];
  /** One engine tick (runTick with the real client and sink) on the rig clock. */
  run(options?: RunOptions): Promise<TickResult>;
  /**
   * One collectTick, as the Lambda handler runs it (credentials from the secret). It runs on the wall
   * clock: use it before moving the rig clock.
   */
  collect(options: CollectOptions): Promise<TickReport>;
  /** A Lambda container of its own (two of them = two concurrent invocations on different machines). */
  container(): Container;
  /** A Mimecast client on the rig clock, for replays. */
  client(): MimecastClient;
  checkpoint(stream: StreamId): Promise<Checkpoint | undefined>;
  stop(): Promise<void>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const { api } = options;
  const clock = new TestClock();
  const log = new RecordingLog();
  const sim = await startSimulator({
    seed: 4,
    now: () => clock.now(),
    ...options.simulator,
    events: { ...SMALL_EVENTS, ...options.simulator?.events },
    siem: { fileIntervalMs: 0, v1EventsPerFile: 4, v2EventsPerFile: 3, ...options.simulator?.siem },
    threatFeed: { indicatorsPerFile: 3, ...options.simulator?.threatFeed },
    variants: {
      maxPageSize: PAGE_SIZE,
      pageSizeOverMax: 'clamp',
      v2BatchMaxPageSize: 2,
      ...options.simulator?.variants,
    },
  });
  const receiverKind = options.receiver?.kind ?? 'ndjson';
  const sinkToken = options.receiver?.token;
  const ack = options.receiver?.ack;
  if (!isSinkFormat(receiverKind)) throw new Error(`no sink format ${receiverKind} yet`);
  const sinkFormat: SinkFormat = receiverKind;
  const entra = receiverKind === 'sentinel' ? await startEntraTokenEndpoint() : undefined;
  const azure =
    entra === undefined
      ? undefined
      : { tenantId: entra.tenantId, clientId: entra.clientId, clientSecret: entra.clientSecret };
  const [receiver, dynamo, aws] = await Promise.all([
    startReceiver({
      kind: receiverKind,
      ...(entra === undefined ? {} : { sentinel: { entra } }),
      ...(options.receiver?.token === undefined ? {} : { token: options.receiver.token }),
      ...(ack === undefined ? {} : { ack }),
      ...(options.receiver?.maxBodyBytes === undefined
        ? {}
        : { maxBodyBytes: options.receiver.maxBodyBytes }),
    }),
    openLocalCheckpointStore(),
    startAwsStub({}),
  ]);
  // Sumo as the stack configures it: the URL up to /receiver/v1/http/, the source token in the secret.
  const sinkUrl = receiverKind === 'sumo' ? receiver.url.replace(/[^/]+$/, '') : receiver.url;
  const mimecastCredentials = api === 1 ? sim.credentials.v1 : sim.credentials.v2;
  aws.putSecret(
    SECRET_NAME,
    JSON.stringify({
      ...mimecastCredentials,
      ...(sinkToken === undefined ? {} : { sinkToken }),
      ...(azure === undefined
        ? {}
        : {
            azureTenantId: azure.tenantId,
            azureClientId: azure.clientId,
            azureClientSecret: azure.clientSecret,
          }),
    }),
  );
  const dispatcher = new Agent({ keepAliveTimeout: 1000, connections: 32 });
  const collectionStart = new Date(clock.now() - 26 * 3_600_000);
  const settingsFor = (streams: readonly StreamId[], start: Date | undefined): CollectorSettings =>
    rigSettings({
      instance: INSTANCE,
      apiVersion: api,
      mimecastBaseUrl: sim.url,
      streams: [...streams],
      ...(start === undefined ? {} : { collectionStart: start }),
      sinkUrl,
      sinkFormat,
      ...(ack === undefined ? {} : { hecAck: true }),
      ...(entra === undefined ? {} : { azureAuthorityUrl: entra.authority }),
      latenessMarginSeconds: options.latenessMarginSeconds ?? MARGIN_S,
      batchMaxEvents: BATCH,
    });
  const newClient = (): MimecastClient =>
    createCollectorClient(
      settingsFor(ALL_STREAMS, collectionStart),
      mimecastCredentials,
      { dispatcher, log, clock },
      { retry: { baseDelayMs: 5, maxDelayMs: 40 } },
    );
  let shared = newClient();
  const containers: Container[] = [];

  const container = (): Container => {
    const store = createDynamoDbCheckpointStore({
      tableName: dynamo.tableName,
      endpoint: dynamo.endpoint,
      region: dynamo.region,
      credentials: dynamo.credentials,
    });
    const agent = new Agent({ keepAliveTimeout: 1000, connections: 16 });
    const config = aws.clientConfig();
    const secretsManager = new SecretsManagerClient(config);
    const kms = new KMSClient(config);
    const created: Container = {
      store,
      dispatcher: agent,
      credentials: createCredentialsProvider({
        secretId: aws.secretArn(SECRET_NAME),
        instance: INSTANCE,
        secretsManager,
        kms,
      }),
      log: new RecordingLog(),
      close: async () => {
        store.close();
        secretsManager.destroy();
        kms.destroy();
        await agent.close();
      },
    };
    containers.push(created);
    return created;
  };
  let defaultContainer: Container | undefined;

  const envelopes = (stream: StreamId): Envelope[] =>
    receiver.received().filter((e) => e.stream === stream && e.instance === INSTANCE);

  const rig: Rig = {
    api,
    sim,
    receiver,
    ...(entra === undefined ? {} : { entra }),
    dynamo,
    aws,
    clock,
    log,
    collectionStart,
    truth: (stream) => {
      // Identical records are numbered as the sources number them (Mimecast sorts them together).
      const ids = new OccurrenceIds(stream);
      // SIEM file records by their own text, as the simulator serves them (test/support/event-ids.ts).
      const fileRecords = stream === 'siem' || stream === 'siem-ci';
      return sim
        .groundTruth(stream, api)
        .map((record) => (fileRecords ? ids.idOfText(JSON.stringify(record)) : ids.idOf(record)));
    },
    delivered: (stream) => envelopes(stream).map((e) => e.id),
    batches: (stream) =>
      receiver
        .ingestRequests()
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
        .map((r) => idsInBody(receiverKind, r.body, stream))
        .filter((ids) => ids.length > 0),
    async run(run = {}) {
      if (run.freshProcess) shared = newClient();
      const streams = run.streams ?? ALL_STREAMS;
      const start = run.collectionStart === null ? undefined : (run.collectionStart ?? collectionStart);
      const tick = buildTick(
        settingsFor(streams, start),
        {
          log,
          store: run.store ?? dynamo.store,
          credentials: {
            mimecast: mimecastCredentials,
            ...(sinkToken === undefined ? {} : { sinkToken }),
            ...(azure === undefined ? {} : { azure }),
          },
          dispatcher,
        },
        {
          clock,
          client: shared,
          limits: {
            concurrency: streams.length,
            // Leases last until the deadline: a crashed run's streams are free RUN_BUDGET_MS later.
            leaseMs: 1000,
            safetyMarginMs: 2000,
          },
          // Ack polling on the test's scale: a lost ack is given up on within a second.
          hecAck: { timeoutMs: 1_000, pollIntervalMs: 10, maxPollIntervalMs: 100 },
          ...(run.wrapSink === undefined ? {} : { wrapSink: run.wrapSink }),
        },
      );
      return tick.run({
        owner: run.owner ?? `run-${Math.random().toString(36).slice(2)}`,
        deadline: clock.now() + RUN_BUDGET_MS,
        streams,
        ...(run.signal === undefined ? {} : { signal: run.signal }),
      });
    },
    async collect(tick) {
      defaultContainer ??= container();
      const adapters = tick.container ?? defaultContainer;
      return collectTick({
        config: settingsFor(tick.streams ?? ALL_STREAMS, collectionStart),
        adapters: {
          log: adapters.log,
          credentials: adapters.credentials,
          store: tick.wrapStore ? tick.wrapStore(adapters.store) : adapters.store,
          dispatcher: adapters.dispatcher,
          ...(tick.onDelivered === undefined ? {} : { onDelivered: tick.onDelivered }),
        },
        owner: tick.owner,
        deadline: Date.now() + 60_000,
      });
    },
    container,
    client: newClient,
    checkpoint: (stream) => dynamo.store.load({ instance: INSTANCE, stream }),
    async stop() {
      await Promise.allSettled([
        ...containers.map((c) => c.close()),
        dispatcher.close(),
        sim.stop(),
        receiver.stop(),
        ...(entra === undefined ? [] : [entra.stop()]),
        aws.stop(),
        dynamo.close(),
      ]);
    },
  };
  return rig;
}

function idsInBody(kind: DestinationKind, body: string, stream: StreamId): string[] {
  const ids: string[] = [];
  if (kind === 'datadog' || kind === 'sentinel') {
    const entries = JSON.parse(body) as Array<{ id?: unknown; stream?: unknown }>;
    return entries.filter((e) => e.stream === stream && typeof e.id === 'string').map((e) => e.id as string);
  }
  for (const line of body.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (kind === 'splunk-hec') value = value.event as Record<string, unknown>;
    if (value?.stream === stream && typeof value.id === 'string') ids.push(value.id);
  }
  return ids;
}

/** For a test file: `const rigFor = rigPerTest()`; each test starts its own rig, stopped after it. */
export function rigPerTest(): (options: RigOptions) => Promise<Rig> {
  let current: Rig | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return async (options) => {
    current = await startRig(options);
    return current;
  };
}

// ---------------------------------------------------------------------------------------------
// Delivery checks

/** How often each id occurs. */
export function tally(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Ids delivered more than once (each listed once). */
export function repeated(ids: readonly string[]): string[] {
  return [...tally(ids)].filter(([, n]) => n > 1).map(([id]) => id);
}

export interface DeliveryReport {
  /** Ground-truth ids never delivered. */
  missing: number;
  /** Delivered ids that are not in the ground truth. */
  unexpected: number;
  /** Extra copies beyond the first. */
  extraCopies: number;
}

/** Per stream: what is missing, unexpected or repeated, in one object a failed assertion shows whole. */
export function deliveryReport(rig: Rig, streams: readonly StreamId[] = ALL_STREAMS) {
  const report = {} as Record<StreamId, DeliveryReport>;
  for (const stream of streams) {
    const truth = new Set(rig.truth(stream));
    const delivered = rig.delivered(stream);
    const seen = new Set(delivered);
    report[stream] = {
      missing: [...truth].filter((id) => !seen.has(id)).length,
      unexpected: [...seen].filter((id) => !truth.has(id)).length,
      extraCopies: delivered.length - seen.size,
    };
  }
  return report;
}

export function exactlyOnce(streams: readonly StreamId[] = ALL_STREAMS): Record<StreamId, DeliveryReport> {
  return Object.fromEntries(streams.map((s) => [s, { missing: 0, unexpected: 0, extraCopies: 0 }])) as Record<
    StreamId,
    DeliveryReport
  >;
}

/**
 * The delivery guarantee after a restart: nothing lost, and the only repeats are one batch — the one in
 * flight when the run died — delivered twice. Returns the repeated ids per stream.
 */
export function expectAtLeastOnceWithinOneBatch(
  rig: Rig,
  streams: readonly StreamId[] = ALL_STREAMS,
): Record<string, string[]> {
  const report = deliveryReport(rig, streams);
  expect(
    Object.fromEntries(
      streams.map((s) => [s, { missing: report[s].missing, unexpected: report[s].unexpected }]),
    ),
  ).toEqual(Object.fromEntries(streams.map((s) => [s, { missing: 0, unexpected: 0 }])));
  const repeats: Record<string, string[]> = {};
  for (const stream of streams) {
    const delivered = rig.delivered(stream);
    const again = repeated(delivered);
    repeats[stream] = again;
    if (again.length === 0) continue;
    const counts = tally(delivered);
    const check = {
      stream,
      atMostTwice: again.every((id) => counts.get(id) === 2),
      withinBatchSize: again.length <= BATCH,
      // The repeats are exactly the ids of one batch the receiver acknowledged.
      oneBatch: rig.batches(stream).some((batch) => sameSet(batch, again)),
    };
    expect(check).toEqual({ stream, atMostTwice: true, withinBatchSize: true, oneBatch: true });
  }
  return repeats;
}

/** Paging and batching really happened on every stream: more than one page and batch, none over BATCH. */
export function expectPagedAndBatched(rig: Rig, result: TickResult, streams: readonly StreamId[]): void {
  for (const stream of streams) {
    const pages = result.streams.find((s) => s.stream === stream)!.pages;
    expect({ stream, pages: pages > 1, batches: rig.batches(stream).length > 1 }).toEqual({
      stream,
      pages: true,
      batches: true,
    });
    expect(Math.max(...rig.batches(stream).map((b) => b.length))).toBeLessThanOrEqual(BATCH);
  }
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((id) => right.has(id));
}

export function outcomes(result: TickResult): Record<string, string> {
  return Object.fromEntries(result.streams.map((s) => [s.stream, s.outcome]));
}

export function allOutcomes(streams: readonly StreamId[], outcome: string): Record<string, string> {
  return Object.fromEntries(streams.map((s) => [s, outcome]));
}

// ---------------------------------------------------------------------------------------------
// Crashes

/** Where a planned crash happens, counted in batches of one stream. */
export type CrashPoint =
  /** The batch was fetched and built; the process dies before sending it. */
  | { at: 'before-send'; stream: StreamId; batch: number }
  /** The receiver acknowledged the batch; the process dies before its checkpoint write. */
  | { at: 'after-ack'; stream: StreamId; batch: number };

/** Store and sink wrappers of one process, with an optional planned crash point. */
export function crashable(process: Process, point?: CrashPoint) {
  const sends = new Map<StreamId, number>();
  const armed = new Set<StreamId>();
  const wrapStore = (inner: CheckpointStore): CheckpointStore =>
    new ProcessStore(inner, process, (key) => {
      if (armed.has(key.stream))
        throw process.crash(`after ${key.stream} was acknowledged, before its commit`);
    });
  const wrapSink = (inner: Sink): Sink => ({
    sizeOf: (envelope) => inner.sizeOf(envelope),
    async send(batch, budget) {
      process.assertAlive();
      const stream = batch[0]!.stream;
      const n = (sends.get(stream) ?? 0) + 1;
      sends.set(stream, n);
      const hit = point !== undefined && point.stream === stream && point.batch === n;
      if (hit && point.at === 'before-send') throw process.crash(`before sending ${stream} batch ${n}`);
      const result = await inner.send(batch, budget);
      process.assertAlive();
      if (hit && point.at === 'after-ack') armed.add(stream);
      return result;
    },
  });
  return { wrapStore, wrapSink, sends };
}

/** Records every version the store handed back, per stream, in the order this container saw them. */
export class VersionRecorder extends StoreProxy {
  readonly versions = new Map<StreamId, number[]>();
  private note(checkpoint: Checkpoint | null): Checkpoint | null {
    if (checkpoint !== null) {
      const list = this.versions.get(checkpoint.stream) ?? [];
      list.push(checkpoint.version);
      this.versions.set(checkpoint.stream, list);
    }
    return checkpoint;
  }
  override async acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null> {
    return this.note(await this.inner.acquireLease(key, lease, now));
  }
  override async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate) {
    return this.note(await this.inner.commitProgress(key, token, update)) as Checkpoint;
  }
  override async recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate) {
    return this.note(await this.inner.recordFailure(key, token, update)) as Checkpoint;
  }
}

/** Every checkpoint written was at or behind what the receiver had acknowledged at that moment. */
export async function expectNeverAhead(rig: Rig, witness: CommitWitness): Promise<void> {
  expect(witness.commits.length).toBeGreaterThan(0);
  const client = rig.client();
  const problems = await witness.check(
    (stream, cursor, offset) => replay(client, stream, cursor, offset),
    (stream) => rig.truth(stream),
  );
  expect(problems).toEqual([]);
}

/**
 * What a fresh run would deliver from a stored position: the page at `cursor` without its first `offset`
 * records, then every later page until caught up (the engine's resume rule).
 */
export async function replay(
  client: MimecastClient,
  stream: StreamId,
  cursor: Cursor,
  offset: number,
  maxCalls = 200,
  callTimeoutMs = 10_000,
): Promise<string[]> {
  const source = client.source(stream);
  const ids: string[] = [];
  let current = cursor;
  let skip = offset;
  for (let call = 0; call < maxCalls; call += 1) {
    const page = await source.fetchPage(current, {
      signal: AbortSignal.timeout(callTimeoutMs),
      deadline: Date.now() + callTimeoutMs,
    });
    let index = 0;
    for await (const record of page.records) {
      index += 1;
      if (index > skip) ids.push(record.id);
    }
    skip = 0;
    const end = page.end();
    const fetched = current;
    current = end.next;
    // A re-check page reports whether the main pass was caught up when the re-check began; the next
    // tick still resumes the main pass after it, so only a main-pass page ends the replay.
    if (end.caughtUp && !inLateRecheck(fetched)) return ids;
  }
  throw new Error(`replay of ${stream} not caught up after ${maxCalls} calls`);
}

/** Whether a window cursor is in the middle of a late-data re-check (late-data.ts). */
export function inLateRecheck(cursor: Cursor): boolean {
  if (cursor === null || typeof cursor !== 'object') return false;
  const late = (cursor as { late?: { recheck?: unknown } }).late;
  return late?.recheck !== undefined;
}

/** Ids of a stream's first page, as a fresh collection would fetch it. */
export async function firstPage(rig: Rig, stream: StreamId): Promise<string[]> {
  const source = rig.client().source(stream);
  const cursor = source.seed(rig.collectionStart, new Date(rig.clock.now()));
  const page = await source.fetchPage(cursor, {
    signal: AbortSignal.timeout(10_000),
    deadline: Date.now() + 10_000,
  });
  const ids: string[] = [];
  for await (const record of page.records) ids.push(record.id);
  return ids;
}

/** Polls `condition` every 10 ms, for at most `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}
