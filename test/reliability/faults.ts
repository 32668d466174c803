/**
 * The fault table of the reliability matrix (docs/RELIABILITY.md mirrors it row by row).
 *
 * Each row says how to inject the fault into a running rig, which stream kinds it applies to (and why
 * not, where it does not), and what must be seen: the stream's outcome in the first faulted tick, the
 * typed error, the health field or metric and the log line that make it visible, and how many batches it may cause to
 * be sent again. The invariants every row must keep (zero loss, bounded duplicates, checkpoint never
 * ahead of the receiver) are checked by matrix.test.ts for all rows alike.
 */
import type { CheckpointStore } from '../../lambda/core/checkpoint';
import type { Sink } from '../../lambda/core/ports';
import type { StreamOutcome } from '../../lambda/core/results';
import {
  AuthenticationError,
  type CollectorError,
  type ErrorKind,
  InvalidSiemTokenError,
  RequestError,
  SinkRejectedError,
} from '../../lambda/errors';
import { Process, ProcessStore, StoreProxy } from '../kit/stores';
import type { Fault as ReceiverFault } from '../receivers';
import type { FaultRule } from '../simulator';
import { type Kind, type KindId, processSink, type Rig, type TickOptions, waitFor } from './support';

/** Virtual time between ticks: past a 60 s default throttle, a 30 s reset hint and any lease. */
export const STEP_MS = 65_000;
/** Engine batches (support.ts) and simulator pages: batches end inside pages and span them. */
export const BATCH = 7;
/** Attempts per send the sink makes (support.ts). */
const SINK_ATTEMPTS = 3;

export interface TickPlan {
  options?: TickOptions;
  /** Runs just before the tick. */
  before?: () => void;
  /** Virtual time to move on after the tick (default STEP_MS). */
  advanceMs?: number;
}

export interface Armed {
  /** The ticks run under the fault, in order (default: one). */
  ticks?: TickPlan[];
  /** Faults that actually fired so far. */
  fired(): number;
  /** The operator's action for a fault that needs one (run after the faulted ticks). */
  clear?(): Promise<void>;
  /** Waits for what the fault left in flight (e.g. a receiver storing late) before the final counts. */
  settle?(): Promise<void>;
}

export interface Expectation {
  /** The faulted stream's outcome in the first faulted tick. */
  outcome: StreamOutcome;
  /** The error it stopped with (`none`: it did not stop on an error; `crash`: the process died). */
  error: ErrorKind | 'none' | 'crash';
  /** For faults that need an operator: the error's class. */
  errorClass?: abstract new (
    ...args: never[]
  ) => CollectorError;
  /**
   * What shows it on the dashboard: a field of the stream's health line above 0 (`throttledCalls`,
   * `mimecastErrorsByKind.<kind>`), a field's value (`healthy=0`), an instance metric above 0
   * (`instance:<Name>`), or for a crash, which emits nothing itself, the stale lease `status` shows
   * (`lease:<owner>`).
   */
  shows: string;
  /** The log line that says what happened (`message`), and what the collector will do (`says`, on the whole line). */
  log: RegExp;
  says: RegExp;
  /** Batches this fault may cause to be delivered twice; `restart` = an operator reset sends everything again once. */
  resent: number | 'restart';
}

export type Side = 'Mimecast' | 'receiver' | 'checkpoint store' | 'process crash' | 'time budget';

export interface FaultCase {
  id: string;
  title: string;
  side: Side;
  /** False: needs an operator (the invocation fails; collection completes once the cause is removed). */
  recoverable: boolean;
  /** Collect a second stream alongside, which must not notice the fault. */
  bystander: boolean;
  /** Kinds the fault cannot happen to, and why. */
  notApplicable?: Partial<Record<KindId, string>>;
  arm(rig: Rig): Armed;
  expect(kind: Kind): Expectation;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function mimecast(rig: Rig, ...rules: FaultRule[]): Armed {
  for (const rule of rules) rig.sim.inject(rule);
  return { fired: () => rig.sim.requests().filter((r) => r.fault !== undefined).length };
}

function receiver(rig: Rig, ...faults: ReceiverFault[]): Armed {
  rig.receiver.inject(...faults);
  return { fired: () => rig.receiver.ingestRequests().filter((r) => r.fault !== undefined).length };
}

const FAILED_TRANSIENT = {
  outcome: 'failed',
  error: 'transient',
  shows: 'mimecastErrorsByKind.transient',
  log: /^stream failed$/,
  says: /next run (tries again|continues|lists|starts)/,
  resent: 0,
} as const satisfies Expectation;

const SINK_FAILED = {
  outcome: 'failed',
  shows: 'sinkErrors',
  log: /^stream failed$/,
  says: /sent again on the next run/,
  resent: 0,
} as const;

const NOT_V2_TOKEN = 'API 1.0 signs every request: there is no token endpoint';
const ONLY_V1_SIEM = 'only API 1.0 SIEM collection carries an mc-siem-token';

/** Counts sends of one stream; the hook sees the 1-based batch number. */
function countingSends(
  stream: string,
  at: (n: number) => void,
): (batch: readonly { stream: string }[]) => void {
  let n = 0;
  return (batch) => {
    if (batch[0]?.stream !== stream) return;
    n += 1;
    at(n);
  };
}

// ---------------------------------------------------------------------------------------------
// The table

export const FAULTS: readonly FaultCase[] = [
  {
    id: 'mc-429-reset-hint',
    title: 'Mimecast 429 with a reset hint (X-RateLimit-Reset 30 s)',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(rig, {
        path: rig.kind.callPath,
        nth: 2,
        fault: { kind: 'throttle', hint: 'reset-ms', waitMs: 30_000 },
      }),
    expect: () => ({
      outcome: 'throttled',
      error: 'none',
      shows: 'throttledCalls',
      log: /^stream throttled: stopped until notBefore$/,
      says: /"notBefore":"\d{4}-/,
      resent: 0,
    }),
  },
  {
    id: 'mc-429-short-hint',
    title: 'Mimecast 429 with a short reset hint (Retry-After 1 s): waited out in place',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(rig, {
        path: rig.kind.callPath,
        nth: 2,
        fault: { kind: 'throttle', hint: 'retry-after', waitMs: 1000 },
      }),
    expect: () => ({
      outcome: 'caught-up',
      error: 'none',
      shows: 'throttledCalls',
      log: /^stream throttled: waiting in place$/,
      says: /"waitMs":1000/,
      resent: 0,
    }),
  },
  {
    id: 'mc-429-no-hint',
    title: 'Mimecast 429 without a reset hint (60 s default back-off)',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(rig, { path: rig.kind.callPath, nth: 2, fault: { kind: 'throttle', hint: 'none' } }),
    expect: () => ({
      outcome: 'throttled',
      error: 'none',
      shows: 'throttledCalls',
      log: /^stream throttled: stopped until notBefore$/,
      says: /"notBefore":"\d{4}-/,
      resent: 0,
    }),
  },
  {
    id: 'mc-5xx-burst',
    title: 'Mimecast 500, 502, 503 in a burst of 6 (longer than the 4 attempts of one call)',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(
        rig,
        { path: rig.kind.callPath, after: 1, times: 2, fault: { kind: 'status', status: 500 } },
        { path: rig.kind.callPath, after: 3, times: 2, fault: { kind: 'status', status: 502 } },
        { path: rig.kind.callPath, after: 5, times: 2, fault: { kind: 'status', status: 503 } },
      ),
    expect: () => FAILED_TRANSIENT,
  },
  {
    id: 'mc-slow',
    title: 'Mimecast answers slower than the time left in the tick',
    side: 'Mimecast',
    recoverable: true,
    bystander: false,
    arm: (rig) => ({
      ...mimecast(rig, {
        path: rig.kind.callPath,
        nth: 2,
        fault: { kind: 'delay', ms: 2500 },
      }),
      // 800 ms to fetch, then 500 ms to deliver what was fetched, then 500 ms for the checkpoint.
      ticks: [{ options: { budgetMs: 1800, limits: { safetyMarginMs: 1000 } } }],
    }),
    expect: () => ({ ...FAILED_TRANSIENT, says: /the next run continues from the last checkpoint/ }),
  },
  {
    id: 'mc-stall-mid-body',
    title: 'Mimecast stalls half-way through a body until past the time left in the tick',
    side: 'Mimecast',
    recoverable: true,
    bystander: false,
    arm: (rig) => ({
      ...mimecast(rig, {
        path: rig.kind.bodyPath,
        nth: 2,
        fault: { kind: 'delay', ms: 2500, phase: 'mid-body' },
      }),
      ticks: [{ options: { budgetMs: 1800, limits: { safetyMarginMs: 1000 } } }],
    }),
    // The tick's deadline ends the read: the error is its reason, or the client's deadline error.
    expect: () => ({
      ...FAILED_TRANSIENT,
      says: /the next tick resumes from the checkpoint|the next run continues from the last checkpoint/,
    }),
  },
  {
    id: 'mc-truncated',
    title: 'Mimecast body truncated (Content-Length promised, half sent) 5 times',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(rig, {
        path: rig.kind.bodyPath,
        after: 1,
        times: 5,
        fault: { kind: 'truncate', keepFraction: 0.5 },
      }),
    expect: () => FAILED_TRANSIENT,
  },
  {
    id: 'mc-malformed',
    title: 'Mimecast 200 with a malformed JSON body',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) => mimecast(rig, { path: rig.kind.callPath, nth: 2, fault: { kind: 'malformed-json' } }),
    expect: () => ({
      outcome: 'failed',
      error: 'protocol',
      shows: 'mimecastErrorsByKind.protocol',
      log: /^stream failed$/,
      says: /the next run fetches again/,
      resent: 0,
    }),
  },
  {
    id: 'mc-fail-retryable',
    title: 'Mimecast 200 with a retryable fail[] 5 times',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    notApplicable: {
      'siem-v2': "the API 2.0 gateway's flat fail[] has no retryable flag (see mc-fail-fatal)",
    },
    arm: (rig) =>
      mimecast(rig, {
        path: rig.kind.callPath,
        after: 1,
        times: 5,
        fault: { kind: 'fail-200', code: 'err_server_busy', retryable: true },
      }),
    expect: () => FAILED_TRANSIENT,
  },
  {
    id: 'mc-fail-fatal',
    title: 'Mimecast 200 with a non-retryable fail[] (until the operator fixes the cause)',
    side: 'Mimecast',
    recoverable: false,
    bystander: true,
    arm: (rig) => ({
      ...mimecast(rig, {
        path: rig.kind.callPath,
        after: 1,
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'fail-200', code: 'err_validation_invalid_request', retryable: false },
      }),
      ticks: [{}, {}],
      clear: async () => rig.sim.clearFaults(),
    }),
    expect: () => ({
      outcome: 'failed',
      error: 'request',
      errorClass: RequestError,
      shows: 'mimecastErrorsByKind.request',
      log: /^stream failed$/,
      says: /retrying unchanged will fail again/,
      resent: 0,
    }),
  },
  {
    id: 'mc-invalid-siem-token',
    title: 'Mimecast refuses the stored SIEM token (operator resets the siem checkpoint)',
    side: 'Mimecast',
    recoverable: false,
    bystander: true,
    notApplicable: {
      'siem-v2': ONLY_V1_SIEM,
      audit: ONLY_V1_SIEM,
      'ttp-url': ONLY_V1_SIEM,
      'threat-feed': ONLY_V1_SIEM,
    },
    arm: (rig) => ({
      ...mimecast(rig, {
        path: rig.kind.callPath,
        after: 2,
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'invalid-siem-token' },
      }),
      ticks: [{}, {}],
      clear: async () => {
        rig.sim.clearFaults();
        // `mimecast-collector reset --stream siem`: the next run starts again from the collection start.
        await rig.store.reset(rig.key(rig.kind.stream), { now: rig.clock.now() });
      },
    }),
    expect: () => ({
      outcome: 'failed',
      error: 'request',
      errorClass: InvalidSiemTokenError,
      shows: 'mimecastErrorsByKind.request',
      log: /^stream failed$/,
      says: /Reset the siem stream checkpoint/,
      resent: 'restart',
    }),
  },
  {
    id: 'mc-expired-file-url',
    title: 'Batch-file URLs expired 4 times in a row (re-listed 3 times, then the next tick)',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    notApplicable: {
      'siem-v1': 'API 1.0 SIEM files come in the answer itself, not from pre-signed URLs',
      audit: 'JSON pages have no file URLs',
      'ttp-url': 'JSON pages have no file URLs',
      'threat-feed': 'feed files come in the answer itself, not from pre-signed URLs',
    },
    arm: (rig) =>
      mimecast(rig, { path: rig.kind.bodyPath, after: 1, times: 4, fault: { kind: 'expire-batch-url' } }),
    expect: () => ({ ...FAILED_TRANSIENT, says: /the next run lists the page again/ }),
  },
  {
    id: 'mc-reset',
    title: 'Mimecast connection reset mid-body 5 times',
    side: 'Mimecast',
    recoverable: true,
    bystander: true,
    arm: (rig) =>
      mimecast(rig, {
        path: rig.kind.bodyPath,
        after: 1,
        times: 5,
        fault: { kind: 'reset', keepFraction: 0.3 },
      }),
    expect: () => FAILED_TRANSIENT,
  },
  {
    id: 'mc-token-unavailable',
    title: 'OAuth token endpoint answers 503 five times',
    side: 'Mimecast',
    recoverable: true,
    bystander: false,
    notApplicable: { 'siem-v1': NOT_V2_TOKEN, audit: NOT_V2_TOKEN },
    arm: (rig) => mimecast(rig, { path: '/oauth/token', times: 5, fault: { kind: 'status', status: 503 } }),
    expect: () => FAILED_TRANSIENT,
  },
  {
    id: 'mc-token-refused',
    title: 'OAuth token endpoint refuses the client credentials (until they are replaced)',
    side: 'Mimecast',
    recoverable: false,
    bystander: false,
    notApplicable: { 'siem-v1': NOT_V2_TOKEN, audit: NOT_V2_TOKEN },
    arm: (rig) => ({
      ...mimecast(rig, {
        path: '/oauth/token',
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'status', status: 401 },
      }),
      ticks: [{}, {}],
      clear: async () => rig.sim.clearFaults(),
    }),
    expect: () => ({
      outcome: 'failed',
      error: 'authentication',
      errorClass: AuthenticationError,
      shows: 'instance:StreamsRefused',
      log: /^stream failed$/,
      says: /Check the API 2.0 client id and client secret/,
      resent: 0,
    }),
  },
  {
    id: 'rx-429',
    title: 'Receiver 429 (Retry-After 0) 4 times (longer than the 3 attempts of one send)',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) =>
      receiver(rig, ...Array.from({ length: SINK_ATTEMPTS + 1 }, () => status(429, { retryAfter: 0 }))),
    expect: () => ({ ...SINK_FAILED, error: 'throttled', says: /batch is sent again on the next run/ }),
  },
  {
    id: 'rx-500',
    title: 'Receiver 500 four times',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) => receiver(rig, ...Array.from({ length: SINK_ATTEMPTS + 1 }, () => status(500))),
    expect: () => ({ ...SINK_FAILED, error: 'transient' }),
  },
  {
    id: 'rx-503',
    title: 'Receiver 503 four times',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) => receiver(rig, ...Array.from({ length: SINK_ATTEMPTS + 1 }, () => status(503))),
    expect: () => ({ ...SINK_FAILED, error: 'transient' }),
  },
  {
    id: 'rx-timeout',
    title: 'Receiver never answers (hangs past the 400 ms attempt timeout) 4 times',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) =>
      receiver(rig, ...Array.from({ length: SINK_ATTEMPTS + 1 }, () => ({ kind: 'hang' }) as const)),
    expect: () => ({ ...SINK_FAILED, error: 'transient' }),
  },
  {
    id: 'rx-slow-ack',
    title: 'Receiver stores the batch but answers after the attempt timeout (3 times)',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) => ({
      ...receiver(rig, ...Array.from({ length: SINK_ATTEMPTS }, () => ({ kind: 'delay', ms: 700 }) as const)),
      settle: () =>
        waitFor('the receiver to store the late batches', () =>
          rig.receiver.ingestRequests().every((r) => r.fault !== 'delay' || r.status !== undefined),
        ),
    }),
    // Each timed-out attempt was stored later: the batch is there up to 3 times, and once more on resend.
    expect: () => ({ ...SINK_FAILED, error: 'transient', resent: SINK_ATTEMPTS }),
  },
  {
    id: 'rx-reset',
    title: 'Receiver resets the connection 4 times',
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: (rig) =>
      receiver(rig, ...Array.from({ length: SINK_ATTEMPTS + 1 }, () => ({ kind: 'reset' }) as const)),
    expect: () => ({ ...SINK_FAILED, error: 'transient' }),
  },
  {
    id: 'rx-400',
    title: 'Receiver rejects a batch with 400 (twice, then the receiver is fixed)',
    side: 'receiver',
    recoverable: false,
    bystander: false,
    arm: (rig) => ({ ...receiver(rig, status(400), status(400)), ticks: [{}, {}] }),
    expect: () => ({
      ...SINK_FAILED,
      error: 'sink-rejected',
      errorClass: SinkRejectedError,
      says: /fix its configuration/,
    }),
  },
  {
    id: 'rx-413',
    title: 'Receiver rejects a batch with 413 (twice, then its limit is raised)',
    side: 'receiver',
    recoverable: false,
    bystander: false,
    arm: (rig) => ({ ...receiver(rig, status(413), status(413)), ticks: [{}, {}] }),
    expect: () => ({
      ...SINK_FAILED,
      error: 'sink-rejected',
      errorClass: SinkRejectedError,
      says: /Lower BATCH_MAX_BYTES/,
    }),
  },
  {
    id: 'store-conflict',
    title: 'Checkpoint write loses its condition (another run took the stream over)',
    side: 'checkpoint store',
    recoverable: true,
    bystander: false,
    arm: (rig) => {
      let commits = 0;
      let fired = 0;
      const stream = rig.kind.stream;
      const wrapStore = (inner: CheckpointStore) =>
        new (class extends StoreProxy {
          override async commitProgress(...args: Parameters<StoreProxy['commitProgress']>) {
            const [key, , update] = args;
            if (key.stream === stream && update.succeededAt !== undefined) {
              commits += 1;
              if (commits === 2) {
                fired += 1;
                // A run that believes our lease expired takes the stream over; then it dies too.
                await inner.acquireLease(
                  key,
                  { owner: 'intruder', expiresAt: rig.clock.now() + 1000 },
                  rig.clock.now() + 3_600_000,
                );
              }
            }
            return super.commitProgress(...args);
          }
        })(inner);
      return { fired: () => fired, ticks: [{ options: { wrapStore } }] };
    },
    expect: () => ({
      outcome: 'failed',
      error: 'checkpoint-conflict',
      shows: 'healthy=0',
      log: /^stream lease lost to another run; not releasing$/,
      says: /lease lost/,
      resent: 1,
    }),
  },
  crashCase(
    'crash-fetch-send',
    'Process crash after a page was fetched, before its batch was sent',
    (rig, process) => {
      const sends = countingSends(rig.kind.stream, (n) => {
        if (n === 2) throw process.crash('after fetching, before sending batch 2');
      });
      return { wrapSink: (sink) => processSink(sink, process, { before: sends }) };
    },
    0,
  ),
  crashCase(
    'crash-send-commit',
    'Process crash after the receiver acknowledged a batch, before its checkpoint write',
    (rig, process) => {
      const sends = countingSends(rig.kind.stream, (n) => {
        if (n === 2) throw process.crash('after batch 2 was acknowledged, before its commit');
      });
      return { wrapSink: (sink) => processSink(sink, process, { after: sends }) };
    },
    1,
  ),
  crashCase(
    'crash-commit-fetch',
    'Process crash after a checkpoint write, before the next page fetch',
    (rig, process) => {
      let committedSinceFetch = false;
      let fetches = 0;
      return {
        wrapStore: (inner) =>
          new ProcessStore(inner, process, undefined, (key, update) => {
            if (key.stream === rig.kind.stream && update.succeededAt !== undefined)
              committedSinceFetch = true;
          }),
        wrapSource: (source) =>
          source.stream !== rig.kind.stream
            ? source
            : {
                stream: source.stream,
                seed: (start, now) => source.seed(start, now),
                fetchPage: async (cursor, budget) => {
                  process.assertAlive();
                  fetches += 1;
                  if (fetches > 1 && committedSinceFetch) {
                    throw process.crash('after a checkpoint write, before the next fetch');
                  }
                  committedSinceFetch = false;
                  return source.fetchPage(cursor, budget);
                },
              },
      };
    },
    0,
  ),
  {
    id: 'budget-mid-page',
    title: 'Time budget runs out in the middle of a page',
    side: 'time budget',
    recoverable: true,
    bystander: false,
    arm: (rig) => {
      let fired = 0;
      const after = countingSends(rig.kind.stream, (n) => {
        if (n !== 2) return;
        fired += 1;
        // Jump to just past the last moment a fetch may start (deadline - safety margin).
        rig.clock.advance(20_000 - 2000);
      });
      const wrapSink = (sink: Sink) => processSink(sink, new Process(), { after });
      return { fired: () => fired, ticks: [{ options: { wrapSink } }] };
    },
    expect: () => ({
      outcome: 'budget-exhausted',
      error: 'none',
      shows: 'lagSeconds',
      log: /^stream stopped inside a page: time budget used$/,
      says: /time budget used/,
      resent: 0,
    }),
  },
];

function status(code: number, extra: { retryAfter?: number } = {}): ReceiverFault {
  return { kind: 'status', status: code, ...extra };
}

/**
 * A process crash: the tick's store, sink and signal die at the chosen point. The next tick, right
 * away, finds the stream's lease still held (the crashed run never released it) and skips it; once
 * the lease expired, a new process (empty token cache) resumes from the last checkpoint.
 */
function crashCase(
  id: string,
  title: string,
  wire: (rig: Rig, process: Process) => TickOptions,
  resent: number,
): FaultCase {
  return {
    id,
    title,
    side: 'process crash',
    recoverable: true,
    bystander: false,
    arm: (rig) => {
      const process = new Process();
      const options = wire(rig, process);
      return {
        fired: () => (process.crashedAt === undefined ? 0 : 1),
        ticks: [
          {
            options: {
              owner: 'crashing',
              signal: process.signal,
              wrapSink: (sink) => processSink(options.wrapSink ? options.wrapSink(sink) : sink, process, {}),
              wrapStore: (store) =>
                options.wrapStore ? options.wrapStore(store) : new ProcessStore(store, process),
              ...(options.wrapSource ? { wrapSource: options.wrapSource } : {}),
            },
            advanceMs: 0,
          },
          { options: { owner: 'too-soon' }, before: () => rig.freshProcess() },
        ],
      };
    },
    expect: () => ({
      outcome: 'failed',
      error: 'crash',
      shows: 'lease:crashing',
      log: /^stream skipped: another run holds its lease$/,
      says: /another run holds its lease/,
      resent,
    }),
  };
}
