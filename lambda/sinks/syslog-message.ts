/**
 * The syslog destination's wire format and URL (`--sink-format syslog`): RFC 5424 messages carrying
 * the envelope JSON, framed by RFC 6587 octet counting, to `tcp://host:port` (loopback only) or
 * `tls://host:port`.
 *
 *   <134>1 2024-06-05T11:50:06.389Z prod mimecast-collector 4242 audit - {"id":"…","stream":"audit",…}
 *
 * - PRI 134 = facility local0 (16) × 8 + severity informational (6). The collector does not judge
 *   Mimecast events, so every one is informational; local0 keeps them out of the host's own auth logs
 *   and is what receivers route on (`if $app-name == "mimecast-collector"` / `local0.*`).
 * - TIMESTAMP the event's own time (the envelope's `time`), so the receiver files it where it happened.
 * - HOSTNAME the collector instance, as Splunk HEC's `host`: several collectors stay apart.
 * - MSGID the stream; STRUCTURED-DATA none (`-`); MSG the envelope JSON without a BOM, because rsyslog's
 *   and syslog-ng's JSON parsers and the SIEMs behind them read a leading BOM as part of the text.
 */
import { isIP } from 'node:net';
import type { Envelope } from '../core/envelope';
import type { ConfigProblem } from '../errors';
import { isLoopbackHost, LOOPBACK_HOSTS } from '../url-rules';
import { envelopeJson } from './format';

/** local0.info: see the module comment. */
export const SYSLOG_PRI = 16 * 8 + 6;
export const SYSLOG_APP_NAME = 'mimecast-collector';
/**
 * Largest SYSLOG-MSG sent, in octets, unless `--syslog-max-message-bytes` says otherwise: rsyslog
 * imtcp's MaxFrameSize default. A receiver closes the connection on a larger frame.
 */
export const DEFAULT_SYSLOG_MAX_MESSAGE_BYTES = 200_000;
/** RFC 5425 (syslog over TLS) and the common plain-TCP port, used when the URL names none. */
const DEFAULT_PORTS = { tcp: 514, tls: 6514 } as const;

export interface SyslogTarget {
  transport: 'tcp' | 'tls';
  /** Without brackets (an IPv6 address as `::1`). */
  host: string;
  port: number;
  /** `tls://host:port`, as errors and logs show it. */
  where: string;
}

/**
 * `tcp://host[:port]` (loopback hosts only: plain TCP carries the logs readable) or `tls://host[:port]`;
 * every problem pushed, the URL never echoed.
 */
export function parseSyslogUrl(
  raw: string,
  field: string,
  problems: ConfigProblem[],
): SyslogTarget | undefined {
  const expected = 'expected tls://host:port (or tcp://127.0.0.1:port on this machine)';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    problems.push({ field, problem: `is not a valid syslog URL; ${expected}` });
    return undefined;
  }
  const transport = url.protocol === 'tcp:' ? 'tcp' : url.protocol === 'tls:' ? 'tls' : undefined;
  if (transport === undefined) {
    problems.push({ field, problem: `is not a syslog URL; ${expected}` });
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    problems.push({ field, problem: 'must not contain a user name or password; syslog takes none' });
    return undefined;
  }
  if (
    url.hostname === '' ||
    (url.pathname !== '' && url.pathname !== '/') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    problems.push({ field, problem: `must be a host and port only; ${expected}` });
    return undefined;
  }
  if (transport === 'tcp' && !isLoopbackHost(url.hostname)) {
    problems.push({
      field,
      problem: `uses tcp, which sends the logs unencrypted; use tls:// (plain tcp only on ${LOOPBACK_HOSTS.join(', ')})`,
    });
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? DEFAULT_PORTS[transport] : Number(url.port);
  if (port === 0) {
    problems.push({ field, problem: 'names port 0; give the port the receiver listens on' });
    return undefined;
  }
  const shownHost = isIP(host) === 6 ? `[${host}]` : host;
  return { transport, host, port, where: `${transport}://${shownHost}:${port}` };
}

/** One RFC 5424 message (no framing) for an envelope; `procId` is the sending process. */
export function syslogMessage(envelope: Envelope, procId: string): string {
  const millis = Date.parse(envelope.time);
  const timestamp = Number.isFinite(millis) ? new Date(millis).toISOString() : '-';
  return `<${SYSLOG_PRI}>1 ${timestamp} ${headerField(envelope.instance, 255)} ${SYSLOG_APP_NAME} ${headerField(procId, 128)} ${headerField(envelope.stream, 32)} - ${envelopeJson(envelope)}`;
}

/** RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in octets of the UTF-8 message. */
export function octetCountedFrame(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, `-` when empty. */
function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return printable === '' ? '-' : printable;
}
