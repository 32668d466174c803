/**
 * The syslog destination (`--sink-format syslog`, command line only): RFC 5424 messages in RFC 6587
 * octet-counted frames over TCP or TLS (syslog-message.ts has the format and the URL).
 *
 * Syslog over TCP has no acknowledgement: a receiver answers nothing, and a write that completed only
 * reached this machine's kernel. A receiver that resets the connection after reading part of a batch
 * (or stops reading, or refuses the connection as one too many) would lose the rest unseen if
 * "written" counted as delivered. So each batch travels on a connection of its own, ended by the
 * close handshake: every frame written and drained, then our FIN, and the batch counts as delivered
 * only when the receiver closes its side in answer, which rsyslog and syslog-ng do after reading
 * everything up to our FIN. A reset, an early close, a timeout or a refused connection fails the
 * batch retryably and it goes again whole on a fresh connection (ids make the repeats harmless).
 * A receiver that reads frames and then closes cleanly without keeping them cannot be told apart; RELP
 * would be needed for that.
 *
 * Over TLS the close is the receiver's close_notify, which RFC 5425 §4.4 requires in answer to ours.
 * Node's TLS socket reports a transport EOF, and a reset that arrives after our close_notify, as a plain
 * end, which would hide a dropped batch; so TLS runs over a TCP socket of our own (`overTcp`) whose end
 * and reset stay visible, and only a close_notify counts: a transport that ends without one fails the
 * batch.
 *
 * A message over `maxMessageBytes` (rsyslog's MaxFrameSize, 200,000 by default) refuses the batch
 * before anything is sent, naming the stream and event id: a receiver would close the connection on
 * it, and cutting it would forward an envelope that looks whole but is not.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as connectTls, rootCertificates } from 'node:tls';
import type { Envelope } from '../core/envelope';
import type { CallBudget, SinkResult } from '../core/ports';
import { SinkRejectedError, ThrottledError, TransientError } from '../errors';
import { type RetryPolicy, withRetries } from '../http/retry';
import type { Destination, ProbeResult } from './destination';
import { failed, PROBE_REQUEST_TIMEOUT_MS, passed } from './probe';
import { octetCountedFrame, type SyslogTarget, syslogMessage } from './syslog-message';

/** TLS verification failures: no retry helps, the receiver's certificate is not trusted. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Least time a new connection must stay open before the batch is written (see `deliver`). */
const TCP_SETTLE_MS = 20;

/** How long a TLS connection whose TCP side ended may take to show the close_notify that came before. */
const TLS_CLOSE_GRACE_MS = 200;

const CA_REMEDY =
  "Pass the receiver's CA certificate (PEM) with --sink-ca-file, or give the receiver a certificate for this host name from a CA this machine trusts.";

export interface SyslogDestinationOptions {
  /** `tls://`: PEM certificates trusted besides the system's (`--sink-ca-file`). */
  ca?: string;
  /** Octets of one SYSLOG-MSG (`--syslog-max-message-bytes`). */
  maxMessageBytes: number;
  retry: RetryPolicy;
  /** PROCID of every message; default this process's id. */
  procId?: string;
}

/** Why one delivery attempt failed. */
class AttemptFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly refused = false,
  ) {
    super(message);
  }
}

export class SyslogDestination implements Destination {
  private readonly procId: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly target: SyslogTarget,
    private readonly options: SyslogDestinationOptions,
  ) {
    this.procId = options.procId ?? String(process.pid);
  }

  sizeOf(envelope: Envelope): number {
    return octetCountedFrame(syslogMessage(envelope, this.procId)).length;
  }

  /**
   * One batch at a time (streams send concurrently): one connection per collector, as receivers' session
   * limits expect, and batches arrive whole one after the other.
   */
  send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    const turn = this.queue.then(() => this.sendNow(batch, budget));
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async sendNow(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    const frames: Buffer[] = [];
    for (const envelope of batch) {
      const message = syslogMessage(envelope, this.procId);
      const bytes = Buffer.byteLength(message);
      if (bytes > this.options.maxMessageBytes) throw this.tooLarge(envelope, bytes, batch.length);
      frames.push(octetCountedFrame(message));
    }
    const payload = Buffer.concat(frames);
    let sent = 0;
    await withRetries<void, AttemptFailure>({
      policy: this.options.retry,
      budget,
      attempt: async ({ timeoutMs }) => {
        sent += payload.length;
        try {
          await this.deliver(payload, timeoutMs, budget.signal);
          return { kind: 'done', value: undefined };
        } catch (error) {
          const failure = error as AttemptFailure;
          if (failure.refused) throw this.untrusted(failure, batch.length);
          return { kind: 'retry', failure };
        }
      },
      giveUp: ({ reason, attempts, last }) => {
        const said = `Sink syslog at ${this.target.where}: ${batch.length} events not delivered after ${attempts} attempt${attempts === 1 ? '' : 's'} (${reason === 'cancelled' ? 'cancelled' : (last?.message ?? 'no time left')})`;
        const context = { endpoint: this.target.where, codes: last ? [last.code] : [], cause: last };
        // A receiver that stops reading or turns connections away is overloaded: come back later.
        if (last?.code === 'timeout' || last?.code === 'closed-early') {
          return new ThrottledError(
            said,
            'The receiver is busy or refusing connections; the batch is sent again on the next run.',
            {
              ...context,
              retryAfterMs: this.options.retry.maxDelayMs,
            },
          );
        }
        return new TransientError(
          said,
          'Check that the syslog receiver runs and accepts connections from this machine; the batch is sent again on the next run.',
          context,
        );
      },
    });
    return { bytes: sent };
  }

  /** Connects (and completes the TLS handshake) and closes, sending nothing. */
  async probe(budget: CallBudget): Promise<ProbeResult> {
    const timeoutMs = Math.max(1, Math.min(PROBE_REQUEST_TIMEOUT_MS, budget.deadline - Date.now()));
    try {
      await this.deliver(Buffer.alloc(0), timeoutMs, budget.signal);
      return passed(
        this.target.transport === 'tls' ? 'OK (TLS handshake, certificate trusted)' : 'OK (connected)',
      );
    } catch (error) {
      const failure = error as AttemptFailure;
      const said = `${this.target.where}: ${failure.message}`;
      if (failure.refused) return failed('certificate not trusted', said, CA_REMEDY);
      if (failure.code === 'ECONNREFUSED') {
        return failed(
          'connection refused',
          said,
          'Check the host and port, and that the syslog receiver listens on them.',
        );
      }
      if (failure.code === 'timeout') {
        return failed(
          'timed out',
          said,
          "Check this machine's network access to the receiver (firewall, proxy) and that the receiver is not overloaded.",
        );
      }
      return failed(
        'unreachable',
        said,
        'Check the URL, that the receiver runs, and the network path to it.',
      );
    }
  }

  /**
   * One connection: connect, write `payload`, end, and wait for the receiver's own close. Rejects with
   * an AttemptFailure (`refused` when the certificate is not trusted).
   */
  private deliver(payload: Buffer, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { transport, host, port } = this.target;
    return new Promise<void>((resolve, reject) => {
      let stage: 'connecting' | 'writing' | 'closing' | 'confirming' | 'done' = 'connecting';
      const tcp = connectTcp({ host, port });
      const socket: Socket =
        transport === 'tls'
          ? connectTls({
              socket: overTcp(tcp, () => onTransportEnd()),
              host,
              // SNI takes host names only; an address is still checked against the certificate.
              ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
              ...(this.options.ca === undefined ? {} : { ca: [...rootCertificates, this.options.ca] }),
            })
          : tcp;
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (failure?: AttemptFailure) => {
        if (stage === 'done') return;
        stage = 'done';
        clearTimeout(timer);
        clearTimeout(graceTimer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (failure === undefined) resolve();
        else reject(failure);
      };
      const onAbort = () => finish(new AttemptFailure('cancelled', 'cancelled'));
      const timer = setTimeout(() => {
        const during =
          stage === 'connecting'
            ? 'connecting'
            : stage === 'writing'
              ? 'writing (the receiver stopped reading)'
              : 'waiting for the receiver to close';
        finish(
          new AttemptFailure('timeout', `no progress within ${Math.ceil(timeoutMs / 1000)}s while ${during}`),
        );
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      const write = () => {
        if (stage !== 'connecting') return;
        stage = 'writing';
        socket.write(payload, (error) => {
          if (error) return finish(socketFailure(error));
          if (stage !== 'writing') return;
          stage = 'closing';
          socket.end();
        });
      };
      // A receiver that turns a connection away (one too many) accepts it and closes it at once; a batch
      // written into it would look delivered (the close handshake cannot tell). So the new connection must
      // first stay open as long as it took to open (a round trip or two, at least TCP_SETTLE_MS).
      const connectStarted = Date.now();
      socket.on(transport === 'tls' ? 'secureConnect' : 'connect', () => {
        setTimeout(write, Math.max(TCP_SETTLE_MS, Date.now() - connectStarted));
      });
      const closedEarly = () =>
        new AttemptFailure(
          'closed-early',
          stage === 'connecting'
            ? 'the receiver closed the connection at once (too many connections?)'
            : 'the receiver closed the connection before the batch was written',
        );
      // Receivers send nothing; reading keeps the socket flowing so their close is seen.
      socket.on('data', () => {});
      // Over TLS only the receiver's close_notify ends the socket (`overTcp`).
      socket.on('end', () => {
        // Our FIN was out: wait for the close itself, so a reset that came with it still fails the batch.
        if (stage === 'closing') stage = 'confirming';
        else finish(closedEarly());
      });
      socket.on('error', (error) => finish(socketFailure(error)));
      // TLS: the TCP connection ended. After our close_notify its last bytes may still carry the
      // receiver's, so give the TLS layer a moment to read them; an end without one is a dropped
      // connection, not a confirmation.
      const onTransportEnd = () => {
        if (stage === 'done') return;
        if (stage === 'connecting' || stage === 'writing') return finish(closedEarly());
        graceTimer = setTimeout(
          () =>
            finish(
              new AttemptFailure(
                'closed',
                'the receiver closed the TCP connection without a TLS close_notify (RFC 5425 §4.4): the batch may have been dropped',
              ),
            ),
          TLS_CLOSE_GRACE_MS,
        );
      };
      socket.on('close', (hadError) => {
        if (stage === 'confirming' && !hadError) finish();
        else finish(new AttemptFailure('closed', 'the connection closed before the receiver confirmed'));
      });
    });
  }

  private tooLarge(envelope: Envelope, bytes: number, events: number): SinkRejectedError {
    return new SinkRejectedError(
      `Sink syslog at ${this.target.where}: event ${envelope.id} of stream ${envelope.stream} is ${bytes} bytes as a syslog message, over the ${this.options.maxMessageBytes} allowed (--syslog-max-message-bytes); the batch of ${events} events was not sent`,
      "Raise the receiver's limit (rsyslog: imtcp MaxFrameSize and global maxMessageSize; syslog-ng: log-msg-size) and --syslog-max-message-bytes to match; the stream waits at this event until then.",
      { stream: envelope.stream, endpoint: this.target.where, codes: ['message-too-large'] },
    );
  }

  private untrusted(failure: AttemptFailure, events: number): SinkRejectedError {
    return new SinkRejectedError(
      `Sink syslog at ${this.target.where}: ${events} events not sent: ${failure.message}`,
      CA_REMEDY,
      { endpoint: this.target.where, codes: [failure.code], cause: failure },
    );
  }
}

function socketFailure(error: Error): AttemptFailure {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return new AttemptFailure(code, `the receiver's TLS certificate is not trusted (${code})`, true);
  }
  return new AttemptFailure(code, code === 'error' ? error.message : code);
}

/**
 * The TCP socket as the stream TLS runs over. Node's own TLS-over-TCP hides the transport's end and
 * a late reset behind a plain 'end'; through this stream a reset is an error, and the transport's end
 * is reported to `onEnd` and never passed to TLS, so the TLS socket's 'end' can only be a close_notify.
 */
function overTcp(tcp: Socket, onEnd: () => void): Duplex {
  const stream = new Duplex({
    read: () => {
      tcp.resume();
    },
    write: (chunk, _encoding, callback) => {
      tcp.write(chunk, callback);
    },
    final: (callback) => {
      tcp.end();
      callback();
    },
    destroy: (error, callback) => {
      tcp.destroy();
      callback(error);
    },
  });
  tcp.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) tcp.pause();
  });
  tcp.on('end', onEnd);
  tcp.on('error', (error) => stream.destroy(error));
  return stream;
}
