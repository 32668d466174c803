/** The syslog receiver over real TCP and TLS sockets. */
import { once } from 'node:events';
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type SyslogReceiver, startSyslogReceiver } from '.';
import { octetCounted } from './syslog';
import { envelope, receiverTestKit } from './test-support';

const kit = receiverTestKit();

function rfc5424(msg: string, msgId = 'siem'): string {
  return `<134>1 2024-06-05T11:50:06.389Z collector-1 mimecast-collector 4242 ${msgId} - ${msg}`;
}

async function open(r: SyslogReceiver): Promise<Socket> {
  const socket =
    r.transport === 'tls'
      ? tlsConnect({ host: '127.0.0.1', port: r.port, ca: r.ca })
      : tcpConnect({ host: '127.0.0.1', port: r.port });
  socket.on('error', () => {});
  await once(socket, r.transport === 'tls' ? 'secureConnect' : 'connect');
  return socket;
}

/** Resolves when the socket closes (events.once would reject on the reset's 'error'). */
function closing(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Polls `check` (bounded: 200 tries, 10 ms apart) until it holds; the receiver works asynchronously. */
async function until(check: () => boolean): Promise<void> {
  for (let n = 0; n < 200 && !check(); n++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

describe('syslog receiver', () => {
  it('reads RFC 6587 octet-counted RFC 5424 messages over TCP, lengths in bytes', async () => {
    const r = kit.track(await startSyslogReceiver());
    expect(r.url).toBe(`tcp://127.0.0.1:${r.port}`);
    const socket = await open(r);
    const multiByte = envelope(2, 'siem', { subject: 'Grüße – ✓' });
    // Two frames in one write, one frame split across writes.
    socket.write(
      Buffer.concat([
        octetCounted(rfc5424(JSON.stringify(envelope(1)))),
        octetCounted(rfc5424(`\ufeff${JSON.stringify(multiByte)}`)),
      ]),
    );
    const third = octetCounted(rfc5424(JSON.stringify(envelope(3)), 'audit'));
    socket.write(third.subarray(0, 7));
    socket.write(third.subarray(7));
    await until(() => r.messages().length === 3);
    expect(r.ids()).toEqual(['id-1', 'id-2', 'id-3']);
    expect(r.received()[1]).toEqual(multiByte);
    expect(r.messages()[2]).toMatchObject({
      pri: 134,
      facility: 16,
      severity: 6,
      version: 1,
      timestamp: '2024-06-05T11:50:06.389Z',
      hostname: 'collector-1',
      appName: 'mimecast-collector',
      procId: '4242',
      msgId: 'audit',
      structuredData: '-',
    });
    socket.end();
  });

  it('keeps structured data and flags messages whose header is not RFC 5424', async () => {
    const r = kit.track(await startSyslogReceiver());
    const socket = await open(r);
    socket.write(octetCounted('<14>1 - host app - ID [origin ip="127.0.0.1" x="a\\]b"][meta n="1"] hello'));
    socket.write(octetCounted('<14>Jun  5 11:50:06 host app: BSD style'));
    socket.write(octetCounted('<14>1 yesterday host app - ID - bad time'));
    await until(() => r.messages().length === 3);
    const [sd, bsd, time] = r.messages();
    expect(sd.structuredData).toBe('[origin ip="127.0.0.1" x="a\\]b"][meta n="1"]');
    expect(sd.msg).toBe('hello');
    expect(sd.parseError).toBeUndefined();
    expect(bsd.parseError).toBe('header does not match RFC 5424');
    expect(time.parseError).toBe('TIMESTAMP is not RFC 3339');
    expect(r.received()).toHaveLength(0);
    socket.end();
  });

  it('closes the connection on a frame header it cannot read, losing what follows', async () => {
    const r = kit.track(await startSyslogReceiver());
    const socket = await open(r);
    const closed = closing(socket);
    socket.write(
      Buffer.concat([
        octetCounted(rfc5424(JSON.stringify(envelope(1)))),
        Buffer.from(`${rfc5424('no count')}\n`),
        octetCounted(rfc5424(JSON.stringify(envelope(2)))),
      ]),
    );
    await closed;
    expect(r.ids()).toEqual(['id-1']);
    expect(r.frameErrors()).toEqual([
      { connection: 1, error: expect.stringMatching(/^invalid frame header/) },
    ]);
    expect(r.connections()[0].closedBy).toBe('framing-error');
  });

  it('closes the connection on a frame over maxFrameBytes', async () => {
    const r = kit.track(await startSyslogReceiver({ maxFrameBytes: 100 }));
    const socket = await open(r);
    const closed = closing(socket);
    const message = rfc5424('x'.repeat(200));
    socket.write(octetCounted(message));
    await closed;
    expect(r.frameErrors()[0].error).toBe(
      `frame of ${Buffer.byteLength(message)} bytes is over the limit of 100`,
    );
    expect(r.messages()).toHaveLength(0);
  });

  it('discards a frame cut short by the sender closing, keeping the whole ones', async () => {
    const r = kit.track(await startSyslogReceiver());
    const socket = await open(r);
    const whole = octetCounted(rfc5424(JSON.stringify(envelope(1))));
    const partial = octetCounted(rfc5424(JSON.stringify(envelope(2)))).subarray(0, 30);
    socket.end(Buffer.concat([whole, partial]));
    await until(() => r.frameErrors().length === 1);
    expect(r.ids()).toEqual(['id-1']);
    expect(r.frameErrors()[0].error).toBe('connection ended inside a frame (30 bytes kept back)');
  });

  it('drops the connection mid-batch on a drop fault: messages after it are lost', async () => {
    const r = kit.track(await startSyslogReceiver());
    r.inject({ kind: 'drop', afterMessages: 2 });
    const socket = await open(r);
    const closed = closing(socket);
    socket.write(Buffer.concat([1, 2, 3, 4].map((n) => octetCounted(rfc5424(JSON.stringify(envelope(n)))))));
    await closed;
    expect(r.ids()).toEqual(['id-1', 'id-2']);
    expect(r.connections()[0].closedBy).toBe('fault');
    expect(r.pendingFaults()).toBe(0);
    const again = await open(r);
    again.write(octetCounted(rfc5424(JSON.stringify(envelope(3)))));
    await until(() => r.ids().length === 3);
    again.end();
  });

  it('accepts then closes connections past maxConnections, as rsyslog does', async () => {
    const r = kit.track(await startSyslogReceiver({ maxConnections: 1 }));
    const first = await open(r);
    const second = await open(r);
    await closing(second);
    expect(r.connections().map((c) => c.closedBy)).toEqual([undefined, 'too-many-connections']);
    first.write(octetCounted(rfc5424(JSON.stringify(envelope(1)))));
    await until(() => r.ids().length === 1);
    first.end();
  });

  it('stops reading while paused, so a sender stops draining; resumes and reads it all', async () => {
    const r = kit.track(await startSyslogReceiver());
    r.pause();
    const socket = await open(r);
    const frame = octetCounted(rfc5424(JSON.stringify(envelope(1, 'siem', { pad: 'p'.repeat(60_000) }))));
    let writes = 0;
    // Bounded: stop when write() reports a full buffer (no drain), or after 2,000 frames.
    while (writes < 2_000 && socket.write(frame)) writes += 1;
    expect(writes).toBeLessThan(2_000);
    expect(r.messages()).toHaveLength(0);
    const drained = once(socket, 'drain');
    r.resume();
    await drained;
    await until(() => r.messages().length === writes + 1);
    socket.end();
  });

  it('speaks TLS with a certificate made at start that the client trusts', async () => {
    const r = kit.track(await startSyslogReceiver({ transport: 'tls' }));
    expect(r.url).toBe(`tls://127.0.0.1:${r.port}`);
    expect(r.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const socket = await open(r);
    expect((socket as import('node:tls').TLSSocket).authorized).toBe(true);
    socket.write(octetCounted(rfc5424(JSON.stringify(envelope(1)))));
    await until(() => r.ids().length === 1);
    socket.end();
    // A client that does not trust it is refused by its own TLS check.
    const untrusting = tlsConnect({ host: '127.0.0.1', port: r.port });
    const [error] = (await once(untrusting, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });
});
