/** Shared helpers for the sink tests: envelopes, budgets, a recording log, fast retry settings. */
import { Agent } from 'undici';
import type { Envelope } from '../../lambda/core/envelope';
import type { CallBudget } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';
import type { SinkRetryOptions } from '../../lambda/sinks';
import { RecordingLog } from '../kit/log';

/** Looks like a real HEC token so a leak would be obvious in any message. */
export const TOKEN = 'c0ffee00-5ec2-4e7a-9d1b-70ce4ba5e7e1';

/** Small delays so retry tests take milliseconds, not seconds. */
export const FAST_RETRY: SinkRetryOptions = {
  maxAttempts: 6,
  baseDelayMs: 20,
  maxDelayMs: 100,
  attemptTimeoutMs: 2_000,
  minAttemptMs: 20,
};

export function envelope(n: number, stream: StreamId = 'siem', logType = 'receipt'): Envelope {
  return {
    id: `${stream}-${String(n).padStart(4, '0')}-aaaaaaaaaaaaaaaaaaaa`,
    stream,
    logType,
    time: new Date(Date.UTC(2024, 5, 5, 11, 50, 6, 389) + n * 1000).toISOString(),
    instance: 'acme-prod',
    event: {
      aCode: `code-${n}`,
      Sender: `user${n}@example.com`,
      subject: 'Quarterly {report} "draft"',
      size: n,
    },
  };
}

export function envelopes(count: number, stream: StreamId = 'siem', logType = 'receipt'): Envelope[] {
  return Array.from({ length: count }, (_, n) => envelope(n, stream, logType));
}

/** A budget ending `ms` from now, and the controller to cancel it early. */
export function budget(ms: number): CallBudget & { controller: AbortController } {
  const controller = new AbortController();
  return { signal: controller.signal, deadline: Date.now() + ms, controller };
}

export type { LogLine } from '../kit/log';

export function recordingLog(): RecordingLog {
  return new RecordingLog();
}

/** A keep-alive Agent of the test's own, closed in afterAll (never the container-wide one). */
export function testAgent(): Agent {
  return new Agent({ keepAliveTimeout: 2_000, connect: { timeout: 2_000 } });
}

/** The rejection of `promise`, failing the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Everything an error exposes to logs: message, toJSON, and the messages along its cause chain. */
export function exposedText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '');
      const json = (current as { toJSON?: () => unknown }).toJSON;
      if (typeof json === 'function') {
        parts.push(JSON.stringify(json.call(current)));
      }
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join('\n');
}
