/**
 * A syslog receiver over TCP or TLS: RFC 6587 octet-counted frames (`MSG-LEN SP SYSLOG-MSG`, the length
 * in octets) carrying RFC 5424 messages. Like syslog-ng's framed transport it closes the connection on
 * a frame header it cannot read (or a frame over `maxFrameBytes`), so what follows on that connection
 * is lost; like rsyslog's imtcp it accepts then closes connections past `maxConnections`. A frame cut
 * short by the connection ending is discarded. TLS uses a certificate made at start (never on disk);
 * `ca` is what a client trusts.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import selfsigned from 'selfsigned';
import type { Envelope } from '../../lambda/core/envelope';
import { isEnvelope } from './ndjson';

/** rsyslog imtcp's default MaxFrameSize. */
export const DEFAULT_MAX_FRAME_BYTES = 200_000;
/** rsyslog imtcp's default MaxSessions. */
export const DEFAULT_MAX_CONNECTIONS = 200;
/** Digits a frame length may have before the header counts as garbage (200000 has 6). */
const MAX_LENGTH_DIGITS = 10;

export interface SyslogReceiverOptions {
  transport?: 'tcp' | 'tls';
  port?: number;
  maxFrameBytes?: number;
  maxConnections?: number;
}

/** One RFC 5424 message as received; `parseError` says why the header did not parse. */
export interface SyslogMessage {
  /** 1-based connection number it arrived on. */
  connection: number;
  /** The frame's SYSLOG-MSG, as text. */
  raw: string;
  pri?: number;
  facility?: number;
  severity?: number;
  version?: number;
  timestamp?: string;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  /** STRUCTURED-DATA as sent (`-` when none). */
  structuredData?: string;
  /** MSG without its UTF-8 BOM. */
  msg?: string;
  /** MSG parsed as an envelope, when it is one. */
  envelope?: Envelope;
  parseError?: string;
}

export type SyslogFault =
  /**
   * After `afterMessages` more complete messages (on any connection), drop the connection that carried
   * the last one: `reset` (RST, the default) or `close` (FIN). Bytes already buffered behind it are lost.
   */
  { kind: 'drop'; afterMessages: number; how?: 'reset' | 'close' };

export interface SyslogConnection {
  connection: number;
  remotePort?: number;
  messages: number;
  /** Why it ended, when it did: the client, a framing error, a fault, too many connections, stop(). */
  closedBy?: 'client' | 'framing-error' | 'fault' | 'too-many-connections' | 'stop';
}

export interface SyslogReceiver {
  /** `tcp://127.0.0.1:<port>` or `tls://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly transport: 'tcp' | 'tls';
  /** TLS: the PEM certificate a client must trust (self-signed for 127.0.0.1 and localhost). */
  readonly ca?: string;
  /** Every complete frame, in arrival order. */
  messages(): SyslogMessage[];
  /** Envelopes carried as MSG, in arrival order. */
  received(): Envelope[];
  ids(): string[];
  /** Frame headers that could not be read, and frames cut short by the connection ending. */
  frameErrors(): Array<{ connection: number; error: string }>;
  connections(): SyslogConnection[];
  inject(...faults: SyslogFault[]): void;
  pendingFaults(): number;
  /** Stop reading from every connection: senders fill their buffers and stop draining (overload). */
  pause(): void;
  resume(): void;
  /** Forget messages, errors, connections' counts and faults. */
  reset(): void;
  /** Close the server and every connection. */
  stop(): Promise<void>;
}

export async function startSyslogReceiver(options: SyslogReceiverOptions = {}): Promise<SyslogReceiver> {
  const transport = options.transport ?? 'tcp';
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const messages: SyslogMessage[] = [];
  const frameErrors: Array<{ connection: number; error: string }> = [];
  const connections: SyslogConnection[] = [];
  const open = new Map<Socket, SyslogConnection>();
  const faults: SyslogFault[] = [];
  let paused = false;
  let messagesUntilDrop: number | undefined;
  // TLS: the TCP socket under each TLS connection, by remote port; a TLS socket cannot be reset itself
  // ("This handle type cannot be sent"), its TCP socket can.
  const tcpUnder = new Map<number | undefined, Socket>();

  const onConnection = (socket: Socket) => {
    const info: SyslogConnection = {
      connection: connections.length + 1,
      remotePort: socket.remotePort,
      messages: 0,
    };
    connections.push(info);
    const close = (by: NonNullable<SyslogConnection['closedBy']>, reset = false) => {
      info.closedBy ??= by;
      if (reset) (tcpUnder.get(socket.remotePort) ?? socket).resetAndDestroy();
      else socket.destroy();
    };
    socket.on('error', () => {});
    if (open.size >= maxConnections) {
      // rsyslog: "too many tcp sessions - dropping incoming request".
      close('too-many-connections');
      return;
    }
    open.set(socket, info);
    if (paused) socket.pause();
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const frame = nextFrame(buffer, maxFrameBytes);
        if (frame === 'incomplete') return;
        if ('error' in frame) {
          frameErrors.push({ connection: info.connection, error: frame.error });
          close('framing-error');
          return;
        }
        buffer = buffer.subarray(frame.end);
        messages.push({ connection: info.connection, ...parseSyslog(frame.message) });
        info.messages += 1;
        if (messagesUntilDrop === undefined && faults.length > 0) {
          messagesUntilDrop = faults[0].afterMessages;
        }
        if (messagesUntilDrop !== undefined) {
          messagesUntilDrop -= 1;
          if (messagesUntilDrop <= 0) {
            const fault = faults.shift()!;
            messagesUntilDrop = undefined;
            close('fault', (fault.how ?? 'reset') === 'reset');
            return;
          }
        }
      }
    });
    socket.on('end', () => {
      if (buffer.length > 0) {
        frameErrors.push({
          connection: info.connection,
          error: `connection ended inside a frame (${buffer.length} bytes kept back)`,
        });
      }
      info.closedBy ??= 'client';
      socket.end();
    });
    socket.on('close', () => {
      open.delete(socket);
      tcpUnder.delete(socket.remotePort);
      info.closedBy ??= 'client';
    });
  };

  let server: Server;
  let ca: string | undefined;
  if (transport === 'tls') {
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    ca = pems.cert;
    server = createTlsServer({ key: pems.private, cert: pems.cert }, onConnection);
    server.on('connection', (tcp: Socket) => tcpUnder.set(tcp.remotePort, tcp));
  } else {
    server = createTcpServer(onConnection);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `${transport}://127.0.0.1:${port}`,
    port,
    transport,
    ca,
    messages: () => messages.map((m) => ({ ...m })),
    received: () => messages.flatMap((m) => (m.envelope === undefined ? [] : [m.envelope])),
    ids: () => messages.flatMap((m) => (m.envelope === undefined ? [] : [m.envelope.id])),
    frameErrors: () => frameErrors.map((e) => ({ ...e })),
    connections: () => connections.map((c) => ({ ...c })),
    inject: (...more) => {
      faults.push(...more);
    },
    pendingFaults: () => faults.length,
    pause: () => {
      paused = true;
      for (const socket of open.keys()) socket.pause();
    },
    resume: () => {
      paused = false;
      for (const socket of open.keys()) socket.resume();
    },
    reset: () => {
      messages.length = 0;
      frameErrors.length = 0;
      faults.length = 0;
      messagesUntilDrop = undefined;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [socket, info] of open) {
        info.closedBy ??= 'stop';
        socket.destroy();
      }
      await closed;
    },
  };
}

type Frame = 'incomplete' | { error: string } | { message: Buffer; end: number };

/** The next octet-counted frame in `buffer`: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN = NONZERO-DIGIT *DIGIT. */
export function nextFrame(buffer: Buffer, maxFrameBytes: number): Frame {
  let i = 0;
  while (i < buffer.length && buffer[i] >= 0x30 && buffer[i] <= 0x39) {
    i += 1;
    if (i > MAX_LENGTH_DIGITS) return { error: 'frame length has too many digits' };
  }
  if (i === buffer.length) return 'incomplete';
  if (i === 0 || buffer[0] === 0x30) {
    return {
      error: `invalid frame header: expected a length, got ${JSON.stringify(buffer.subarray(0, 16).toString('latin1'))}`,
    };
  }
  if (buffer[i] !== 0x20) return { error: 'invalid frame header: the length must be followed by a space' };
  const length = Number(buffer.subarray(0, i).toString('ascii'));
  if (length > maxFrameBytes)
    return { error: `frame of ${length} bytes is over the limit of ${maxFrameBytes}` };
  const start = i + 1;
  if (buffer.length < start + length) return 'incomplete';
  return { message: buffer.subarray(start, start + length), end: start + length };
}

const BOM = '\ufeff';
const NIL = '-';

/** RFC 5424: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`. */
export function parseSyslog(bytes: Buffer): Omit<SyslogMessage, 'connection'> {
  const raw = bytes.toString('utf8');
  const head = /^<(\d{1,3})>([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(raw);
  if (head === null) return { raw, parseError: 'header does not match RFC 5424' };
  const pri = Number(head[1]);
  const fields = {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    version: Number(head[2]),
    timestamp: head[3],
    hostname: head[4],
    appName: head[5],
    procId: head[6],
    msgId: head[7],
  };
  const problem =
    pri > 191
      ? 'PRI over 191'
      : fields.timestamp !== NIL &&
          !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(fields.timestamp)
        ? 'TIMESTAMP is not RFC 3339'
        : fields.hostname.length > 255 ||
            fields.appName.length > 48 ||
            fields.procId.length > 128 ||
            fields.msgId.length > 32
          ? 'a header field is too long'
          : undefined;
  const rest = raw.slice(head[0].length);
  const sd = structuredData(rest);
  if (sd === undefined) return { raw, ...fields, parseError: 'STRUCTURED-DATA is malformed' };
  const after = rest.slice(sd.length);
  if (after !== '' && !after.startsWith(' '))
    return { raw, ...fields, parseError: 'no space after STRUCTURED-DATA' };
  const msg = after === '' ? '' : after.slice(1).replace(new RegExp(`^${BOM}`), '');
  let envelope: Envelope | undefined;
  try {
    const value: unknown = JSON.parse(msg);
    envelope = isEnvelope(value) ? value : undefined;
  } catch {
    envelope = undefined;
  }
  return {
    raw,
    ...fields,
    structuredData: sd,
    msg,
    ...(envelope === undefined ? {} : { envelope }),
    ...(problem === undefined ? {} : { parseError: problem }),
  };
}

/** The STRUCTURED-DATA at the start of `text` (`-` or `[id k="v"…]…`, escapes honoured), or undefined. */
function structuredData(text: string): string | undefined {
  if (text.startsWith(NIL)) return NIL;
  let i = 0;
  while (text[i] === '[') {
    let inValue = false;
    i += 1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inValue && c === '\\') i += 1;
      else if (c === '"') inValue = !inValue;
      else if (!inValue && c === ']') break;
    }
    if (i >= text.length) return undefined;
    i += 1;
  }
  return i === 0 ? undefined : text.slice(0, i);
}

/** A frame as a sender writes it: octet count (bytes, not characters), space, message. */
export function octetCounted(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}
