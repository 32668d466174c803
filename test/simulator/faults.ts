/**
 * Scriptable faults. A rule picks requests (path, method, API version) and calls (the nth matching one,
 * or the next N), and says what goes wrong. Rules count their own matching calls from when they were
 * injected; when several fire on one call, the earliest injected wins.
 */
import { z } from 'zod';
import type { RateLimitHint } from './options';
import { TokenBucket } from './rate-limit';

export type Fault =
  /** One 429; `waitMs` (default 1000) is expressed per `hint` (default `reset-ms`). */
  | { kind: 'throttle'; hint?: RateLimitHint; waitMs?: number }
  /** A quota on matching calls: 429 whenever the bucket is empty. Always active (ignores nth/after/times). */
  | { kind: 'token-bucket'; capacity: number; refillPerSecond: number; hint?: RateLimitHint }
  /**
   * An HTTP error in the endpoint's dialect. 401/403/418/5xx get fitting default codes
   * (`err_xdk_invalid_signature`, `app_forbidden`, `err_xdk_binding_expired`, ...); `body` replaces the body.
   */
  | {
      kind: 'status';
      status: number;
      code?: string;
      message?: string;
      retryable?: boolean;
      body?: string;
      contentType?: string;
    }
  /** HTTP 200 whose `fail[]` carries this error (no data). */
  | { kind: 'fail-200'; code: string; message?: string; retryable: boolean }
  /** Waits `ms` before the headers, or after sending part of the body. */
  | { kind: 'delay'; ms: number; phase?: 'before-headers' | 'mid-body' }
  /** Promises the full Content-Length, sends `keepFraction` (default 0.5) of the body, then closes cleanly. */
  | { kind: 'truncate'; keepFraction?: number }
  /** Sends `keepFraction` (default 0.5) of the body, then resets the connection (TCP RST). */
  | { kind: 'reset'; keepFraction?: number }
  /** HTTP 200, JSON content type, body cut off mid-document. */
  | { kind: 'malformed-json' }
  /** The SIEM token is refused (`err_audit_siem_invalid_token`, status per the variant). */
  | { kind: 'invalid-siem-token' }
  /** The batch file URL answers as an expired pre-signed URL (403 AccessDenied). */
  | { kind: 'expire-batch-url' }
  /**
   * Paging that does not advance: the normal answer, but its continuation token (`meta.pagination.next`,
   * `x-mc-threat-feed-next-token`, a file's `mc-siem-token`, `@nextPage` with `isCaughtUp: false`) is the
   * one the request carried. Requests without a token are answered normally.
   */
  | { kind: 'stuck-token' }
  /**
   * The previous answer of the same endpoint (and feed type or SIEM type) served again, its continuation
   * token a fresh one for the requested position, so tokens differ while the page repeats. Requests
   * without a token, or without an earlier answer, are answered normally.
   */
  | { kind: 'repeat-page' };

export interface FaultRule {
  /** Exact request path, or a pattern tested against it. Default: every path. */
  path?: string | RegExp;
  method?: string;
  /** Only calls of this API version (1: MC signature; 2: Bearer, /oauth/token, /siem). */
  api?: 1 | 2;
  /** Fire on the nth matching call only (1-based). Shorthand for after = nth - 1, times = 1. */
  nth?: number;
  /** Let this many matching calls through first. Default 0. */
  after?: number;
  /** Fire on this many matching calls. Default 1; Infinity for every call until cleared. */
  times?: number;
  fault: Fault;
}

const hintSchema = z.enum(['reset-ms', 'reset-epoch-seconds', 'retry-after', 'none']);
const fraction = z.number().gt(0).lt(1);

export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('throttle'),
    hint: hintSchema.optional(),
    waitMs: z.int().nonnegative().optional(),
  }),
  z.strictObject({
    kind: z.literal('token-bucket'),
    capacity: z.int().positive(),
    refillPerSecond: z.number().positive(),
    hint: hintSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('status'),
    status: z.int().min(400).max(599),
    code: z.string().min(1).optional(),
    message: z.string().optional(),
    retryable: z.boolean().optional(),
    body: z.string().optional(),
    contentType: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('fail-200'),
    code: z.string().min(1),
    message: z.string().optional(),
    retryable: z.boolean(),
  }),
  z.strictObject({
    kind: z.literal('delay'),
    ms: z.int().nonnegative().max(600_000),
    phase: z.enum(['before-headers', 'mid-body']).optional(),
  }),
  z.strictObject({ kind: z.literal('truncate'), keepFraction: fraction.optional() }),
  z.strictObject({ kind: z.literal('reset'), keepFraction: fraction.optional() }),
  z.strictObject({ kind: z.literal('malformed-json') }),
  z.strictObject({ kind: z.literal('invalid-siem-token') }),
  z.strictObject({ kind: z.literal('expire-batch-url') }),
  z.strictObject({ kind: z.literal('stuck-token') }),
  z.strictObject({ kind: z.literal('repeat-page') }),
]);

const countSchema = z.union([z.int().nonnegative(), z.literal(Number.POSITIVE_INFINITY)]);

export const faultRuleSchema = z.strictObject({
  path: z.union([z.string().startsWith('/'), z.instanceof(RegExp)]).optional(),
  method: z.string().min(1).optional(),
  api: z.union([z.literal(1), z.literal(2)]).optional(),
  nth: z.int().positive().optional(),
  after: z.int().nonnegative().optional(),
  times: countSchema.optional(),
  fault: faultSchema,
}) satisfies z.ZodType<FaultRule>;

/** The admin endpoint's JSON form: `pathPattern` (a RegExp source) instead of a RegExp, `"always"` for Infinity. */
export const faultRuleJsonSchema = z
  .strictObject({
    path: z.string().startsWith('/').optional(),
    pathPattern: z.string().min(1).optional(),
    method: z.string().min(1).optional(),
    api: z.union([z.literal(1), z.literal(2)]).optional(),
    nth: z.int().positive().optional(),
    after: z.int().nonnegative().optional(),
    times: z.union([z.int().nonnegative(), z.literal('always')]).optional(),
    fault: faultSchema,
  })
  .transform(({ pathPattern, times, ...rest }): FaultRule => {
    const rule: FaultRule = { ...rest };
    if (pathPattern !== undefined) rule.path = new RegExp(pathPattern);
    if (times !== undefined) rule.times = times === 'always' ? Number.POSITIVE_INFINITY : times;
    return rule;
  });

export interface FaultTarget {
  method: string;
  path: string;
  api?: 1 | 2;
}

export type FiredFault = Fault & { rule: number };

interface ActiveRule {
  id: number;
  rule: FaultRule;
  matched: number;
  first: number;
  last: number;
  bucket?: TokenBucket;
}

export class FaultBook {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  inject(rule: FaultRule, now: number): number {
    const parsed = faultRuleSchema.safeParse(rule);
    if (!parsed.success) {
      throw new TypeError(
        `Invalid fault rule: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`).join('; ')}`,
      );
    }
    const first = rule.nth !== undefined ? rule.nth : (rule.after ?? 0) + 1;
    const times = rule.nth !== undefined ? 1 : (rule.times ?? 1);
    const id = this.nextId++;
    const bucket =
      rule.fault.kind === 'token-bucket'
        ? new TokenBucket(rule.fault.capacity, rule.fault.refillPerSecond, now)
        : undefined;
    this.rules.push({ id, rule, matched: 0, first, last: first + times - 1, bucket });
    return id;
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }

  /** Counts the call against every matching rule and returns the fault that fires on it, if any. */
  next(target: FaultTarget, now: number): FiredFault | undefined {
    let fired: FiredFault | undefined;
    for (const active of this.rules) {
      if (!matches(active.rule, target)) continue;
      active.matched++;
      if (fired) continue;
      if (active.bucket) {
        const result = active.bucket.take(now);
        if (!result.allowed) {
          const hint = active.rule.fault.kind === 'token-bucket' ? active.rule.fault.hint : undefined;
          fired = { kind: 'throttle', hint, waitMs: result.waitMs, rule: active.id };
        }
        continue;
      }
      if (active.matched >= active.first && active.matched <= active.last) {
        fired = { ...active.rule.fault, rule: active.id };
      }
    }
    return fired;
  }
}

function matches(rule: FaultRule, target: FaultTarget): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== target.method) return false;
  if (rule.api !== undefined && rule.api !== target.api) return false;
  if (rule.path === undefined) return true;
  if (typeof rule.path === 'string') return rule.path === target.path;
  rule.path.lastIndex = 0;
  return rule.path.test(target.path);
}
