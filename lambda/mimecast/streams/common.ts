/** What every stream module gets from the client, and the calls they share. */
import * as z from 'zod';
import type { CallBudget, Clock, Cursor, Log, SourceRecord } from '../../core/ports';
import type { StreamId } from '../../core/streams';
import { CollectorError, RequestError } from '../../errors';
import { type CallContext, excerpt, failureError, failuresOf, onlyCodes, protocolError } from '../classify';
import { DecodeError } from '../decode/errors';
import { apiUrl } from '../hosts';
import { type HttpResponse, type HttpTransport, readJson } from '../transport';

export interface StreamSettings {
  latenessMarginMs: number;
  /** The late-data horizon (streams/late-data.ts); 0 = no re-check. */
  lateDataMs: number;
  maxLateDataIds: number;
  catchUpSlackMs: number;
  jsonPageSize: number;
  siemBatchPageSize: number;
  maxJsonBytes: number;
  maxRecordChars: number;
  maxBoundaryIds: number;
  fileUrlRelistAttempts: number;
  siemFileFormat: 'json' | 'key_value';
  siemTypes: readonly string[];
  siemCiTypes: readonly string[];
  /** Time between the starts of two Awareness Training snapshots. */
  snapshotIntervalMs: number;
}

export interface SourceDeps {
  transport: HttpTransport;
  base: URL;
  apiVersion: 1 | 2;
  clock: Clock;
  log: Log;
  settings: StreamSettings;
}

export function callContext(
  deps: SourceDeps,
  stream: StreamId,
  method: 'GET' | 'POST',
  path: string,
  permission: string,
): CallContext {
  return { stream, endpoint: `${method} ${path}`, apiVersion: deps.apiVersion, permission, role: 'api' };
}

export interface PostOptions {
  /** Sees the answer's headers (e.g. a page token in a header) once its body is read and checked. */
  onAnswer?: (res: HttpResponse) => void;
  /** `fail[]` codes by which the endpoint says there is nothing (more) to answer (see `throwOnFailures`). */
  nothingMoreCodes?: readonly string[];
}

/** What `postJson` returns for an answer whose `fail[]` only said "nothing (more) here" (`nothingMoreCodes`). */
export const NOTHING_MORE: unique symbol = Symbol('nothing more');

/** POSTs a post-REST JSON body and returns the parsed answer (or NOTHING_MORE), `fail[]` already checked. */
export async function postJson(
  deps: SourceDeps,
  ctx: CallContext,
  path: string,
  body: unknown,
  budget: CallBudget,
  options: PostOptions = {},
): Promise<unknown> {
  return deps.transport.call(
    {
      ctx,
      method: 'POST',
      url: apiUrl(deps.base, path),
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      authenticate: true,
    },
    budget,
    async (res) => {
      const json = await readJson(res, ctx, deps.settings.maxJsonBytes);
      if (throwOnFailures(ctx, res.status, json, options.nothingMoreCodes)) {
        return NOTHING_MORE;
      }
      options.onAnswer?.(res);
      return json;
    },
  );
}

/**
 * `fail[]` inside a 2xx is an error on every endpoint, except the codes by which an endpoint says there is
 * nothing (more) to answer: when those are all the `fail[]` holds, this returns true instead of throwing.
 */
export function throwOnFailures(
  ctx: CallContext,
  status: number,
  json: unknown,
  nothingMoreCodes: readonly string[] = [],
): boolean {
  const failures = failuresOf(json);
  if (failures.length === 0) {
    return false;
  }
  if (onlyCodes(failures, nothingMoreCodes)) {
    return true;
  }
  throw failureError(ctx, status, failures);
}

/** Validates a stored cursor; a corrupt one is a request problem the operator fixes by resetting it. */
export function parseCursor<T>(stream: StreamId, schema: z.ZodType<T>, cursor: Cursor, kind: string): T {
  const parsed = schema.safeParse(cursor);
  if (!parsed.success) {
    throw new RequestError(
      `The stored cursor of stream ${stream} is not a valid ${kind} cursor: ${z.prettifyError(parsed.error).slice(0, 300)}`,
      `Reset the ${stream} stream checkpoint so it is seeded again from the collection start.`,
      { stream },
    );
  }
  return parsed.data;
}

export const IsoTime = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 time');

/** Decoder failures become ProtocolError naming stream and endpoint; typed errors pass through. */
export function decodingError(ctx: CallContext, err: unknown, fallbackExcerpt?: string): unknown {
  if (err instanceof CollectorError) {
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  const text = err instanceof DecodeError && err.excerpt !== undefined ? err.excerpt : fallbackExcerpt;
  return protocolError(ctx, `Malformed body: ${message}`, text, err);
}

export async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

export function recordExcerpt(record: unknown): string {
  return excerpt(JSON.stringify(record) ?? String(record));
}

/** A page whose records were decided up front (JSON pages read whole). */
export function staticPage(records: SourceRecord[], next: Cursor, caughtUp: boolean) {
  return { records: fromArray(records), end: () => ({ next, caughtUp }) };
}
