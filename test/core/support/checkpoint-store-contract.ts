/**
 * The CheckpointStore contract, as tests: run against the in-memory fake (test/core) and the DynamoDB
 * adapter on dynalite (test/state), so both implement the same rules.
 */
import {
  type CheckpointKey,
  type CheckpointStore,
  type ProgressUpdate,
  toLastError,
} from '../../../lambda/core/checkpoint';
import { AuthenticationError, CheckpointConflictError } from '../../../lambda/errors';
import { T0 } from '../../kit/clock';

export interface ContractHarness {
  store: CheckpointStore;
  /** A fresh instance id per test keeps tests independent on a shared table. */
  instance: string;
}

const LEASE_MS = 60_000;

function progress(overrides: Partial<ProgressUpdate> = {}): ProgressUpdate {
  return {
    cursor: { page: 3, token: 'abc' },
    offset: 7,
    totals: { events: 10, pages: 2, bytes: 1000 },
    at: T0 + 1000,
    succeededAt: T0 + 1000,
    ...overrides,
  };
}

export function describeCheckpointStoreContract(setup: () => ContractHarness): void {
  let store: CheckpointStore;
  let key: CheckpointKey;
  let instance: string;

  beforeEach(() => {
    const harness = setup();
    store = harness.store;
    instance = harness.instance;
    key = { instance, stream: 'audit' };
  });

  const acquire = (owner: string, now = T0) =>
    store.acquireLease(key, { owner, expiresAt: now + LEASE_MS }, now);

  it('creates a missing item when taking its lease', async () => {
    expect(await store.load(key)).toBeUndefined();
    const checkpoint = await acquire('run-a');
    expect(checkpoint).toEqual({
      instance,
      stream: 'audit',
      version: 1,
      offset: 0,
      lease: { owner: 'run-a', expiresAt: T0 + LEASE_MS },
      consecutiveFailures: 0,
      totals: { events: 0, pages: 0, bytes: 0 },
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
    });
    expect(await store.load(key)).toEqual(checkpoint);
  });

  it('refuses an unexpired lease held by another owner, allows its own owner, takes over when expired', async () => {
    const first = await acquire('run-a');
    expect(await acquire('run-b', T0 + 1000)).toBeNull();
    const again = await acquire('run-a', T0 + 2000);
    expect(again?.version).toBe(first!.version + 1);
    const takeover = await acquire('run-b', T0 + LEASE_MS + 2000);
    expect(takeover?.lease).toEqual({ owner: 'run-b', expiresAt: T0 + 2 * LEASE_MS + 2000 });
    expect(takeover?.version).toBe(again!.version + 1);
  });

  it('commits progress conditionally, bumping the version, and keeps the cursor JSON exact', async () => {
    const leased = (await acquire('run-a'))!;
    const cursor = {
      window: { from: '2024-06-05T11:00:00.000Z', to: '2024-06-05T12:00:00.000Z' },
      pageToken: 'tok/+=',
      list: [1, 2.5, -3, 'x', null, true, { nested: [] }],
      empty: '',
      offset: 12,
      cursor: { reserved: 'names' },
      unicode: 'näöü ✓',
    };
    const written = await store.commitProgress(
      key,
      { owner: 'run-a', version: leased.version },
      progress({ cursor, offset: 4, newestEventTime: '2024-06-05T11:59:00.000Z' }),
    );
    expect(written.version).toBe(leased.version + 1);
    expect(written.cursor).toEqual(cursor);
    expect(written.offset).toBe(4);
    expect(written.totals).toEqual({ events: 10, pages: 2, bytes: 1000 });
    expect(written.newestEventTime).toBe('2024-06-05T11:59:00.000Z');
    expect(written.lastSuccessAt).toBe(new Date(T0 + 1000).toISOString());
    expect(written.updatedAt).toBe(new Date(T0 + 1000).toISOString());
    expect(written.lease?.owner).toBe('run-a');
    expect(await store.load(key)).toEqual(written);
  });

  it('rejects a commit with a stale version or a foreign owner, and leaves the item unchanged', async () => {
    const leased = (await acquire('run-a'))!;
    const written = await store.commitProgress(key, { owner: 'run-a', version: leased.version }, progress());
    await expect(
      store.commitProgress(key, { owner: 'run-a', version: leased.version }, progress({ offset: 99 })),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(
      store.commitProgress(key, { owner: 'run-b', version: written.version }, progress({ offset: 99 })),
    ).rejects.toThrow(/instance ".*", stream "audit"/);
    expect(await store.load(key)).toEqual(written);
  });

  it("fails the old holder's writes after a takeover", async () => {
    const leased = (await acquire('run-a'))!;
    await acquire('run-b', T0 + LEASE_MS + 1);
    const stale = { owner: 'run-a', version: leased.version };
    await expect(store.commitProgress(key, stale, progress())).rejects.toBeInstanceOf(
      CheckpointConflictError,
    );
    await expect(
      store.recordFailure(key, stale, {
        error: toLastError(new Error('x'), T0),
        consecutiveFailures: 1,
        at: T0,
      }),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(store.releaseLease(key, stale, T0)).rejects.toBeInstanceOf(CheckpointConflictError);
    expect((await store.load(key))?.lease?.owner).toBe('run-b');
  });

  it('sets and clears notBefore, keeps newestEventTime when not given, and a seed keeps lastSuccessAt', async () => {
    let checkpoint = (await acquire('run-a'))!;
    const token = () => ({ owner: 'run-a', version: checkpoint.version });
    checkpoint = await store.commitProgress(
      key,
      token(),
      progress({ notBefore: T0 + 5000, newestEventTime: '2024-06-05T11:00:00.000Z' }),
    );
    expect(checkpoint.notBefore).toBe(T0 + 5000);
    checkpoint = await store.commitProgress(
      key,
      token(),
      progress({ at: T0 + 9000, succeededAt: undefined, newestEventTime: undefined }),
    );
    expect(checkpoint.notBefore).toBeUndefined();
    expect(checkpoint.newestEventTime).toBe('2024-06-05T11:00:00.000Z');
    expect(checkpoint.lastSuccessAt).toBe(new Date(T0 + 1000).toISOString());
    expect(await store.load(key)).toEqual(checkpoint);
  });

  it('records a failure without moving the position, and a success zeroes the failure count', async () => {
    let checkpoint = (await acquire('run-a'))!;
    checkpoint = await store.commitProgress(key, { owner: 'run-a', version: checkpoint.version }, progress());
    const error = new AuthenticationError('Mimecast refused the key (418).', 'Rotate the key.', {
      stream: 'audit',
      endpoint: 'POST /api/audit/get-audit-events',
      status: 418,
      codes: ['err_xdk_binding_expired'],
    });
    const failed = await store.recordFailure(
      key,
      { owner: 'run-a', version: checkpoint.version },
      { error: toLastError(error, T0 + 2000), consecutiveFailures: 3, at: T0 + 2000 },
    );
    expect(failed.version).toBe(checkpoint.version + 1);
    expect(failed.cursor).toEqual(checkpoint.cursor);
    expect(failed.offset).toBe(checkpoint.offset);
    expect(failed.consecutiveFailures).toBe(3);
    expect(failed.lastError).toEqual({
      kind: 'authentication',
      name: 'AuthenticationError',
      message: 'Mimecast refused the key (418).',
      remedy: 'Rotate the key.',
      retryable: false,
      endpoint: 'POST /api/audit/get-audit-events',
      status: 418,
      codes: ['err_xdk_binding_expired'],
      at: new Date(T0 + 2000).toISOString(),
    });
    expect(await store.load(key)).toEqual(failed);
    const recovered = await store.commitProgress(
      key,
      { owner: 'run-a', version: failed.version },
      progress(),
    );
    expect(recovered.consecutiveFailures).toBe(0);
    expect(recovered.lastError).toEqual(failed.lastError);
  });

  it('releases the lease so another owner can take it at once', async () => {
    const leased = (await acquire('run-a'))!;
    await store.releaseLease(key, { owner: 'run-a', version: leased.version }, T0 + 10);
    const released = await store.load(key);
    expect(released?.lease).toBeUndefined();
    expect(released?.version).toBe(leased.version + 1);
    expect((await acquire('run-b', T0 + 20))?.lease?.owner).toBe('run-b');
  });

  it('lists the checkpoints of one instance only, ordered by stream', async () => {
    for (const stream of ['ttp-url', 'audit', 'siem'] as const) {
      await store.acquireLease({ instance, stream }, { owner: 'o', expiresAt: T0 + 1 }, T0);
    }
    await store.acquireLease(
      { instance: `${instance}-other`, stream: 'dlp' },
      { owner: 'o', expiresAt: T0 + 1 },
      T0,
    );
    const listed = await store.list(instance);
    expect(listed.map((c) => c.stream)).toEqual(['audit', 'siem', 'ttp-url']);
    expect(listed.every((c) => c.instance === instance)).toBe(true);
    expect(await store.list(`${instance}-none`)).toEqual([]);
  });

  it('resets a stream: refused while leased unless forced, then seeded afresh', async () => {
    const leased = (await acquire('run-a'))!;
    await store.commitProgress(key, { owner: 'run-a', version: leased.version }, progress());
    await expect(store.reset(key, { now: T0 + 10 })).rejects.toBeInstanceOf(CheckpointConflictError);
    const deleted = await store.reset(key, { now: T0 + 10, force: true });
    expect(deleted?.cursor).toEqual({ page: 3, token: 'abc' });
    expect(await store.load(key)).toBeUndefined();
    expect(await store.reset(key, { now: T0 + 20 })).toBeUndefined();
    // The old holder's next write conflicts instead of resurrecting the item.
    await expect(
      store.commitProgress(key, { owner: 'run-a', version: leased.version + 1 }, progress()),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(await store.load(key)).toBeUndefined();
    const fresh = await acquire('run-b', T0 + 30);
    expect(fresh?.version).toBe(1);
    expect(fresh?.cursor).toBeUndefined();
  });

  it('resets without force once the lease expired or was released', async () => {
    const leased = (await acquire('run-a'))!;
    expect(await store.reset(key, { now: T0 + LEASE_MS })).toMatchObject({ version: leased.version });
    const again = (await acquire('run-a', T0 + LEASE_MS + 1))!;
    await store.releaseLease(key, { owner: 'run-a', version: again.version }, T0 + LEASE_MS + 2);
    expect(await store.reset(key, { now: T0 + LEASE_MS + 3 })).toMatchObject({ version: again.version + 1 });
  });
}
