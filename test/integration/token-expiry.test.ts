/**
 * Issue 11 items 5 and 9: the API 2.0 token shared by every stream of one client.
 * - Item 5: a token Mimecast stops accepting before the `expires_in` it announced (variant
 *   `v2TokenEarlyExpirySeconds`: 401 `token_expired` on a token the cache thinks valid). Each call gets
 *   one new token and one retry; streams meeting the expiry at once cause ONE token request; a second
 *   401 on the new token is an authentication failure.
 * - Item 9: one token request shared by several streams fails: every stream's error names that stream
 *   (and `POST /oauth/token`), not the stream that happened to start the request.
 *
 * A barrier in front of the checkpoint store releases every stream's lease at the same moment, so all
 * streams reach the token before any answer arrives: they really do share it.
 */
import type { Checkpoint, CheckpointKey, CheckpointStore, Lease } from '../../lambda/core/checkpoint';
import { AuthenticationError } from '../../lambda/errors';
import { StoreProxy } from '../kit/stores';
import {
  ALL_STREAMS,
  allOutcomes,
  deliveryReport,
  exactlyOnce,
  outcomes,
  type Rig,
  rigPerTest,
  STREAM_PATHS,
} from './support';

const rigFor = rigPerTest();
const TOKEN_PATH = '/oauth/token';

/** Holds each lease until `count` streams hold theirs (or 5 s passed), then lets them all go at once. */
class LeaseBarrier extends StoreProxy {
  private readonly waiting: Array<() => void> = [];
  constructor(
    inner: CheckpointStore,
    private readonly count: number,
  ) {
    super(inner);
  }
  override async acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null> {
    const acquired = await this.inner.acquireLease(key, lease, now);
    await new Promise<void>((go) => {
      this.waiting.push(go);
      if (this.waiting.length === this.count) for (const release of this.waiting) release();
      else setTimeout(go, 5000).unref();
    });
    return acquired;
  }
}

const tokenRequests = (r: Rig) => r.sim.requests().filter((q) => q.path === TOKEN_PATH).length;
const refusedWith401 = (r: Rig) => r.sim.requests().filter((q) => q.status === 401 && q.path !== TOKEN_PATH);

describe('API 2: a token that expires mid-run', () => {
  it('item 5: streams meeting the expiry together get one new token and carry on', async () => {
    // Announced 1799 s, accepted 299 s.
    const r = await rigFor({
      api: 2,
      simulator: { tokenExpiresInSeconds: 1799, variants: { v2TokenEarlyExpirySeconds: 1500 } },
    });
    const first = await r.run({ owner: 'first' });
    expect(outcomes(first)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    expect(tokenRequests(r)).toBe(1);

    for (const stream of ALL_STREAMS) r.sim.publish(stream, 2, { api: 2 });
    // Past the token's real end and the lateness margin, well before the client's refresh (expires_in − 60 s).
    r.clock.advance(400_000);
    r.sim.clearRequests();
    const second = await r.run({
      owner: 'second',
      store: new LeaseBarrier(r.dynamo.store, ALL_STREAMS.length),
    });
    expect(outcomes(second)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    // Every stream's first call met the expired token; one new token served them all.
    expect(refusedWith401(r)).toHaveLength(ALL_STREAMS.length);
    expect(tokenRequests(r)).toBe(1);
    expect(deliveryReport(r)).toEqual(exactlyOnce());
  });

  it('item 5: a second 401 on the new token is an authentication failure of that stream only', async () => {
    const r = await rigFor({ api: 2 });
    await r.run({ owner: 'first' });
    r.sim.clearRequests();
    r.sim.inject({
      path: STREAM_PATHS.audit[2],
      times: 2,
      fault: { kind: 'status', status: 401, code: 'token_expired', message: 'The access token has expired' },
    });
    const second = await r.run({ owner: 'second' });
    expect(outcomes(second)).toEqual({ ...allOutcomes(ALL_STREAMS, 'caught-up'), audit: 'failed' });
    const audit = second.streams.find((s) => s.stream === 'audit')!;
    expect(audit.error).toBeInstanceOf(AuthenticationError);
    expect(audit.mimecastErrors).toEqual({ authentication: 1 });
    expect((audit.error as AuthenticationError).codes).toEqual(['token_expired']);
    // One new token after the first 401, then the call was not tried a third time.
    expect(tokenRequests(r)).toBe(1);
    expect(r.sim.requests().filter((q) => q.path === STREAM_PATHS.audit[2])).toHaveLength(2);
  });
});

describe('API 2: one token request failing for several streams', () => {
  it('item 9: each stream names itself and POST /oauth/token in its error', async () => {
    const r = await rigFor({ api: 2 });
    // Checkpoints first, so the streams' next tick goes straight to Mimecast after taking its lease.
    await r.run({ owner: 'seed' });
    r.sim.clearRequests();
    r.sim.inject({
      path: TOKEN_PATH,
      times: Number.POSITIVE_INFINITY,
      fault: {
        kind: 'status',
        status: 401,
        code: 'InvalidClientIdentifier',
        message: 'Client credentials are invalid',
      },
    });
    const result = await r.run({
      owner: 'refused',
      freshProcess: true,
      store: new LeaseBarrier(r.dynamo.store, ALL_STREAMS.length),
    });
    expect(outcomes(result)).toEqual(allOutcomes(ALL_STREAMS, 'failed'));
    // They shared one token request (the barrier let them all reach it before its answer).
    expect(tokenRequests(r)).toBe(1);
    for (const { stream, error } of result.streams) {
      expect(error).toBeInstanceOf(AuthenticationError);
      const refused = error as AuthenticationError;
      expect({ stream, named: refused.stream, endpoint: refused.endpoint }).toEqual({
        stream,
        named: stream,
        endpoint: 'POST /oauth/token',
      });
      expect(refused.message).toContain(`(stream ${stream}, POST /oauth/token, HTTP 401`);
      expect(refused.remedy).toMatch(/client id and client secret/);
    }
    for (const stream of ALL_STREAMS) {
      expect((await r.checkpoint(stream))?.lastError).toMatchObject({
        name: 'AuthenticationError',
        message: expect.stringContaining(`stream ${stream},`),
      });
    }
  });
});
