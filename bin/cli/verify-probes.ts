/**
 * What `verify` checks: one real, read-only call per stream (the stream source's `probe`), and the
 * receiver's format `probe()` (lambda/sinks/destination.ts), each turned into one row of the table.
 */
import type { Dispatcher } from 'undici';
import type { CallBudget } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';
import {
  AuthenticationError,
  CollectorError,
  ConfigError,
  PermissionError,
  ProtocolError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../../lambda/errors';
import { createMimecastClient } from '../../lambda/mimecast';
import type { CollectorCredentials } from '../../lambda/secrets/credentials';
import {
  createDestination,
  type Destination,
  type DestinationSettings,
  type S3Options,
} from '../../lambda/sinks';
import { CREDENTIAL_ENV } from './credentials';

export interface CheckRow {
  name: string;
  ok: boolean;
  result: string;
  /** Why, and what to do (printed under the table). */
  detail?: { message: string; remedy?: string };
}

/** One probe, retries included. */
const PROBE_BUDGET_MS = 20_000;
/** Streams probed at once after the first (which alone fetches the API 2.0 token). */
const PROBE_CONCURRENCY = 4;

function probeBudget(signal: AbortSignal | undefined): CallBudget {
  const timeout = AbortSignal.timeout(PROBE_BUDGET_MS);
  return {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    deadline: Date.now() + PROBE_BUDGET_MS,
  };
}

// ---------------------------------------------------------------------------------------------
// Mimecast

const LICENCE_CODE = /licen[cs]|not_enabled|not_licensed|entitle|product/i;

/** A probe's error as a table cell. */
export function describeProbeError(error: unknown): Omit<CheckRow, 'name'> {
  const detail =
    error instanceof CollectorError
      ? { message: error.message, remedy: error.remedy }
      : { message: error instanceof Error ? error.message : String(error) };
  if (error instanceof PermissionError) {
    const licence = error.codes.some((code) => LICENCE_CODE.test(code));
    const what = error.requiredPermission ?? 'see below';
    return {
      ok: false,
      result: licence ? `product not enabled (${what})` : `missing permission: ${what}`,
      detail,
    };
  }
  if (error instanceof AuthenticationError) return { ok: false, result: 'bad credentials', detail };
  if (error instanceof ThrottledError) {
    return { ok: false, result: `throttled (try again in ${Math.ceil(error.retryAfterMs / 1000)}s)`, detail };
  }
  if (error instanceof TransientError) {
    // The collector's remedy ("the next run tries again") is for a tick; here the user is checking a
    // setup, and a host that does not answer is most often the wrong one.
    const remedy =
      error.status === undefined
        ? 'Check --mimecast-url (the host for your account and API version) and that this machine reaches it over HTTPS (proxy, firewall), then run verify again.'
        : `Mimecast answered HTTP ${error.status}: a passing fault on its side. Run verify again in a few minutes.`;
    return {
      ok: false,
      result: error.status === undefined ? 'unreachable' : `unreachable (HTTP ${error.status})`,
      detail: { ...detail, remedy },
    };
  }
  if (error instanceof RequestError) return { ok: false, result: 'refused (see below)', detail };
  if (error instanceof ProtocolError) return { ok: false, result: 'unexpected answer', detail };
  return { ok: false, result: 'failed', detail };
}

export async function probeStreams(
  credentials: CollectorCredentials,
  baseUrl: string,
  checks: { streams: StreamId[]; siemTypes: string[]; siemCiTypes: string[] },
  dispatcher: Dispatcher,
  signal: AbortSignal | undefined,
): Promise<CheckRow[]> {
  const streams = checks.streams;
  // Two attempts, not the collector's four: an answer in seconds matters more here.
  const client = createMimecastClient({
    baseUrl,
    credentials: credentials.mimecast,
    dispatcher,
    siemTypes: checks.siemTypes,
    siemCiTypes: checks.siemCiTypes,
    retry: { maxAttempts: 2 },
    timeouts: { headersMs: 15_000 },
  });
  const probe = async (stream: StreamId): Promise<CheckRow> => {
    try {
      await client.source(stream).probe(probeBudget(signal));
      return { name: stream, ok: true, result: 'OK' };
    } catch (error) {
      return { name: stream, ...describeProbeError(error) };
    }
  };
  const [first, ...rest] = streams;
  const rows: CheckRow[] = [await probe(first)];
  const firstRow = rows[0];
  // The host did not answer at all: every other stream would wait out the same timeouts.
  if (firstRow.result === 'unreachable' || firstRow.result === 'bad credentials') {
    for (const stream of rest) {
      rows.push({ name: stream, ok: false, result: `${firstRow.result} (not tried: see ${first})` });
    }
    return rows;
  }
  for (let i = 0; i < rest.length; i += PROBE_CONCURRENCY) {
    if (signal?.aborted) break;
    rows.push(...(await Promise.all(rest.slice(i, i + PROBE_CONCURRENCY).map(probe))));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The receiver

const TOKEN_REMEDY = `Store the receiver's token with \`mimecast-collector configure\` (${CREDENTIAL_ENV.sinkToken}), or for env credentials export ${CREDENTIAL_ENV.sinkToken}.`;

/** The receiver: the URL and token checked as the collector checks them, then the format's probe. */
export async function checkSink(
  settings: DestinationSettings,
  credentials: Pick<CollectorCredentials, 'sinkToken' | 'azure'>,
  dispatcher: Dispatcher,
  s3: S3Options,
  signal: AbortSignal | undefined,
): Promise<Omit<CheckRow, 'name'>> {
  // The same checks the collector makes before sending anything (URL shape per format, token form).
  let sink: Destination;
  try {
    const token = credentials.sinkToken;
    sink = createDestination(settings, {
      dispatcher,
      s3,
      ...(token === undefined ? {} : { token }),
      ...(credentials.azure === undefined ? {} : { azure: credentials.azure }),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      const message = error.problems
        .map(
          (p) =>
            `${p.field === 'url' ? '--sink-url' : p.field === 'token' ? 'sink token' : p.field}: ${p.problem}`,
        )
        .join('; ');
      return {
        ok: false,
        result: 'not usable',
        detail: { message, remedy: 'Fix the sink URL, format or token, then run verify again.' },
      };
    }
    throw error;
  }
  const { tokenProblem, ...found } = await sink.probe(probeBudget(signal));
  return tokenProblem && found.detail
    ? { ...found, detail: { ...found.detail, remedy: TOKEN_REMEDY } }
    : found;
}
