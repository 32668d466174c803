/**
 * The Event Push receiver, transport-free: one pushed request in, one HEC-style answer out
 * (docs/PUSH.md, "Receiver"). The Function URL handler (lambda/push-handler.ts) and `receive` on the
 * command line (node:http) only translate their request into a `PushRequest` and the answer back, so
 * both run exactly this code. Success is answered only after the destination acknowledged every event;
 * any failure is an error answer, and Mimecast pushes the same events again.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { describeError } from '../core/describe';
import type { Envelope } from '../core/envelope';
import type { CallBudget, Clock, Log, Sink } from '../core/ports';
import type { PushLedger } from '../core/push-ledger';
import type { StreamId } from '../core/streams';
import { CollectorError, PushBodyError } from '../errors';
import { parsePushBody } from './body';
import { pushEnvelopes } from './envelopes';
import { forwardPush, type PushBatchLimits, type PushForwarded } from './forward';
import { recordPushed } from './record';

/** A pushed request: headers with lower-case names, the body as bytes (already base64-decoded). */
export interface PushRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
  /**
   * Set by a transport that stopped reading a body past the limit (the body is then empty): the bytes
   * it saw or was told of, so the answer is "too large" without the body being held.
   */
  oversizedBytes?: number;
}

export interface PushAnswer {
  status: number;
  /** HEC's answer object: `{"text":"Success","code":0}` and the like. */
  body: string;
  headers: Record<string, string>;
}

export interface PushReceiverLimits extends PushBatchLimits {
  /** Largest body accepted as it arrives (gzip counted compressed). */
  maxBodyBytes: number;
  /** Largest body once decompressed. */
  maxDecodedBytes: number;
}

/**
 * Function URLs take request payloads up to 6 MB (Lambda's invocation limit); the receiver's own bound is
 * just under, so a body between is refused by the receiver with a HEC answer rather than by AWS.
 * Decoded text is bounded at 4x that: Mimecast's gzip of JSON compresses far better, and a gzip bomb
 * must stop well inside the function's memory.
 */
export const PUSH_LIMITS: Readonly<Omit<PushReceiverLimits, keyof PushBatchLimits>> = Object.freeze({
  maxBodyBytes: 6 * 1000 * 1000 - 64 * 1024,
  maxDecodedBytes: 24 * 1024 * 1024,
});

export interface PushReceiverDeps {
  /** The push token from the secret (`pushToken`); compared in constant time. */
  token: string;
  destination: Sink;
  instance: string;
  limits: PushReceiverLimits;
  /** The budget for forwarding one push (from the invocation's remaining time, or a fixed bound locally). */
  budget(): CallBudget;
  clock: Clock;
  log: Log;
  /** Told of each push forwarded (the command line prints it); a throw from it is logged, never answered. */
  onForwarded?: (forwarded: PushForwarded) => void;
  /**
   * Told how each request ended (the push function turns it into metrics, lambda/telemetry
   * push-metrics.ts). A throw from it is logged, never answered: it cannot change what was delivered.
   */
  onOutcome?: (outcome: PushOutcome) => void;
  /**
   * Where the keys of delivered events go, for the pull of push-primary streams to leave them out
   * (docs/PUSH-GAP-FILL.md); absent when no stream is push-primary.
   */
  ledger?: PushLedger;
}

/** Why a request was refused before anything was forwarded. */
export type PushRefusal = 'token' | 'method' | 'body' | 'too-large';

/** Events per stream. */
export type StreamCounts = Partial<Record<StreamId, number>>;

/**
 * How one request ended (not told for the health check): refused before forwarding; forwarded, every
 * event acknowledged; or failed, answered with an error because the destination did not acknowledge
 * (or something unforeseen broke), so Mimecast pushes the events again.
 */
export type PushOutcome =
  | { kind: 'refused'; reason: PushRefusal }
  | { kind: 'forwarded'; received: StreamCounts; forwarded: StreamCounts }
  | { kind: 'failed'; received: StreamCounts };

/** HEC's answer codes that this receiver uses (Splunk's numbering, as test/receivers/splunk-hec.ts models it). */
const HEC = {
  success: { code: 0, text: 'Success', status: 200 },
  tokenRequired: { code: 2, text: 'Token is required', status: 401 },
  invalidAuthorization: { code: 3, text: 'Invalid authorization', status: 401 },
  invalidToken: { code: 4, text: 'Invalid token', status: 403 },
  noData: { code: 5, text: 'No data', status: 400 },
  invalidData: { code: 6, text: 'Invalid data format', status: 400 },
  internalError: { code: 8, text: 'Internal server error', status: 500 },
  busy: { code: 9, text: 'Server is busy', status: 503 },
  healthy: { code: 17, text: 'HEC is healthy', status: 200 },
} as const;

type HecAnswer = (typeof HEC)[keyof typeof HEC];

/** Answers one pushed request. Never throws: every failure is an answer. */
export async function receivePush(request: PushRequest, deps: PushReceiverDeps): Promise<PushAnswer> {
  const method = request.method.toUpperCase();
  if (method === 'GET' && request.path.replace(/\/+$/, '').endsWith('/health')) {
    // Splunk's health endpoint needs no token; it says only that the receiver is up.
    return answer(HEC.healthy);
  }
  if (method !== 'POST') {
    report(deps, { kind: 'refused', reason: 'method' });
    return { ...answer(HEC.invalidData, { detail: 'Push events with POST.' }), status: 405 };
  }
  const refused = checkToken(request.headers.authorization, deps.token);
  if (refused !== undefined) {
    deps.log.warn('Push refused: token', { status: refused.status, code: refused.code });
    report(deps, { kind: 'refused', reason: 'token' });
    return answer(refused);
  }
  const size = request.oversizedBytes ?? request.body.length;
  if (size > deps.limits.maxBodyBytes) {
    deps.log.warn('Push refused: body too large', {
      bytes: size,
      limit: deps.limits.maxBodyBytes,
    });
    report(deps, { kind: 'refused', reason: 'too-large' });
    return {
      ...answer(HEC.invalidData, {
        detail: `The body is more than ${deps.limits.maxBodyBytes} bytes, the most this receiver takes per request. Send fewer events per push.`,
      }),
      status: 413,
    };
  }
  const receivedAtMs = deps.clock.now();
  let envelopes: ReturnType<typeof pushEnvelopes>;
  try {
    const items = parsePushBody(request.body, { maxDecodedBytes: deps.limits.maxDecodedBytes });
    envelopes = pushEnvelopes(items, { instance: deps.instance, receivedAtMs });
  } catch (err) {
    if (err instanceof PushBodyError) {
      deps.log.warn('Push refused: body', { error: err.toJSON() });
      const base = err.hecCode === 5 ? HEC.noData : HEC.invalidData;
      report(deps, { kind: 'refused', reason: err.status === 413 ? 'too-large' : 'body' });
      return { ...answer(base, { detail: err.message }), status: err.status ?? base.status };
    }
    report(deps, { kind: 'failed', received: {} });
    return failed(err, deps.log);
  }
  const received = countByStream(envelopes);
  try {
    const forwarded = await forwardPush(envelopes, deps.destination, deps.budget(), deps.limits);
    deps.log.info('Push forwarded', {
      events: forwarded.events,
      batches: forwarded.batches,
      bytes: forwarded.bytes,
    });
    await recordPushed(envelopes, deps.ledger, deps.log);
    observe(deps, 'Push forwarding not reported', () => deps.onForwarded?.(forwarded));
    report(deps, { kind: 'forwarded', received, forwarded: forwarded.events });
    return answer(HEC.success);
  } catch (err) {
    report(deps, { kind: 'failed', received });
    return failed(err, deps.log);
  }
}

function countByStream(envelopes: readonly Envelope[]): StreamCounts {
  const counts: StreamCounts = {};
  for (const { stream } of envelopes) counts[stream] = (counts[stream] ?? 0) + 1;
  return counts;
}

function report(deps: PushReceiverDeps, outcome: PushOutcome): void {
  observe(deps, 'Push outcome not reported', () => deps.onOutcome?.(outcome), { outcome: outcome.kind });
}

/**
 * Observers must not turn an answer into a throw: after delivery an error answer would have Mimecast
 * push the events again (duplicates). A failing observer is logged and the answer stands.
 */
function observe(
  deps: PushReceiverDeps,
  failed: string,
  call: () => void,
  context: Record<string, unknown> = {},
): void {
  try {
    call();
  } catch (error) {
    deps.log.warn(failed, { ...context, error: describeError(error) });
  }
}

/**
 * The destination did not acknowledge (or something unforeseen broke): an error answer, so Mimecast keeps
 * the events and pushes them again. Retryable failures are "busy" (503); the rest need a person, and say so.
 */
function failed(err: unknown, log: Log): PushAnswer {
  const retryable = !(err instanceof CollectorError) || err.retryable;
  log.error('Push not forwarded: answered with an error so Mimecast pushes it again', {
    error:
      err instanceof CollectorError ? err.toJSON() : { name: (err as Error)?.name, message: String(err) },
  });
  return answer(retryable ? HEC.busy : HEC.internalError, {
    detail: retryable
      ? 'The destination did not acknowledge in time; push again later.'
      : 'The destination refused the events; the collector operator must fix the destination settings.',
  });
}

/** `Authorization: Splunk <token>` or `Bearer <token>`; undefined when the token is right. */
function checkToken(header: string | undefined, expected: string): HecAnswer | undefined {
  if (header === undefined || header.trim() === '') return HEC.tokenRequired;
  const match = /^\s*(Splunk|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (match === null) return HEC.invalidAuthorization;
  return sameToken(match[2]!, expected) ? undefined : HEC.invalidToken;
}

/** Constant-time: digests have equal length whatever the tokens' lengths, so nothing leaks by timing. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

function answer(hec: HecAnswer, extra: Record<string, unknown> = {}): PushAnswer {
  return {
    status: hec.status,
    body: JSON.stringify({ text: hec.text, code: hec.code, ...extra }),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  };
}
