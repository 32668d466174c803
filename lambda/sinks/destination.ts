/**
 * A destination: the core's `Sink` port (sizeOf, send) plus a probe that `verify` runs. The HTTP formats
 * implement it through http-sink.ts; a sink that does not speak HTTP (S3, syslog, a file) implements the
 * same interface directly, so `verify` and the composition root need not know which kind they hold.
 */
import type { CallBudget, Sink } from '../core/ports';

/** What a probe found, as one row of `verify`'s table and the lines under it. */
export interface ProbeResult {
  ok: boolean;
  /** Short: the table cell (`OK (HEC healthy, token accepted)`, `token refused`, `unreachable`). */
  result: string;
  /** Why, and what to do (printed under the table). */
  detail?: { message: string; remedy?: string };
  /**
   * The receiver refused the token or needs one: the command that ran the probe says how its user
   * stores a token (its remedy replaces `detail.remedy`, which is then left out).
   */
  tokenProblem?: boolean;
}

export interface Destination extends Sink {
  /**
   * A harmless request that says whether the endpoint, the token and the format work. Never delivers
   * an event. Resolves with the finding, whatever the receiver answered or whether it answered at all.
   */
  probe(budget: CallBudget): Promise<ProbeResult>;
}
