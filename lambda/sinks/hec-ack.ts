/**
 * Splunk HEC with indexer acknowledgement (`--hec-ack`, the stack's `HecAck`): behind a load balancer
 * "HTTP 200" only means "queued", so each post's `ackId` is asked of `/services/collector/ack` until it is
 * true before the batch counts as delivered.
 *
 * - One channel (`X-Splunk-Request-Channel`, a GUID) per sink, i.e. per collector container: ack ids are
 *   numbered per channel, so two collectors never read each other's.
 * - The load balancer's stickiness cookie (`Set-Cookie`, e.g. AWSALB) is sent back on every request, so the
 *   ack is asked of the indexer that issued it (Splunk's guidance for HEC behind an ELB).
 * - Polling is bounded (`timeoutMs`, and the budget's deadline): an ack that never turns true (lost in an
 *   indexer restart) makes the batch go again, as unacknowledged. Splunk may then hold it twice; the
 *   envelope id lets searches drop the repeat.
 * - An ack status is true only once (Splunk forgets it after it was read), so every id is asked once per poll.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '../core/abortable';
import type { Answer } from './answer';
import { isRecord, tryJson } from './answer';
import type { ConfirmContext, HttpFormat, Verdict } from './format';

export interface HecAckOptions {
  /** Longest wait for one post's ack, ms. Default 60,000 (Splunk's default `ackIdleCleanup` is far longer). */
  timeoutMs?: number;
  /** First wait between polls, ms, doubling up to `maxPollIntervalMs`. Default 250. */
  pollIntervalMs?: number;
  /** Default 4,000. */
  maxPollIntervalMs?: number;
  /** The channel GUID; default a random one per sink. */
  channel?: string;
}

export const HEC_ACK_PATH = '/services/collector/ack';

/** Wraps the plain HEC format: the same events, plus the channel, the cookie and the ack polling. */
export function hecAckFormat(plain: HttpFormat, options: HecAckOptions): HttpFormat {
  const channel = options.channel ?? randomUUID();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const firstInterval = options.pollIntervalMs ?? 250;
  const maxInterval = options.maxPollIntervalMs ?? 4_000;
  const at = plain.url.pathname.indexOf('/services/collector');
  const ackUrl = new URL(
    `${at >= 0 ? plain.url.pathname.slice(0, at) : ''}${HEC_ACK_PATH}`,
    plain.url.origin,
  );
  const cookies = new Map<string, string>();
  const remember = (answer: Answer) => {
    const raw = answer.headers['set-cookie'];
    for (const line of Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  };

  const confirm = async (answer: Answer, context: ConfirmContext): Promise<Verdict> => {
    const body = tryJson(answer.text);
    const ackId = isRecord(body) ? body.ackId : undefined;
    if (typeof ackId !== 'number') {
      // A token without acknowledgement answers code 0 and no ackId: HEC's own answer is all there is.
      return { kind: 'acknowledged' };
    }
    const started = context.now();
    const until = Math.min(context.deadline, started + timeoutMs);
    let interval = firstInterval;
    let last = 'not yet true';
    for (let poll = 1; poll <= 1_000; poll++) {
      try {
        const reply = await context.request(ackUrl, JSON.stringify({ acks: [ackId] }));
        remember(reply);
        const parsed = tryJson(reply.text);
        const acks = isRecord(parsed) ? parsed.acks : undefined;
        if (reply.status === 200 && isRecord(acks) && acks[String(ackId)] === true) {
          return { kind: 'acknowledged' };
        }
        last = reply.status === 200 ? 'not yet true' : `ack query answered HTTP ${reply.status}`;
      } catch (error) {
        if (context.signal.aborted) break;
        last = `ack query failed: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (context.now() + interval >= until || context.signal.aborted) break;
      await sleep(interval, context.signal);
      interval = Math.min(maxInterval, interval * 2);
    }
    return {
      kind: 'retry',
      reason: `HEC ackId ${ackId} on channel ${channel} not acknowledged within ${context.now() - started} ms (${last}); the batch goes again`,
      throttled: false,
      codes: ['hec-ack-timeout'],
    };
  };

  return {
    ...plain,
    credentials: (token) => ({
      ...plain.credentials(token),
      'x-splunk-request-channel': channel,
      ...(cookies.size === 0 ? {} : { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') }),
    }),
    interpret: (answer, sent) => {
      remember(answer);
      const verdict = plain.interpret(answer, sent);
      if (verdict.kind === 'rejected' && verdict.codes?.includes('hec:14')) {
        return {
          ...verdict,
          remedy:
            'Turn on indexer acknowledgement for this HEC token in Splunk, or run without --hec-ack (the stack parameter HecAck=false).',
        };
      }
      return verdict;
    },
    confirm,
    // The plain probe, on this channel: an ack-enabled token answers "No data" (code 5) once it has one.
    probe: (receiver) =>
      plain.probe({
        ...receiver,
        request: (method, url, headers = {}) =>
          receiver.request(method, url, { ...headers, 'x-splunk-request-channel': channel }),
      }),
  };
}
