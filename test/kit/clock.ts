/** The test clocks: a fixed time a test moves by hand, and wall time plus an offset. */
import type { Clock } from '../../lambda/core/ports';

export const T0 = Date.parse('2024-06-05T12:00:00.000Z');

/** Stands still until the test advances it. */
export class FakeClock implements Clock {
  constructor(public time = T0) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/**
 * Wall time plus an offset the test moves, shared by the simulator, the client and the engine (never
 * behind the wall clock: the Mimecast transport checks budget deadlines against Date.now()). It never
 * goes backwards; `frozen` pins it while two simulators publish, so both get byte-identical records.
 */
export class TestClock implements Clock {
  private offsetMs = 0;
  private pinned: number | undefined;
  private last = 0;

  now(): number {
    const t = this.pinned ?? Date.now() + this.offsetMs;
    if (t > this.last) this.last = t;
    return this.last;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    if (this.pinned !== undefined) this.pinned += ms;
  }

  frozen<T>(fn: () => T): T {
    this.pinned = this.now();
    try {
      return fn();
    } finally {
      this.pinned = undefined;
    }
  }
}
