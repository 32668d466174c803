/**
 * The composition root: the one place the Mimecast client, the destination and the engine are put
 * together from the settings. The Lambda (tick.ts), the command line, the demo, the bench and every
 * end-to-end test rig build their ticks here, so the wiring they exercise is the wiring AWS runs;
 * only the adapters (store, log, HTTP agent) and the overrides a test needs differ.
 */
import type { Dispatcher } from 'undici';
import type { CollectorSettings } from './config';
import type { CheckpointStore } from './core/checkpoint';
import { runTick, type TickInput } from './core/engine';
import type { Envelope } from './core/envelope';
import { GapFillSink } from './core/gap-fill';
import type { EngineLimits } from './core/limits';
import { type Clock, type Log, type Sink, type StreamSource, systemClock } from './core/ports';
import type { PushLedger } from './core/push-ledger';
import type { TickResult } from './core/results';
import type { StreamId } from './core/streams';
import { ConfigError } from './errors';
import { createMimecastClient, type MimecastClient, type MimecastClientOptions } from './mimecast';
import { pushMatchKey } from './push/envelopes';
import type { CollectorCredentials, MimecastCredentials } from './secrets/credentials';
import { createDestination, type S3Options } from './sinks/create';
import type { HecAckOptions } from './sinks/hec-ack';
import type { SinkRetryOptions } from './sinks/retry';

/** What the caller owns: the container's adapters and the credentials read for this tick. */
export interface RootAdapters {
  log: Log;
  store: CheckpointStore;
  credentials: CollectorCredentials;
  /** undici dispatcher for Mimecast and the destination; default: the container's shared Agent. */
  dispatcher?: Dispatcher;
  /** Told of every batch the destination acknowledged (the command line prints progress from it). */
  onDelivered?: (stream: StreamId, batch: readonly Envelope[]) => void;
  /** s3 destination: endpoint, region (and for the command line, keys), read from the environment at the edge. */
  s3?: S3Options;
  /** The ids Event Push delivered (docs/PUSH-GAP-FILL.md): needed when the settings name push-primary streams. */
  pushLedger?: PushLedger;
}

/** Mimecast client options that no setting carries: retry timing, timeouts, inner limits (tests). */
export type MimecastTuning = Pick<
  MimecastClientOptions,
  'retry' | 'timeouts' | 'catchUpSlackSeconds' | 'limits' | 'siemFileFormat'
>;

/** What a test or a tool changes about the tick; production passes none. */
export interface TickOverrides {
  /** Engine time, Mimecast data time and the destination's clock. Default: the system clock. */
  clock?: Clock;
  /** Engine limits over those the settings give (maxPagesPerStream, batchMaxEvents, batchMaxBytes). */
  limits?: Partial<EngineLimits>;
  /** The engine's throttle wait. Default: a timer. */
  sleep?: TickInput['sleep'];
  /** A client kept from an earlier tick: its token cache carries over (a warm container). */
  client?: MimecastClient;
  mimecast?: MimecastTuning;
  sinkRetry?: SinkRetryOptions;
  /** splunk-hec with indexer acknowledgement: polling timing (tests shorten it). */
  hecAck?: HecAckOptions;
  /** Wraps each stream's source (fault injection). */
  wrapSource?: (source: StreamSource) => StreamSource;
  /** Wraps the destination (crash points, recording). */
  wrapSink?: (sink: Sink) => Sink;
}

/** One tick's run: who runs it, until when, over which streams. */
export interface TickRun {
  /** Unique id of this run: the lease owner. */
  owner: string;
  /** Epoch ms by which the tick must be over. */
  deadline: number;
  streams: readonly StreamId[];
  signal?: AbortSignal;
}

export interface Tick {
  client: MimecastClient;
  sink: Sink;
  run(run: TickRun): Promise<TickResult>;
}

/** The Mimecast client the settings describe. */
export function createCollectorClient(
  settings: CollectorSettings,
  credentials: MimecastCredentials,
  parts: { log?: Log; dispatcher?: Dispatcher; clock?: Clock } = {},
  tuning: MimecastTuning = {},
): MimecastClient {
  return createMimecastClient({
    baseUrl: settings.mimecastBaseUrl,
    credentials,
    ...(parts.dispatcher === undefined ? {} : { dispatcher: parts.dispatcher }),
    ...(parts.log === undefined ? {} : { log: parts.log }),
    ...(parts.clock === undefined ? {} : { clock: parts.clock }),
    latenessMarginSeconds: settings.latenessMarginSeconds,
    streamMarginSeconds: Object.fromEntries(
      settings.pushPrimaryStreams.map((stream) => [stream, settings.pushTrailSeconds]),
    ),
    lateDataMinutes: settings.lateDataMinutes,
    pageSizes: { json: settings.jsonPageSize, siemBatch: settings.siemBatchPageSize },
    siemTypes: settings.siemEventTypes,
    siemCiTypes: settings.siemCiEventTypes,
    snapshotIntervalHours: settings.awarenessSnapshotHours,
    ...tuning,
  });
}

/** Builds client + destination + engine for the settings; `run` is one tick over them. */
export function buildTick(
  settings: CollectorSettings,
  adapters: RootAdapters,
  overrides: TickOverrides = {},
): Tick {
  const clock = overrides.clock ?? systemClock;
  const client =
    overrides.client ??
    createCollectorClient(
      settings,
      adapters.credentials.mimecast,
      { log: adapters.log, dispatcher: adapters.dispatcher, clock: overrides.clock },
      overrides.mimecast,
    );
  const destination = createDestination(settings, {
    token: adapters.credentials.sinkToken,
    dispatcher: adapters.dispatcher,
    log: adapters.log,
    clock: overrides.clock,
    retry: overrides.sinkRetry,
    hecAckOptions: overrides.hecAck,
    s3: adapters.s3,
    ...(adapters.credentials.azure === undefined ? {} : { azure: adapters.credentials.azure }),
  });
  const delivered = reportingDeliveries(destination, adapters.onDelivered);
  const gapFill = gapFilling(settings, adapters, delivered);
  const sink = overrides.wrapSink ? overrides.wrapSink(gapFill ?? delivered) : (gapFill ?? delivered);
  const wrapSource = overrides.wrapSource ?? ((source: StreamSource) => source);
  return {
    client,
    sink,
    run: async (run) => {
      const result = await runTick({
        instance: settings.instance,
        owner: run.owner,
        sources: run.streams.map((stream) => wrapSource(client.source(stream))),
        store: adapters.store,
        sink,
        log: adapters.log,
        clock,
        collectionStart: settings.collectionStart,
        deadline: run.deadline,
        limits: {
          maxPagesPerStream: settings.maxPagesPerStream,
          batchMaxEvents: settings.batchMaxEvents,
          batchMaxBytes: settings.batchMaxBytes,
          ...overrides.limits,
        },
        ...(overrides.sleep === undefined ? {} : { sleep: overrides.sleep }),
        ...(run.signal === undefined ? {} : { signal: run.signal }),
      });
      const counts = gapFill?.report();
      if (counts === undefined) return result;
      return {
        ...result,
        streams: result.streams.map((s) => {
          const c = counts.get(s.stream);
          return c === undefined ? s : { ...s, gapFill: { ...c } };
        }),
      };
    },
  };
}

/** Push-primary streams: the destination behind the push ledger (core/gap-fill.ts), else none. */
function gapFilling(
  settings: CollectorSettings,
  adapters: RootAdapters,
  destination: Sink,
): GapFillSink | undefined {
  if (settings.pushPrimaryStreams.length === 0) return undefined;
  if (adapters.pushLedger === undefined) {
    throw new ConfigError('push-primary streams', [
      {
        field: 'pushPrimaryStreams',
        problem: `${settings.pushPrimaryStreams.join(', ')} need the push ledger, and this run has none: collect them without push-primary, or run where the ledger is (the function, or the command line's store)`,
      },
    ]);
  }
  // The key the push receiver records (lambda/push/receiver.ts): the same event gives the same key either way.
  return new GapFillSink(
    destination,
    adapters.pushLedger,
    new Set(settings.pushPrimaryStreams),
    adapters.log,
    {
      keyOf: (envelope) => pushMatchKey(envelope.stream, envelope.event),
    },
  );
}

/** The destination, telling `onDelivered` of each batch it acknowledged. */
function reportingDeliveries(sink: Sink, onDelivered: RootAdapters['onDelivered']): Sink {
  if (onDelivered === undefined) return sink;
  return {
    sizeOf: (envelope) => sink.sizeOf(envelope),
    send: async (batch, budget) => {
      const sent = await sink.send(batch, budget);
      if (batch[0]) onDelivered(batch[0].stream, batch);
      return sent;
    },
  };
}
