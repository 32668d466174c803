/** Token buckets on the simulator clock: the quota model of docs/mimecast-api.md C.3 (refills, never resets at once). */
import type { RateLimitOptions } from './options';

export type TakeResult =
  | { allowed: true; remaining: number; resetMs: number }
  | { allowed: false; waitMs: number };

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    private readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  take(now: number): TakeResult {
    if (now > this.updatedAt) {
      this.tokens = Math.min(
        this.capacity,
        this.tokens + ((now - this.updatedAt) / 1000) * this.refillPerSecond,
      );
      this.updatedAt = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, remaining: Math.floor(this.tokens), resetMs: this.msUntilOne() };
    }
    return { allowed: false, waitMs: Math.max(1, this.msUntilOne()) };
  }

  /** Milliseconds until one more call is allowed (0 when the bucket is full). */
  private msUntilOne(): number {
    if (this.tokens >= this.capacity) return 0;
    const missing = 1 - (this.tokens % 1);
    return Math.ceil((missing / this.refillPerSecond) * 1000);
  }
}

/** One bucket per key (a user's access key, an app's client id). */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: RateLimitOptions) {}

  get capacity(): number {
    return this.options.capacity;
  }

  take(key: string, now: number): TakeResult {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.options.capacity, this.options.refillPerSecond, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }
}
