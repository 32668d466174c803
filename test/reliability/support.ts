/**
 * The reliability harness (issue 7): the real engine, Mimecast client, HTTP sink and DynamoDB adapter on
 * loopback, driven tick by tick on a clock the test moves, with every invariant of docs/ARCHITECTURE.md's delivery
 * guarantee checked as a list of problems (so the self-tests in checks.test.ts can prove the checks fire).
 *
 * - A "mirror" simulator with the same seed, range and publishing holds the same data but never faults:
 *   replays from a stored checkpoint go there, so checking a position never consumes or meets a fault.
 * - Ticks run with the real Powertools logger and metrics; their stdout is captured and parsed, so a
 *   fault's visibility is asserted on the EMF and log lines CloudWatch would receive.
 *
 * Self-contained: it borrows the crash and replay ideas of test/integration/support.ts but shares no code
 * with it, so either can change without breaking the other.
 */
import { Agent } from 'undici';
import type { Checkpoint, CheckpointKey, CheckpointStore } from '../../lambda/core/checkpoint';
import type { Envelope } from '../../lambda/core/envelope';
import type { EngineLimits } from '../../lambda/core/limits';
import type { Clock, Cursor, Sink, StreamSource } from '../../lambda/core/ports';
import type { StreamResult, TickResult } from '../../lambda/core/results';
import type { StreamId } from '../../lambda/core/streams';
import type { MimecastClient } from '../../lambda/mimecast';
import { buildTick, createCollectorClient } from '../../lambda/root';
import type { SinkRetryOptions } from '../../lambda/sinks/retry';
import type { DynamoCheckpointStore } from '../../lambda/state/dynamodb-store';
import {
  createLogger,
  createMetrics,
  createTickTelemetry,
  STREAM_HEALTH_MESSAGE,
} from '../../lambda/telemetry';
import { operatorFailure } from '../../lambda/tick';
import { LAG_ALARM_THRESHOLDS, lagAlarmSeconds } from '../../lib/defaults';
import { replay as replayPages, waitFor } from '../integration/support';
import { TestClock } from '../kit/clock';
import { rigSettings } from '../kit/settings';
import type { Process } from '../kit/stores';
import { type Receiver, startReceiver } from '../receivers';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../simulator';
import { captureOutput } from '../support/capture-output';
import { expectedEventId } from '../support/event-ids';

// The crash and store wrappers are the integration suite's: one definition of what a crash is.
export { waitFor };

/** The integration suite's replay, with room for the soak's long streams and loaded machines. */
function replay(client: MimecastClient, stream: StreamId, cursor: Cursor, offset: number): Promise<string[]> {
  return replayPages(client, stream, cursor, offset, 5000, 30_000);
}

// ---------------------------------------------------------------------------------------------
// Time

// ---------------------------------------------------------------------------------------------
// What is collected

export type KindId = 'siem-v1' | 'siem-v2' | 'audit' | 'ttp-url' | 'threat-feed';

export interface Kind {
  id: KindId;
  title: string;
  stream: StreamId;
  api: 1 | 2;
  /** Where the listing/JSON calls go (the simulator's `inject` matches on it). */
  callPath: string | RegExp;
  /** Where the bodies worth cutting come from (v2 SIEM: the batch files; otherwise the call itself). */
  bodyPath: string | RegExp;
}

export const KINDS: readonly Kind[] = [
  {
    id: 'siem-v1',
    title: 'SIEM files, API 1.0 (zip, mc-siem-token)',
    stream: 'siem',
    api: 1,
    callPath: '/api/audit/get-siem-logs',
    bodyPath: '/api/audit/get-siem-logs',
  },
  {
    id: 'siem-v2',
    title: 'SIEM batch files, API 2.0 (listing + gzip NDJSON)',
    stream: 'siem',
    api: 2,
    callPath: '/siem/v1/batch/events/cg',
    bodyPath: /^\/mimecast-siem-cg\//,
  },
  {
    id: 'audit',
    title: 'window stream: audit, API 1.0',
    stream: 'audit',
    api: 1,
    callPath: '/api/audit/get-audit-events',
    bodyPath: '/api/audit/get-audit-events',
  },
  {
    id: 'ttp-url',
    title: 'window stream: ttp-url, API 2.0',
    stream: 'ttp-url',
    api: 2,
    callPath: '/api/ttp/url/get-logs',
    bodyPath: '/api/ttp/url/get-logs',
  },
  {
    id: 'threat-feed',
    title: 'threat feed: malware-customer, API 2.0 (STIX)',
    stream: 'malware-customer',
    api: 2,
    callPath: '/api/ttp/threat-intel/get-feed',
    bodyPath: '/api/ttp/threat-intel/get-feed',
  },
];

/** A stream collected next to the faulted one, to show a stream-scoped fault stays in its stream. */
export const BYSTANDER: StreamId = 'dlp';

// ---------------------------------------------------------------------------------------------
// Ticks and what they show

export interface TickOptions {
  owner?: string;
  wrapStore?: (store: CheckpointStore) => CheckpointStore;
  wrapSink?: (sink: Sink) => Sink;
  wrapSource?: (source: StreamSource) => StreamSource;
  signal?: AbortSignal;
  /** Override the tick's virtual budget (deadline = now + this). */
  budgetMs?: number;
  limits?: Partial<EngineLimits>;
}

export interface LogLine {
  level: string;
  message: string;
  stream?: string;
  [key: string]: unknown;
}

/** One EMF line: its dimensions and metric values. */
export interface EmfLine {
  dimensions: Record<string, string>;
  metrics: Record<string, number>;
}

export interface TickRecord {
  result: TickResult;
  logs: LogLine[];
  emf: EmfLine[];
  /** What the handler would throw: the invocation fails when this is defined. */
  operatorFailure: AggregateError | undefined;
}

export const DEFAULT_TICK_BUDGET_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// The world (simulators, receiver, clock) and the collectors that run in it

export interface WorldOptions {
  /** Shared embedded DynamoDB (one per test file); each collector uses its own instance id in it. */
  store: DynamoCheckpointStore;
  /** Records at start per stream (siem: per API version; threat feeds: indicators). Default 0. */
  events?: Partial<Record<StreamId, number>>;
  simulator?: Partial<SimulatorOptions>;
  seed?: number;
}

export interface World {
  sim: RunningSimulator;
  /** Same seed, range and publishing as `sim`, never faulted: replays from checkpoints go here. */
  mirror: RunningSimulator;
  receiver: Receiver;
  clock: TestClock;
  store: DynamoCheckpointStore;
  /** Where collection starts: before all of the simulators' data. */
  collectionStart: Date;
  /** Publishes on both simulators at one pinned instant; returns the new records (as `sim` has them). */
  publish(stream: StreamId, count: number, options: { lateBySeconds?: number; api?: 1 | 2 }): unknown[];
  stop(): Promise<void>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const clock = new TestClock();
  // An explicit range, so both simulators generate the same records.
  const rangeEnd = Math.floor((clock.now() - 10 * 60_000) / 1000) * 1000;
  const range = { start: new Date(rangeEnd - 24 * 3_600_000), end: new Date(rangeEnd) };
  const events: Partial<Record<StreamId, number>> = {
    siem: 0,
    audit: 0,
    'ttp-url': 0,
    'ttp-attachment': 0,
    'ttp-impersonation': 0,
    dlp: 0,
    'held-release': 0,
    'archive-search': 0,
    'malware-customer': 0,
    'malware-grid': 0,
    ...options.events,
  };
  const simOptions: SimulatorOptions = {
    seed: options.seed ?? 7,
    ...options.simulator,
    now: () => clock.now(),
    range,
    events,
    siem: { fileIntervalMs: 0, v1EventsPerFile: 6, v2EventsPerFile: 4, ...options.simulator?.siem },
    threatFeed: { indicatorsPerFile: 3, ...options.simulator?.threatFeed },
    variants: {
      maxPageSize: 10,
      v2BatchMaxPageSize: 2,
      // API 1.0 signs with the wall clock while the simulator's clock is moved ahead by the test.
      v1MaxClockSkewSeconds: 30 * 86_400,
      ...options.simulator?.variants,
    },
  };
  const [sim, mirror, receiver] = await Promise.all([
    startSimulator(simOptions),
    startSimulator(simOptions),
    startReceiver({ kind: 'ndjson' }),
  ]);
  return {
    sim,
    mirror,
    receiver,
    clock,
    store: options.store,
    collectionStart: new Date(rangeEnd - 26 * 3_600_000),
    publish(stream, count, { lateBySeconds = 0, api }) {
      return clock.frozen(() => {
        const made = sim.publish(stream, count, { lateBySeconds, ...(api === undefined ? {} : { api }) });
        mirror.publish(stream, count, { lateBySeconds, ...(api === undefined ? {} : { api }) });
        return made;
      });
    },
    async stop() {
      await Promise.allSettled([sim.stop(), mirror.stop(), receiver.stop()]);
    },
  };
}

export interface CollectorOptions {
  instance: string;
  api: 1 | 2;
  streams: StreamId[];
  /** Engine limits for every tick of this collector. */
  limits?: Partial<EngineLimits>;
  /** Mimecast client: records per JSON page asked for (the simulator also clamps to its maxPageSize). */
  jsonPageSize?: number;
  latenessMarginSeconds?: number;
  sinkRetry?: SinkRetryOptions;
  /** Virtual time each tick may take (its deadline is now + this). */
  tickBudgetMs?: number;
}

/** One collector deployment (instance id, API version, streams) in a world. */
export interface Collector {
  instance: string;
  api: 1 | 2;
  streams: StreamId[];
  latenessMarginSeconds: number;
  tick(options?: TickOptions): Promise<TickRecord>;
  /** A new Mimecast client (empty token cache), as in a new container after a crash. */
  freshProcess(): void;
  key(stream: StreamId): CheckpointKey;
  checkpoint(stream: StreamId): Promise<Checkpoint | undefined>;
  /** Ids a fresh run would deliver from a position (replayed on the mirror). */
  replayFrom(stream: StreamId, cursor: Cursor, offset: number): Promise<string[]>;
  /** Ids a fresh run would deliver from the stored checkpoint (replayed on the mirror); undefined: no checkpoint. */
  afterCheckpoint(stream: StreamId): Promise<{ checkpoint: Checkpoint; ids: string[] } | undefined>;
}

const sharedDispatcher = new Agent({ keepAliveTimeout: 1000, connections: 64 });

export async function closeSharedDispatcher(): Promise<void> {
  await sharedDispatcher.close();
}

export function startCollector(world: World, options: CollectorOptions): Collector {
  const { instance, api, streams } = options;
  const { clock, receiver, store } = world;
  const margin = options.latenessMarginSeconds ?? 60;
  const credentials = api === 1 ? world.sim.credentials.v1 : world.sim.credentials.v2;
  const settingsFor = (url: string, latenessMarginSeconds: number, lateDataMinutes?: number) =>
    rigSettings({
      instance,
      apiVersion: api,
      mimecastBaseUrl: url,
      streams,
      collectionStart: world.collectionStart,
      sinkUrl: receiver.url,
      sinkFormat: 'ndjson',
      latenessMarginSeconds,
      ...(lateDataMinutes === undefined ? {} : { lateDataMinutes }),
      ...(options.jsonPageSize === undefined ? {} : { jsonPageSize: options.jsonPageSize }),
      batchMaxEvents: 7,
    });
  const clientFor = (
    url: string,
    latenessMarginSeconds = margin,
    dataClock: Clock = clock,
    lateDataMinutes?: number,
  ): MimecastClient =>
    createCollectorClient(
      settingsFor(url, latenessMarginSeconds, lateDataMinutes),
      credentials,
      { dispatcher: sharedDispatcher, clock: dataClock },
      {
        retry: { baseDelayMs: 2, maxDelayMs: 10 },
        timeouts: { connectMs: 2000, headersMs: 5000, bodyMs: 5000 },
      },
    );
  let client = clientFor(world.sim.url);
  // Replays ask up to now (no margin, and window ends rounded down to whole seconds still past now):
  // everything after a position that exists now, due or not, so a record published within the margin
  // never looks lost, while one before the position is never asked again: so no late-data re-check
  // either (it asks older spans again, and would find a record a checkpoint wrongly skipped).
  const mirrorClient = clientFor(world.mirror.url, 0, { now: () => clock.now() + 2000 }, 0);
  let ticks = 0;

  return {
    instance,
    api,
    streams,
    latenessMarginSeconds: margin,
    async tick(tick = {}) {
      ticks += 1;
      const output = captureOutput();
      let result: TickResult;
      try {
        const log = createLogger({ instance, level: 'INFO' });
        const built = buildTick(
          settingsFor(world.sim.url, margin),
          {
            log,
            store: tick.wrapStore ? tick.wrapStore(store) : store,
            credentials: { mimecast: credentials },
            dispatcher: sharedDispatcher,
          },
          {
            clock,
            client,
            sinkRetry: {
              maxAttempts: 3,
              baseDelayMs: 2,
              maxDelayMs: 10,
              attemptTimeoutMs: 400,
              minAttemptMs: 10,
              ...options.sinkRetry,
            },
            limits: {
              concurrency: streams.length,
              // Leases last until the tick's deadline; a crashed tick's streams are free once it passed.
              leaseMs: 1000,
              safetyMarginMs: 2000,
              ...options.limits,
              ...tick.limits,
            },
            // Throttle waits in place move the clock instead of waiting.
            sleep: async (ms) => {
              clock.advance(ms);
            },
            ...(tick.wrapSource === undefined ? {} : { wrapSource: tick.wrapSource }),
            ...(tick.wrapSink === undefined ? {} : { wrapSink: tick.wrapSink }),
          },
        );
        result = await built.run({
          owner: tick.owner ?? `${instance}-tick-${ticks}`,
          deadline: clock.now() + (tick.budgetMs ?? options.tickBudgetMs ?? DEFAULT_TICK_BUDGET_MS),
          streams,
          ...(tick.signal === undefined ? {} : { signal: tick.signal }),
        });
        createTickTelemetry({
          instance,
          metrics: createMetrics(),
          log,
          lagAlarmSeconds: lagAlarmSeconds(LAG_ALARM_THRESHOLDS),
        }).publish(result, clock.now());
      } finally {
        output.restore();
      }
      return { result, ...parseOutput(output.json()), operatorFailure: operatorFailure(result) };
    },
    freshProcess() {
      client = clientFor(world.sim.url);
    },
    key: (stream) => ({ instance, stream }),
    checkpoint: (stream) => store.load({ instance, stream }),
    replayFrom: (stream, cursor, offset) => replay(mirrorClient, stream, cursor, offset),
    async afterCheckpoint(stream) {
      const checkpoint = await store.load({ instance, stream });
      if (checkpoint?.cursor === undefined) return undefined;
      return { checkpoint, ids: await replay(mirrorClient, stream, checkpoint.cursor, checkpoint.offset) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The rig of one matrix cell: a world and one collector of one stream kind (plus a bystander)

export interface RigOptions {
  kind: Kind;
  store: DynamoCheckpointStore;
  instance: string;
  /** Also collect BYSTANDER. */
  bystander?: boolean;
  events?: Partial<Record<StreamId, number>>;
}

export interface Rig extends World, Collector {
  kind: Kind;
  /** Publishes on both simulators (this rig's API version for siem). */
  publishNow(stream: StreamId, count: number, lateBySeconds?: number): void;
  /** Ground-truth ids of a stream now. */
  truth(stream: StreamId): string[];
  envelopes(stream: StreamId): Envelope[];
  /** Ids of each acknowledged ingestion request, for one stream. */
  batches(stream: StreamId): string[][];
  /** Problems with the stored position: records before it that the receiver does not hold. */
  positionProblems(stream: StreamId): Promise<string[]>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const { kind, instance } = options;
  const world = await startWorld({
    store: options.store,
    ...(options.events ? { events: options.events } : {}),
  });
  const streams: StreamId[] = [kind.stream, ...(options.bystander ? [BYSTANDER] : [])];
  const collector = startCollector(world, { instance, api: kind.api, streams });
  const truth = (stream: StreamId) =>
    world.mirror.groundTruth(stream, kind.api).map((record) => expectedEventId(stream, record));
  const envelopes = (stream: StreamId): Envelope[] =>
    world.receiver.received().filter((e) => e.stream === stream && e.instance === instance);
  return {
    ...world,
    ...collector,
    kind,
    publishNow: (stream, count, lateBySeconds = 0) => {
      world.publish(stream, count, { lateBySeconds, api: kind.api });
    },
    truth,
    envelopes,
    batches: (stream) => acknowledgedBatches(world.receiver, stream, instance),
    async positionProblems(stream) {
      const held = new Set(envelopes(stream).map((e) => e.id));
      const after = await collector.afterCheckpoint(stream);
      if (after === undefined) {
        return held.size === 0 ? [] : [`${stream}: events delivered but no position stored`];
      }
      const reachable = new Set([...held, ...after.ids]);
      const lost = truth(stream).filter((id) => !reachable.has(id));
      return lost.length === 0
        ? []
        : [
            `${stream}: checkpoint ${JSON.stringify(after.checkpoint.cursor)}+${after.checkpoint.offset} is past ${lost.length} record(s) the receiver never acknowledged`,
          ];
    },
  };
}

/** Ids of each acknowledged ingestion request of one stream and instance. */
export function acknowledgedBatches(receiver: Receiver, stream: StreamId, instance: string): string[][] {
  const batches: string[][] = [];
  for (const request of receiver.ingestRequests()) {
    if (request.status === undefined || request.status < 200 || request.status >= 300) continue;
    const ids: string[] = [];
    for (const line of request.body.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const value = JSON.parse(line) as Partial<Envelope>;
        if (value.stream === stream && value.instance === instance && typeof value.id === 'string') {
          ids.push(value.id);
        }
      } catch {
        // Not an envelope line.
      }
    }
    if (ids.length > 0) batches.push(ids);
  }
  return batches;
}

/** Splits captured stdout into structured log lines and EMF metric lines. */
export function parseOutput(lines: Record<string, unknown>[]): { logs: LogLine[]; emf: EmfLine[] } {
  const logs: LogLine[] = [];
  const emf: EmfLine[] = [];
  for (const line of lines) {
    const aws = line._aws as
      | { CloudWatchMetrics?: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      | undefined;
    if (aws?.CloudWatchMetrics?.[0] !== undefined) {
      const [definition] = aws.CloudWatchMetrics;
      const dimensions: Record<string, string> = {};
      for (const name of definition.Dimensions.flat()) dimensions[name] = String(line[name]);
      const metrics: Record<string, number> = {};
      for (const { Name } of definition.Metrics) metrics[Name] = Number(line[Name]);
      emf.push({ dimensions, metrics });
    } else if (typeof line.message === 'string' && typeof line.level === 'string') {
      logs.push(line as LogLine);
    }
  }
  return { logs, emf };
}

/**
 * The numeric fields of one stream's health line in one tick, nested ones by their Logs Insights
 * name (`mimecastErrorsByKind.transient`): what the dashboard shows of the stream.
 */
export function streamHealth(record: TickRecord, stream: StreamId): Record<string, number> {
  const out: Record<string, number> = {};
  const flatten = (value: unknown, prefix: string) => {
    if (typeof value === 'number') out[prefix] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) flatten(inner, `${prefix}.${key}`);
    }
  };
  const line = record.logs.find((l) => l.message === STREAM_HEALTH_MESSAGE && l.stream === stream);
  for (const [key, value] of Object.entries(line ?? {})) flatten(value, key);
  return out;
}

/** The per-tick instance metrics (StreamsFailed, StreamsLagging, StreamsRefused). */
export function instanceMetrics(record: TickRecord): Record<string, number> {
  const line = record.emf.find((l) => l.dimensions.Stream === undefined);
  return line?.metrics ?? {};
}

export function streamResult(record: TickRecord, stream: StreamId): StreamResult {
  const found = record.result.streams.find((s) => s.stream === stream);
  if (!found) throw new Error(`no result for ${stream}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Replays

// ---------------------------------------------------------------------------------------------
// Delivery checks (each returns problems; an empty list is a pass)

export interface DeliveryFigures {
  truth: number;
  delivered: number;
  distinct: number;
  missing: number;
  unexpected: number;
  /** Copies beyond the first. */
  duplicates: number;
}

export function deliveryFigures(truth: readonly string[], delivered: readonly Envelope[]): DeliveryFigures {
  const want = new Set(truth);
  const seen = new Set(delivered.map((e) => e.id));
  return {
    truth: want.size,
    delivered: delivered.length,
    distinct: seen.size,
    missing: [...want].filter((id) => !seen.has(id)).length,
    unexpected: [...seen].filter((id) => !want.has(id)).length,
    duplicates: delivered.length - seen.size,
  };
}

/** Zero loss: every ground-truth id was delivered, and nothing else was. */
export function lossProblems(stream: StreamId, truth: readonly string[], delivered: readonly Envelope[]) {
  const figures = deliveryFigures(truth, delivered);
  const problems: string[] = [];
  if (figures.missing > 0) problems.push(`${stream}: ${figures.missing} of ${figures.truth} events lost`);
  if (figures.unexpected > 0)
    problems.push(`${stream}: ${figures.unexpected} events not in the ground truth`);
  return problems;
}

/**
 * Duplicates bounded: every repeated id came back with exactly the same envelope, no id more than
 * 1 + `allowedBatches` times, and all repeated ids fit in at most `allowedBatches` acknowledged batches.
 */
export function duplicateProblems(
  stream: StreamId,
  delivered: readonly Envelope[],
  batches: readonly string[][],
  allowedBatches: number,
): string[] {
  const problems: string[] = [];
  const first = new Map<string, string>();
  const counts = new Map<string, number>();
  let differing = 0;
  for (const envelope of delivered) {
    const json = JSON.stringify(envelope);
    const seen = first.get(envelope.id);
    if (seen === undefined) first.set(envelope.id, json);
    else if (seen !== json) differing += 1;
    counts.set(envelope.id, (counts.get(envelope.id) ?? 0) + 1);
  }
  if (differing > 0) problems.push(`${stream}: ${differing} repeats differ from the first copy of their id`);
  const repeated = [...counts].filter(([, n]) => n > 1);
  const tooMany = repeated.filter(([, n]) => n > 1 + allowedBatches).length;
  if (tooMany > 0) problems.push(`${stream}: ${tooMany} ids delivered more than ${1 + allowedBatches} times`);
  const left = new Set(repeated.map(([id]) => id));
  for (let used = 0; used < allowedBatches && left.size > 0; used += 1) {
    let best: string[] | undefined;
    let bestOverlap = 0;
    for (const batch of batches) {
      const overlap = batch.filter((id) => left.has(id)).length;
      if (overlap > bestOverlap) {
        best = batch;
        bestOverlap = overlap;
      }
    }
    if (best === undefined) break;
    for (const id of best) left.delete(id);
  }
  if (left.size > 0) {
    problems.push(
      `${stream}: ${repeated.length} repeated ids do not fit in ${allowedBatches} re-sent batch(es) (${left.size} left over)`,
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Crashes and store wrappers

/** A sink behind a process that may die; `before`/`after` run around each send of `stream`. */
export function processSink(
  inner: Sink,
  process: Process,
  hooks: { before?: (batch: readonly Envelope[]) => void; after?: (batch: readonly Envelope[]) => void },
): Sink {
  return {
    sizeOf: (envelope) => inner.sizeOf(envelope),
    async send(batch, budget) {
      process.assertAlive();
      hooks.before?.(batch);
      const result = await inner.send(batch, budget);
      process.assertAlive();
      hooks.after?.(batch);
      return result;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness (the soak's schedule)

/** mulberry32: small, fast, seedable. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}
