/**
 * A local Mimecast API simulator (API 1.0 and 2.0 on one loopback base URL), faithful to
 * docs/mimecast-api.md, with ground truth and scriptable faults for tests and the demo.
 * See README.md in this folder.
 */
import { createHash } from 'node:crypto';
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import type { MimecastV1Credentials, MimecastV2Credentials } from '../../lambda/secrets/credentials';
import type { SimContext } from './context';
import type { FaultRule } from './faults';
import { BodyCache } from './file-bodies';
import { type ResolvedOptions, resolveOptions, type SimulatorOptions } from './options';
import { Rng, saltOf } from './random';
import { RateLimiter } from './rate-limit';
import { TokenSealer } from './sealed-token';
import { type RecordedRequest, SimulatorServer } from './server';
import { TenantData } from './stores';
import { makeTenant } from './tenant';
import { AccessTokens } from './v2-auth';

export type { Fault, FaultRule } from './faults';
export type {
  RateLimitHint,
  RateLimitOptions,
  SiemOptions,
  SimulatorOptions,
  SimulatorVariants,
} from './options';
export { DEFAULT_EVENTS, DEFAULT_VARIANTS, SimulatorOptionsError } from './options';
export type { RecordedRequest } from './server';
export type { V1LogType, V2LogType } from './siem-records';
export { mcSignature, signedV1Headers } from './signature';

export interface PublishOptions {
  lateBySeconds?: number;
  api?: 1 | 2;
  identical?: boolean;
  copyOf?: unknown;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:41234 — base for API 1.0 and 2.0 alike. */
  url: string;
  credentials: { v1: MimecastV1Credentials; v2: MimecastV2Credentials };
  /**
   * Every record held now for that stream, exactly as a correct client decodes it (for key_value files:
   * the object of key=value pairs, values as strings). siem differs per API version; all other streams
   * serve the same records on both. Order: siem in file order then line order; malware feeds in feed
   * order (malware, indicator, relationship per indicator); other streams oldest first.
   */
  groundTruth(stream: StreamId, api: 1 | 2): unknown[];
  /**
   * Adds `count` new records now (appearing in later pages/files/windows); with lateBySeconds their event
   * times lie that far in the past, i.e. before records already served. Returns the new records.
   * siem: `api` picks the dataset; without it both get `count` events and the v1 records come first.
   * Malware feeds: `count` indicators, three STIX objects each.
   * `identical`: the `count` records are copies of one record (same fields, same time), as when a user
   * fails to log on twice in one second; for siem they arrive in one file.
   * `copyOf` (paged log streams only): `count` more copies of a record held, at its own time, visible
   * from now on (an identical event indexed late); `lateBySeconds` and `identical` do not apply.
   */
  publish(stream: StreamId, count: number, options?: PublishOptions): unknown[];
  inject(rule: FaultRule): void;
  clearFaults(): void;
  /** Requests received so far (oldest first), admin calls excluded. */
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** From now on, API 1.0 calls get 418 err_xdk_binding_expired. */
  expireV1Binding(): void;
  /** Forgets every API 2.0 access token issued so far (their next use gets 401). */
  revokeV2Tokens(): void;
  stop(): Promise<void>;
}

/** Credentials derived from the seed, so a demo can keep its secret across simulator restarts. */
function deriveCredentials(options: ResolvedOptions): RunningSimulator['credentials'] {
  const rng = Rng.of(options.seed, saltOf('credentials'));
  const secretBytes = Buffer.from(Array.from({ length: 64 }, () => rng.int(0, 255)));
  const given = options.credentials;
  return {
    v1: {
      apiVersion: 1,
      appId: given?.v1?.appId ?? rng.uuid(),
      appKey: given?.v1?.appKey ?? rng.uuid(),
      accessKey: given?.v1?.accessKey ?? `mYtOL3XZ${rng.base64url(78)}`,
      secretKey: given?.v1?.secretKey ?? secretBytes.toString('base64'),
    },
    v2: {
      apiVersion: 2,
      clientId: given?.v2?.clientId ?? rng.base64url(32),
      clientSecret: given?.v2?.clientSecret ?? rng.base64url(48),
    },
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const resolved = resolveOptions(options);
  const tenant = makeTenant(resolved.seed, resolved.accountCode);
  const credentials = deriveCredentials(resolved);
  let baseUrl = '';
  const context: SimContext = {
    options: resolved,
    now: resolved.now,
    baseUrl: () => baseUrl,
    data: new TenantData(resolved, tenant),
    // Seed-derived, so tokens a client saved stay valid when the simulator restarts with the same seed.
    sealer: new TokenSealer(createHash('sha256').update(`mimecast-simulator:${resolved.seed}`).digest()),
    credentials,
    binding: { expiresAt: resolved.v1BindingExpiresAt },
    tokens: new AccessTokens(),
    callQuota: resolved.rateLimit ? new RateLimiter(resolved.rateLimit) : undefined,
    tokenQuota: new RateLimiter(resolved.tokenRateLimit),
    bodies: new BodyCache(128 * 1024 * 1024),
  };
  const server = new SimulatorServer(context);
  await server.listen(resolved.port);
  baseUrl = server.url;

  return {
    url: baseUrl,
    credentials,
    groundTruth(stream, api) {
      assertStream(stream);
      return context.data.groundTruth(stream, api);
    },
    publish(stream, count, publishOptions = {}) {
      assertStream(stream);
      if (!Number.isInteger(count) || count < 0)
        throw new RangeError(`count must be a non-negative integer, got ${count}`);
      const late = publishOptions.lateBySeconds ?? 0;
      if (!(late >= 0)) throw new RangeError(`lateBySeconds must be >= 0, got ${late}`);
      if (count === 0) return [];
      if (publishOptions.copyOf !== undefined) {
        if (publishOptions.lateBySeconds !== undefined || publishOptions.identical !== undefined) {
          throw new RangeError(
            'copyOf takes the time of the record it copies: no lateBySeconds or identical',
          );
        }
        return context.data.publishCopies(stream, publishOptions.copyOf, count);
      }
      return context.data.publish(stream, count, late, publishOptions.api, publishOptions.identical === true);
    },
    inject: (rule) => {
      server.inject(rule);
    },
    clearFaults: () => server.clearFaults(),
    requests: () => server.requests(),
    clearRequests: () => server.clearRequests(),
    expireV1Binding: () => {
      context.binding.expiresAt = context.now();
    },
    revokeV2Tokens: () => context.tokens.revokeAll(),
    stop: () => server.stop(),
  };
}

function assertStream(stream: string): asserts stream is StreamId {
  if (!(STREAM_IDS as readonly string[]).includes(stream)) {
    throw new RangeError(`Unknown stream ${stream}; expected one of ${STREAM_IDS.join(', ')}`);
  }
}
