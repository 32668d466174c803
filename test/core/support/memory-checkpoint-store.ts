/**
 * The CheckpointStore in memory, for core unit tests.
 *
 * It lives in test/, not lambda/: production has exactly one store implementation (the DynamoDB
 * adapter, which also runs locally on dynalite), so no code path that ships depends on a fake. The
 * shared contract suite (checkpoint-store-contract.ts) runs against this and the DynamoDB adapter
 * alike, so the fake cannot drift from the real semantics.
 */
import {
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  checkpointConflict,
  EMPTY_TOTALS,
  type FailureUpdate,
  type Lease,
  type LeaseToken,
  leaseAvailable,
  type ProgressUpdate,
  type ResetOptions,
} from '../../../lambda/core/checkpoint';

export type StoreOperation = 'acquireLease' | 'commitProgress' | 'recordFailure' | 'releaseLease' | 'reset';

export interface StoreWrite {
  operation: StoreOperation;
  key: CheckpointKey;
  /** The item after the write (undefined after a reset). */
  after: Checkpoint | undefined;
}

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly items = new Map<string, Checkpoint>();
  /** Every successful write, in order, for assertions. */
  readonly writes: StoreWrite[] = [];

  async acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null> {
    await yieldTurn();
    const existing = this.items.get(id(key));
    if (existing !== undefined && !leaseAvailable(existing.lease, lease.owner, now)) return null;
    const iso = new Date(now).toISOString();
    const next: Checkpoint =
      existing === undefined
        ? {
            instance: key.instance,
            stream: key.stream,
            version: 1,
            offset: 0,
            lease: { ...lease },
            consecutiveFailures: 0,
            totals: { ...EMPTY_TOTALS },
            createdAt: iso,
            updatedAt: iso,
          }
        : { ...existing, version: existing.version + 1, lease: { ...lease }, updatedAt: iso };
    return this.save('acquireLease', key, next);
  }

  async load(key: CheckpointKey): Promise<Checkpoint | undefined> {
    await yieldTurn();
    const item = this.items.get(id(key));
    return item === undefined ? undefined : structuredClone(item);
  }

  async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate): Promise<Checkpoint> {
    await yieldTurn();
    const current = this.expect(key, token, 'commit');
    const next: Checkpoint = {
      ...current,
      cursor: structuredClone(update.cursor),
      offset: update.offset,
      totals: { ...update.totals },
      version: current.version + 1,
      updatedAt: new Date(update.at).toISOString(),
    };
    if (update.newestEventTime !== undefined) next.newestEventTime = update.newestEventTime;
    if (update.notBefore === undefined) delete next.notBefore;
    else next.notBefore = update.notBefore;
    if (update.succeededAt !== undefined) {
      next.lastSuccessAt = new Date(update.succeededAt).toISOString();
      next.consecutiveFailures = 0;
    }
    return this.save('commitProgress', key, next);
  }

  async recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate): Promise<Checkpoint> {
    await yieldTurn();
    const current = this.expect(key, token, 'recordFailure');
    return this.save('recordFailure', key, {
      ...current,
      lastError: structuredClone(update.error),
      consecutiveFailures: update.consecutiveFailures,
      version: current.version + 1,
      updatedAt: new Date(update.at).toISOString(),
    });
  }

  async releaseLease(key: CheckpointKey, token: LeaseToken, now: number): Promise<void> {
    await yieldTurn();
    const current = this.expect(key, token, 'releaseLease');
    const next: Checkpoint = {
      ...current,
      version: current.version + 1,
      updatedAt: new Date(now).toISOString(),
    };
    delete next.lease;
    this.save('releaseLease', key, next);
  }

  async list(instance: string): Promise<Checkpoint[]> {
    await yieldTurn();
    return [...this.items.values()]
      .filter((item) => item.instance === instance)
      .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
      .map((item) => structuredClone(item));
  }

  async reset(key: CheckpointKey, options: ResetOptions): Promise<Checkpoint | undefined> {
    await yieldTurn();
    const existing = this.items.get(id(key));
    if (existing === undefined) return undefined;
    if (!options.force && existing.lease !== undefined && existing.lease.expiresAt > options.now) {
      throw checkpointConflict(
        key,
        'reset',
        'a run holds an unexpired lease (wait for it, or force the reset)',
      );
    }
    this.items.delete(id(key));
    this.writes.push({ operation: 'reset', key, after: undefined });
    return structuredClone(existing);
  }

  /** Test helper: the stored item, synchronously (no copy made by the caller needed). */
  peek(key: CheckpointKey): Checkpoint | undefined {
    const item = this.items.get(id(key));
    return item === undefined ? undefined : structuredClone(item);
  }

  private expect(key: CheckpointKey, token: LeaseToken, operation: string): Checkpoint {
    const current = this.items.get(id(key));
    if (current === undefined || current.version !== token.version || current.lease?.owner !== token.owner) {
      throw checkpointConflict(
        key,
        operation,
        `expected version ${token.version} leased to "${token.owner}", but the item changed, lost that lease or was reset`,
      );
    }
    return current;
  }

  private save(operation: StoreOperation, key: CheckpointKey, next: Checkpoint): Checkpoint {
    this.items.set(id(key), structuredClone(next));
    this.writes.push({ operation, key, after: structuredClone(next) });
    return structuredClone(next);
  }
}

function id(key: CheckpointKey): string {
  return `${key.instance}\u0000${key.stream}`;
}

/** Real stores answer asynchronously; yielding lets concurrent callers interleave as they would. */
function yieldTurn(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}
