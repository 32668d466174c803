/**
 * One collection tick, as the Lambda handler and the local command line both run it:
 * credentials → the composition root (root.ts: Mimecast client, destination, engine) → tick health
 * (metrics, log lines) → outcome.
 *
 * Kept apart from handler.ts so the code path a laptop runs is the one AWS runs; only the
 * adapters passed in differ (Secrets Manager vs environment credentials, DynamoDB vs embedded store).
 */
import type { Dispatcher } from 'undici';
import type { CollectorSettings } from './config';
import type { CheckpointStore } from './core/checkpoint';
import type { Envelope } from './core/envelope';
import { type Log, systemClock } from './core/ports';
import type { PushLedger } from './core/push-ledger';
import type { StreamResult, TickResult } from './core/results';
import { isStreamId, type StreamId } from './core/streams';
import { AuthenticationError, CollectorError, ConfigError, needsOperator } from './errors';
import type { MimecastClient } from './mimecast';
import { buildTick, createCollectorClient, type TickOverrides } from './root';
import type { CollectorCredentials } from './secrets/credentials';
import { secretValuesOf } from './secrets/document';
import type { S3Options } from './sinks';
import type { TickTelemetry } from './telemetry';

export interface CredentialsSource {
  get(): Promise<CollectorCredentials>;
  /** Forget the cached value so the next get() reads it again (after an authentication failure). */
  invalidate(): void;
}

export interface TickAdapters {
  log: Log;
  /** Where the tick's health goes: the function's alarms and dashboard (the command line prints its own). */
  telemetry?: TickTelemetry;
  credentials: CredentialsSource;
  store: CheckpointStore;
  dispatcher?: Dispatcher;
  /** Called with every credential value once loaded, so telemetry can redact them should one ever slip into a log. */
  registerSecrets?: (values: string[]) => void;
  /** Told of every batch the sink acknowledged (the command line prints progress from it). */
  onDelivered?: (stream: StreamId, batch: readonly Envelope[]) => void;
  /** s3 destination: endpoint, region (and for the command line, keys), read from the environment at the edge. */
  s3?: S3Options;
  /** The ids Event Push delivered, for push-primary streams (docs/PUSH-GAP-FILL.md). */
  pushLedger?: PushLedger;
}

export interface TickRequest {
  config: CollectorSettings;
  adapters: TickAdapters;
  /** Narrow the tick to these streams (the scheduled event's optional `streams`). */
  requestedStreams?: unknown;
  /** Unique id of this run: the lease owner. */
  owner: string;
  /** Epoch ms by which the tick must be over. */
  deadline: number;
  signal?: AbortSignal;
  /** What a test or tool changes about the tick (clock, limits, retry timing); production passes none. */
  overrides?: TickOverrides;
}

/** What one tick did, per stream, in log-safe form. */
export interface TickOutcome {
  instance: string;
  ok: boolean;
  streams: Array<Omit<StreamResult, 'error'> & { error?: Record<string, unknown> }>;
}

/** The streams of this tick: the configured ones, narrowed by the event. */
export function selectStreams(configured: readonly StreamId[], requested: unknown): StreamId[] {
  if (requested === undefined || requested === null) return [...configured];
  if (!Array.isArray(requested) || requested.some((s) => typeof s !== 'string')) {
    throw new ConfigError('event', [{ field: 'streams', problem: 'must be a list of stream ids' }]);
  }
  const problems = (requested as string[])
    .filter((s) => !isStreamId(s) || !configured.includes(s))
    .map((s) => ({
      field: 'streams',
      problem: `"${s}" is not one of the configured streams (${configured.join(', ')})`,
    }));
  if (problems.length > 0) throw new ConfigError('event', problems);
  return configured.filter((s) => (requested as string[]).includes(s));
}

function sameCredentials(a: CollectorCredentials, b: CollectorCredentials): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function logSafe(result: StreamResult): TickOutcome['streams'][number] {
  const { error, ...rest } = result;
  if (error === undefined) return rest;
  return {
    ...rest,
    error:
      error instanceof CollectorError
        ? error.toJSON()
        : {
            name: error instanceof Error ? error.name : 'Error',
            message: String((error as Error)?.message ?? error),
          },
  };
}

export interface TickReport {
  /** The engine's result, errors included as objects. */
  result: TickResult;
  /** The same in log-safe form: what the handler returns and the CLI prints. */
  outcome: TickOutcome;
}

// The Mimecast client holds the OAuth token cache: keep one per container while the credentials
// stay the same, so warm invocations never fetch a token they already have.
const mimecastClients = new WeakMap<TickAdapters, { key: string; client: MimecastClient }>();

function mimecastClientFor(
  adapters: TickAdapters,
  config: CollectorSettings,
  credentials: CollectorCredentials,
  overrides: TickOverrides,
): MimecastClient {
  const key = JSON.stringify([
    config.mimecastBaseUrl,
    config.latenessMarginSeconds,
    config.pushPrimaryStreams,
    config.pushTrailSeconds,
    config.lateDataMinutes,
    config.jsonPageSize,
    config.siemBatchPageSize,
    config.siemEventTypes,
    config.siemCiEventTypes,
    config.awarenessSnapshotHours,
    credentials.mimecast,
  ]);
  const cached = mimecastClients.get(adapters);
  if (cached?.key === key) return cached.client;
  const client = createCollectorClient(
    config,
    credentials.mimecast,
    { log: adapters.log, dispatcher: adapters.dispatcher, clock: overrides.clock },
    overrides.mimecast,
  );
  mimecastClients.set(adapters, { key, client });
  return client;
}

export async function collectTick(request: TickRequest): Promise<TickReport> {
  const { config, adapters } = request;
  const streams = selectStreams(config.streams, request.requestedStreams);

  const overrides = request.overrides ?? {};
  const runWith = async (credentials: CollectorCredentials, only: StreamId[]): Promise<TickResult> => {
    adapters.registerSecrets?.(secretValuesOf(credentials));
    const tick = buildTick(
      config,
      {
        log: adapters.log,
        store: adapters.store,
        credentials,
        dispatcher: adapters.dispatcher,
        onDelivered: adapters.onDelivered,
        s3: adapters.s3,
        ...(adapters.pushLedger === undefined ? {} : { pushLedger: adapters.pushLedger }),
      },
      { ...overrides, client: mimecastClientFor(adapters, config, credentials, overrides) },
    );
    return tick.run({
      owner: request.owner,
      deadline: request.deadline,
      streams: only,
      signal: request.signal,
    });
  };

  const credentials = await adapters.credentials.get();
  let result = await runWith(credentials, streams);

  // A rotated key may have landed in the secret since we cached it: read it once more, and
  // retry only the streams that were refused, only if the credentials actually changed.
  const refused = result.streams.filter((s) => s.error instanceof AuthenticationError).map((s) => s.stream);
  if (refused.length > 0) {
    adapters.credentials.invalidate();
    const fresh = await adapters.credentials.get();
    if (!sameCredentials(fresh, credentials)) {
      adapters.log.info('Credentials changed since they were cached; retrying the refused streams once', {
        streams: refused,
      });
      const retried = await runWith(fresh, refused);
      result = {
        ...result,
        finishedAt: retried.finishedAt,
        streams: result.streams.map((s) => retried.streams.find((r) => r.stream === s.stream) ?? s),
      };
    }
  }

  adapters.telemetry?.publish(result, (overrides.clock ?? systemClock).now());

  return {
    result,
    outcome: {
      instance: config.instance,
      ok: result.streams.every((s) => s.outcome !== 'failed'),
      streams: result.streams.map(logSafe),
    },
  };
}

/**
 * Non-transient failures (wrong or expired key, missing permission, a batch the sink refuses) need a
 * person: the invocation must fail, so Lambda's error metric and the on-failure destination see them
 * within one schedule period. Transient ones only mark the stream unhealthy and retry next tick.
 */
export function operatorFailure(result: TickResult): AggregateError | undefined {
  const fatal = result.streams.filter((s) => s.outcome === 'failed' && needsOperator(s.error));
  if (fatal.length === 0) return undefined;
  return new AggregateError(
    fatal.map((s) => s.error),
    `${fatal.length} stream(s) need an operator: ${fatal
      .map(
        (s) => `${s.stream}: ${(s.error as CollectorError).message} — ${(s.error as CollectorError).remedy}`,
      )
      .join('; ')}`,
  );
}
