/**
 * Checkpoint-store doubles shared by the end-to-end rigs: a delegating proxy, the process a tick runs in
 * (it may crash), the store behind that process, and a witness that proves no commit ran ahead of the
 * sink's acknowledgement.
 */
import type {
  Checkpoint,
  CheckpointKey,
  CheckpointStore,
  FailureUpdate,
  Lease,
  LeaseToken,
  ProgressUpdate,
  ResetOptions,
} from '../../lambda/core/checkpoint';
import type { Cursor } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';

/** Delegates everything; subclasses override what they observe. */
export class StoreProxy implements CheckpointStore {
  constructor(protected readonly inner: CheckpointStore) {}
  acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null> {
    return this.inner.acquireLease(key, lease, now);
  }
  load(key: CheckpointKey): Promise<Checkpoint | undefined> {
    return this.inner.load(key);
  }
  commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate): Promise<Checkpoint> {
    return this.inner.commitProgress(key, token, update);
  }
  recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate): Promise<Checkpoint> {
    return this.inner.recordFailure(key, token, update);
  }
  releaseLease(key: CheckpointKey, token: LeaseToken, now: number): Promise<void> {
    return this.inner.releaseLease(key, token, now);
  }
  list(instance: string): Promise<Checkpoint[]> {
    return this.inner.list(instance);
  }
  reset(key: CheckpointKey, options: ResetOptions): Promise<Checkpoint | undefined> {
    return this.inner.reset(key, options);
  }
}

export class CrashError extends Error {
  override readonly name = 'CrashError';
}

/**
 * The process a tick runs in. Once it "crashes", nothing it does reaches the outside any more: its
 * signal aborts every fetch and send, and the wrapped store and sink refuse every call — so it writes
 * no checkpoint, records no failure and never releases a lease.
 */
export class Process {
  private readonly controller = new AbortController();
  crashedAt: string | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  crash(where: string): CrashError {
    if (this.crashedAt === undefined) {
      this.crashedAt = where;
      this.controller.abort(new CrashError(`process crashed: ${where}`));
    }
    return new CrashError(`process crashed: ${this.crashedAt}`);
  }

  assertAlive(): void {
    if (this.crashedAt !== undefined) throw new CrashError(`process crashed: ${this.crashedAt}`);
  }
}

/** The store behind a process that may die: every call refused once it crashed. */
export class ProcessStore extends StoreProxy {
  constructor(
    inner: CheckpointStore,
    private readonly process: Process,
    /** Runs before a progress commit (may crash the process). */
    private readonly beforeCommit?: (key: CheckpointKey, update: ProgressUpdate) => void,
    /** Runs after a progress commit was written (may crash the process). */
    private readonly afterCommit?: (key: CheckpointKey, update: ProgressUpdate) => void,
  ) {
    super(inner);
  }
  override acquireLease(key: CheckpointKey, lease: Lease, now: number) {
    this.process.assertAlive();
    return this.inner.acquireLease(key, lease, now);
  }
  override load(key: CheckpointKey) {
    this.process.assertAlive();
    return this.inner.load(key);
  }
  override async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate) {
    this.process.assertAlive();
    this.beforeCommit?.(key, update);
    const written = await this.inner.commitProgress(key, token, update);
    this.process.assertAlive();
    this.afterCommit?.(key, update);
    return written;
  }
  override recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate) {
    this.process.assertAlive();
    return this.inner.recordFailure(key, token, update);
  }
  override releaseLease(key: CheckpointKey, token: LeaseToken, now: number) {
    this.process.assertAlive();
    return this.inner.releaseLease(key, token, now);
  }
}

/**
 * Remembers, at every progress commit of the watched streams, the position about to be written and the
 * ids the receiver held at that moment; `check` then proves a crash right after any of those writes
 * would lose nothing (a replay from the position, plus what was held, covers the truth).
 */
export class CommitWitness extends StoreProxy {
  readonly commits: Array<{ stream: StreamId; cursor: Cursor; offset: number; held: Set<string> }> = [];
  constructor(
    inner: CheckpointStore,
    private readonly held: (stream: StreamId) => string[],
    /** Only these streams (replays cost Mimecast calls). Default: all. */
    private readonly streams?: readonly StreamId[],
  ) {
    super(inner);
  }
  override async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate) {
    if (this.streams !== undefined && !this.streams.includes(key.stream)) {
      return this.inner.commitProgress(key, token, update);
    }
    const held = new Set(this.held(key.stream));
    const written = await this.inner.commitProgress(key, token, update);
    this.commits.push({ stream: key.stream, cursor: update.cursor, offset: update.offset, held });
    return written;
  }

  /** Problems: commits that were ahead of what the receiver held; the checked commits are forgotten. */
  async check(
    replayFrom: (stream: StreamId, cursor: Cursor, offset: number) => Promise<string[]>,
    truth: (stream: StreamId) => string[],
  ): Promise<string[]> {
    const problems: string[] = [];
    for (const commit of this.commits.splice(0)) {
      const rest = await replayFrom(commit.stream, commit.cursor, commit.offset);
      const reachable = new Set([...commit.held, ...rest]);
      const lost = truth(commit.stream).filter((id) => !reachable.has(id));
      if (lost.length > 0) {
        problems.push(
          `${commit.stream}: a commit wrote ${JSON.stringify(commit.cursor)}+${commit.offset} while ${lost.length} record(s) before it were not acknowledged`,
        );
      }
    }
    return problems;
  }
}
