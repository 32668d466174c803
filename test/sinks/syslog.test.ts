/**
 * The syslog destination against the loopback syslog receiver (test/receivers/syslog.ts), over TCP and
 * TLS: RFC 5424 messages in octet-counted frames (multi-byte UTF-8 counted in octets), the URL and CA
 * settings' errors, and each failure: a reset mid-batch, a receiver that stops reading, one connection
 * too many, an untrusted certificate, a message over the limit. A failed send never resolves, so the
 * engine never moves a checkpoint over it; the batch is sent again whole.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as connectTls } from 'node:tls';
import { formatLagAlarmSeconds, parseLambdaConfig } from '../../lambda/config';
import type { Envelope } from '../../lambda/core/envelope';
import { streamsFor } from '../../lambda/core/streams';
import { ConfigError, SinkRejectedError, ThrottledError, TransientError } from '../../lambda/errors';
import { parseCollectorSettings, SETTINGS_FLAG_NAMES, validateSinkUrl } from '../../lambda/settings';
import { createDestination, type Destination } from '../../lambda/sinks';
import { envelopeJson } from '../../lambda/sinks/format';
import { octetCountedFrame, SYSLOG_PRI, syslogMessage } from '../../lambda/sinks/syslog-message';
import { nextFrame, parseSyslog, type SyslogReceiver, startSyslogReceiver } from '../receivers/syslog';
import { budget, envelope, envelopes, FAST_RETRY, rejectionOf } from './fixtures';

let receiver: SyslogReceiver | undefined;
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

const syslog = (url: string, extra: { ca?: string; max?: number } = {}): Destination =>
  createDestination(
    {
      sinkFormat: 'syslog',
      sinkUrl: url,
      ...(extra.ca === undefined ? {} : { sinkCa: extra.ca }),
      ...(extra.max === undefined ? {} : { syslogMaxMessageBytes: extra.max }),
    },
    { retry: { ...FAST_RETRY, attemptTimeoutMs: 500 } },
  );

const multiByte = (): Envelope => ({
  ...envelope(7, 'audit', 'authentication_logs'),
  event: { user: 'Zoë Müller', note: '日本語 ✓ 🙂', line: 'a\nb' },
});

describe('message and frame', () => {
  test('RFC 5424 header: local0.info, the event time, instance, app, pid, stream; MSG the envelope JSON', () => {
    const e = multiByte();
    const message = syslogMessage(e, '4242');
    expect(message).toBe(`<134>1 ${e.time} acme-prod mimecast-collector 4242 audit - ${envelopeJson(e)}`);
    expect(SYSLOG_PRI).toBe(16 * 8 + 6);
    const parsed = parseSyslog(Buffer.from(message, 'utf8'));
    expect(parsed.parseError).toBeUndefined();
    expect(parsed).toMatchObject({
      facility: 16,
      severity: 6,
      appName: 'mimecast-collector',
      msgId: 'audit',
    });
    expect(parsed.envelope).toEqual(e);
  });

  test('the octet count is bytes of UTF-8, not characters', () => {
    const message = syslogMessage(multiByte(), '1');
    const frame = octetCountedFrame(message);
    const length = Number(/^(\d+) /.exec(frame.toString('latin1'))![1]);
    expect(length).toBe(Buffer.byteLength(message, 'utf8'));
    expect(length).toBeGreaterThan(message.length);
    const read = nextFrame(frame, 200_000);
    expect(read !== 'incomplete' && 'message' in read && read.message.toString('utf8')).toBe(message);
  });

  test('a time that is not a date is sent as the NILVALUE; odd header characters are replaced', () => {
    const message = syslogMessage({ ...envelope(1), time: 'sometime', instance: 'a b' }, '');
    expect(message).toMatch(/^<134>1 - a_b mimecast-collector - siem - \{/);
  });
});

describe('URL and CA settings', () => {
  const problem = (text: string) => {
    const checked = validateSinkUrl(text);
    return checked.ok ? checked.value : checked.problem;
  };

  test('tls:// anywhere, tcp:// only on loopback, host and port only, default ports', () => {
    expect(problem('tls://syslog.example.com:6514')).toBe('tls://syslog.example.com:6514');
    expect(problem('tls://syslog.example.com')).toBe('tls://syslog.example.com:6514');
    expect(problem('tcp://127.0.0.1:1514')).toBe('tcp://127.0.0.1:1514');
    expect(problem('tcp://[::1]')).toBe('tcp://[::1]:514');
    expect(problem('tcp://syslog.example.com:514')).toMatch(
      /uses tcp, which sends the logs unencrypted; use tls:\/\//,
    );
    expect(problem('tls://u:p@syslog.example.com')).toMatch(/must not contain a user name or password/);
    expect(problem('tls://syslog.example.com/path')).toMatch(/host and port only/);
    expect(problem('tls://syslog.example.com:0')).toMatch(/port 0/);
  });

  const settings = (flags: Record<string, string>) => {
    try {
      parseCollectorSettings(
        {
          instance: 'local',
          apiVersion: '2',
          mimecastBaseUrl: 'https://api.services.mimecast.com',
          streams: 'audit',
          ...flags,
        },
        SETTINGS_FLAG_NAMES,
        'command line',
      );
      return [];
    } catch (error) {
      return (error as ConfigError).problems.map((p) => `${p.field}: ${p.problem}`);
    }
  };

  test('the format and the URL scheme must agree; the syslog settings belong to syslog', () => {
    expect(settings({ sinkFormat: 'syslog', sinkUrl: 'https://siem.example.com/in' })).toEqual([
      expect.stringMatching(/^--sink-url: --sink-format syslog takes tls:\/\/<host>:<port>/),
    ]);
    expect(settings({ sinkFormat: 'ndjson', sinkUrl: 'tls://siem.example.com:6514' })).toEqual([
      '--sink-url: is a tls:// URL: use --sink-format syslog',
    ]);
    expect(
      settings({
        sinkFormat: 'ndjson',
        sinkUrl: 'https://siem.example.com/in',
        syslogMaxMessageBytes: '65536',
      }),
    ).toEqual(['--syslog-max-message-bytes: is for --sink-format syslog; the format is ndjson']);
    expect(
      settings({ sinkFormat: 'syslog', sinkUrl: 'tcp://127.0.0.1:514', syslogMaxMessageBytes: '100' }),
    ).toEqual([expect.stringMatching(/^--syslog-max-message-bytes: 100 is out of range/)]);
  });

  test('--sink-ca-file: unreadable, not PEM, or with tcp:// is refused by its flag name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'syslog-ca-'));
    try {
      const notPem = path.join(dir, 'ca.txt');
      await writeFile(notPem, 'hello');
      expect(
        settings({ sinkFormat: 'syslog', sinkUrl: 'tls://h:6514', sinkCa: path.join(dir, 'missing.pem') }),
      ).toEqual([expect.stringMatching(/^--sink-ca-file: ".*missing\.pem" cannot be read \(ENOENT\)/)]);
      expect(settings({ sinkFormat: 'syslog', sinkUrl: 'tls://h:6514', sinkCa: notPem })).toEqual([
        expect.stringMatching(/^--sink-ca-file: ".*ca\.txt" holds no PEM certificate/),
      ]);
      receiver = await startSyslogReceiver({ transport: 'tls' });
      const pem = path.join(dir, 'ca.pem');
      await writeFile(pem, receiver.ca!);
      expect(settings({ sinkFormat: 'syslog', sinkUrl: 'tls://h:6514', sinkCa: pem })).toEqual([]);
      expect(settings({ sinkFormat: 'syslog', sinkUrl: 'tcp://127.0.0.1:514', sinkCa: pem })).toEqual([
        '--sink-ca-file: is for a tls:// --sink-url; a tcp:// receiver has no certificate',
      ]);
      expect(settings({ sinkFormat: 'ndjson', sinkUrl: 'https://h/in', sinkCa: pem })).toEqual([
        '--sink-ca-file: is for --sink-format syslog; the format is ndjson',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the function refuses SINK_FORMAT syslog: it is for the command line', () => {
    let error: unknown;
    try {
      parseLambdaConfig({
        COLLECTOR_INSTANCE: 'prod',
        MIMECAST_API_VERSION: '2',
        MIMECAST_BASE_URL: 'https://api.services.mimecast.com',
        SINK_FORMAT: 'syslog',
        SINK_URL: 'tls://syslog.example.com:6514',
        SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:collector-AbCdEf',
        CHECKPOINT_TABLE: 'MimecastCollector-prod-Checkpoints',
        LAG_ALARM_SECONDS: formatLagAlarmSeconds(Object.fromEntries(streamsFor(2).map((s) => [s, 7200]))),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      {
        field: 'SINK_FORMAT',
        problem:
          'syslog is for the command line (the stack offers no network path or CA for it); use s3 or an HTTP format',
      },
    ]);
  });

  test('createDestination refuses a bad URL with a ConfigError', () => {
    expect(() => createDestination({ sinkFormat: 'syslog', sinkUrl: 'tcp://10.0.0.1:514' })).toThrow(
      ConfigError,
    );
  });
});

describe.each(['tcp', 'tls'] as const)('over %s', (transport) => {
  const start = async () => {
    receiver = await startSyslogReceiver({ transport });
    return syslog(receiver.url, { ...(receiver.ca === undefined ? {} : { ca: receiver.ca }) });
  };

  test('a batch arrives whole, in order, one connection per batch; sizeOf is the frame', async () => {
    const sink = await start();
    const batch = [...envelopes(4), multiByte()];
    const { bytes } = await sink.send(batch, budget(5_000));
    await sink.send(envelopes(2, 'dlp'), budget(5_000));
    expect(receiver!.ids()).toEqual([...batch, ...envelopes(2, 'dlp')].map((e) => e.id));
    expect(receiver!.received()[4]).toEqual(multiByte());
    expect(bytes).toBe(batch.reduce((n, e) => n + sink.sizeOf(e), 0));
    expect(receiver!.frameErrors()).toEqual([]);
    expect(receiver!.messages().every((m) => m.parseError === undefined)).toBe(true);
    expect(receiver!.connections().map((c) => [c.messages, c.closedBy])).toEqual([
      [5, 'client'],
      [2, 'client'],
    ]);
  });

  test('a reset after part of the batch: the send fails over and the whole batch goes again', async () => {
    const sink = await start();
    receiver!.inject({ kind: 'drop', afterMessages: 2 });
    const batch = envelopes(5);
    await sink.send(batch, budget(5_000));
    const ids = receiver!.ids();
    expect(ids.slice(0, 2)).toEqual(batch.slice(0, 2).map((e) => e.id));
    expect(ids.slice(2)).toEqual(batch.map((e) => e.id));
    expect(receiver!.connections()[0]!.closedBy).toBe('fault');
  });

  test('resets every time: a retryable error within the budget, never a resolved send', async () => {
    const sink = await start();
    receiver!.inject(...Array.from({ length: 10 }, () => ({ kind: 'drop' as const, afterMessages: 1 })));
    const error = await rejectionOf(sink.send(envelopes(3), budget(5_000)));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/3 events not delivered after 6 attempts/);
  });

  // Over TCP a receiver that closes cleanly after reading frames looks like delivery (no RELP); over TLS
  // RFC 5425 asks it to answer our close_notify with its own, so a close without one is caught.
  if (transport === 'tls') {
    test.each([2, 5])(
      'a close without close_notify after %i of 5 frames: the whole batch goes again',
      async (afterMessages) => {
        const sink = await start();
        receiver!.inject({ kind: 'drop', afterMessages, how: 'close' });
        const batch = envelopes(5);
        await sink.send(batch, budget(5_000));
        const ids = receiver!.ids();
        expect(ids.slice(0, afterMessages)).toEqual(batch.slice(0, afterMessages).map((e) => e.id));
        expect(ids.slice(afterMessages)).toEqual(batch.map((e) => e.id));
        expect(receiver!.connections().map((c) => c.closedBy)).toEqual(['fault', 'client']);
      },
    );

    test('never a close_notify: a retryable error naming RFC 5425, never a resolved send', async () => {
      const sink = await start();
      receiver!.inject(
        ...Array.from({ length: 10 }, () => ({
          kind: 'drop' as const,
          afterMessages: 3,
          how: 'close' as const,
        })),
      );
      const error = await rejectionOf(sink.send(envelopes(3), budget(5_000)));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toMatch(
        /3 events not delivered after \d+ attempts \(the receiver closed the TCP connection without a TLS close_notify \(RFC 5425/,
      );
    });
  }

  test('a receiver that stops reading: bounded by the attempt timeout and the budget, then retryable', async () => {
    const sink = await start();
    receiver!.pause();
    const started = Date.now();
    const error = await rejectionOf(sink.send(envelopes(3), budget(1_500)));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error.message).toMatch(/no progress within 1s while waiting for the receiver to close/);
    receiver!.resume();
  });

  test('a message over the limit refuses the batch before anything is sent, naming stream and event', async () => {
    receiver = await startSyslogReceiver({ transport });
    const sink = syslog(receiver.url, {
      max: 2_048,
      ...(receiver.ca === undefined ? {} : { ca: receiver.ca }),
    });
    const big = { ...envelope(3, 'audit'), event: { blob: 'x'.repeat(3_000) } };
    const error = await rejectionOf(sink.send([envelope(1, 'audit'), big], budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect(error.message).toContain(`event ${big.id} of stream audit is`);
    expect(error.message).toMatch(/over the 2048 allowed \(--syslog-max-message-bytes\)/);
    expect(receiver.connections()).toEqual([]);
  });
});

test.each(['tcp', 'tls'] as const)(
  '%s: one connection too many is closed at once; the send fails (busy) until a slot is free',
  async (transport) => {
    receiver = await startSyslogReceiver({ transport, maxConnections: 1 });
    const hog: Socket =
      transport === 'tls'
        ? connectTls({ port: receiver.port, host: '127.0.0.1', ca: receiver.ca! })
        : connect(receiver.port, '127.0.0.1');
    await new Promise((resolve) => hog.once(transport === 'tls' ? 'secureConnect' : 'connect', resolve));
    await waitFor(() => receiver!.connections().length === 1);
    const sink = syslog(receiver.url, { ...(receiver.ca === undefined ? {} : { ca: receiver.ca }) });
    try {
      const error = await rejectionOf(sink.send(envelopes(2), budget(1_000)));
      expect(error).toBeInstanceOf(ThrottledError);
      expect(error.message).toMatch(/closed the connection at once/);
      expect(receiver.ids()).toEqual([]);
      expect(receiver.connections().some((c) => c.closedBy === 'too-many-connections')).toBe(true);
    } finally {
      hog.destroy();
    }
    await waitFor(() => receiver!.connections()[0]!.closedBy !== undefined);
    await sink.send(envelopes(2), budget(5_000));
    expect(receiver.ids()).toEqual(envelopes(2).map((e) => e.id));
  },
);

/** Polls every 10 ms, for at most 2 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const until = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('tls: an untrusted certificate refuses at once, naming --sink-ca-file; nothing is sent', async () => {
  receiver = await startSyslogReceiver({ transport: 'tls' });
  const sink = syslog(receiver.url);
  const error = await rejectionOf(sink.send(envelopes(2), budget(5_000)));
  expect(error).toBeInstanceOf(SinkRejectedError);
  expect(error.message).toMatch(/certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/);
  expect((error as SinkRejectedError).remedy).toMatch(/--sink-ca-file/);
  expect(receiver.ids()).toEqual([]);
});

describe('probe', () => {
  test('tcp and tls: connects, sends nothing', async () => {
    receiver = await startSyslogReceiver({ transport: 'tls' });
    expect(await syslog(receiver.url, { ca: receiver.ca! }).probe(budget(5_000))).toEqual({
      ok: true,
      result: 'OK (TLS handshake, certificate trusted)',
    });
    expect(receiver.messages()).toEqual([]);
    expect(receiver.connections()).toHaveLength(1);
  });

  test('untrusted certificate, refused, timed out', async () => {
    receiver = await startSyslogReceiver({ transport: 'tls' });
    const untrusted = await syslog(receiver.url).probe(budget(5_000));
    expect(untrusted).toMatchObject({ ok: false, result: 'certificate not trusted' });
    expect(untrusted.detail?.remedy).toMatch(/--sink-ca-file/);
    const port = receiver.port;
    await receiver.stop();
    receiver = undefined;
    const refused = await syslog(`tcp://127.0.0.1:${port}`).probe(budget(5_000));
    expect(refused).toMatchObject({ ok: false, result: 'connection refused' });
    expect(refused.detail?.message).toMatch(/ECONNREFUSED/);
    // A server that accepts and never answers the TLS handshake.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket.on('error', () => {})));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port: silentPort } = silent.address() as AddressInfo;
      const timedOut = await syslog(`tls://127.0.0.1:${silentPort}`).probe(budget(300));
      expect(timedOut).toMatchObject({ ok: false, result: 'timed out' });
      expect(timedOut.detail?.message).toMatch(/while connecting/);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
