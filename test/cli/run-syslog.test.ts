/**
 * The command line with the syslog destination: `run --until-caught-up --sink-format syslog` into the
 * loopback receiver over TCP and over TLS (its CA from `--sink-ca-file`), a second run adding nothing,
 * and `verify` against the receiver (OK, untrusted certificate with the remedy, refused).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../bin/cli/run';
import { verifyCommand } from '../../bin/cli/verify';
import { type SyslogReceiver, startSyslogReceiver } from '../receivers/syslog';
import { type RunningSimulator, startSimulator } from '../simulator';
import { type CapturedIO, captureIO } from './cli-io';

let dir: string;
let sim: RunningSimulator;
let receiver: SyslogReceiver | undefined;

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, events: { audit: 12, 'ttp-url': 7 } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mimecast-run-syslog-'));
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
  MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
});

/** The receiver's CA as a file, as a user would hand it over. */
async function caFile(r: SyslogReceiver): Promise<string> {
  const file = path.join(dir, 'receiver-ca.pem');
  await writeFile(file, r.ca!);
  return file;
}

test.each(['tcp', 'tls'] as const)(
  'run --sink-format syslog over %s; a second run adds nothing',
  async (transport) => {
    receiver = await startSyslogReceiver({ transport });
    const r = receiver;
    const ca = transport === 'tls' ? ['--sink-ca-file', await caFile(r)] : [];
    const start = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const run = async () => {
      const io = captureIO(env());
      const code = await runCommand(
        [
          ...['--until-caught-up', '--streams', 'audit,ttp-url', '--start', start, '--mimecast-url', sim.url],
          ...['--sink-format', 'syslog', '--sink-url', r.url, ...ca],
          ...['--state-dir', path.join(dir, 'state')],
        ],
        io,
      );
      return { code, io };
    };
    const first = await run();
    expect({ code: first.code, err: first.io.errLines }).toEqual({ code: 0, err: [] });
    expect(first.io.text()).toContain(`into ${r.url} (syslog)`);
    const delivered = r.ids().length;
    expect(delivered).toBeGreaterThan(0);
    expect(new Set(r.ids()).size).toBe(delivered);
    expect(new Set(r.messages().map((m) => m.msgId))).toEqual(new Set(['audit', 'ttp-url']));
    const second = await run();
    expect(second.code).toBe(0);
    expect(r.ids().length).toBe(delivered);
  },
);

test('run refuses a plain tcp:// receiver elsewhere and an out-of-range message limit, by flag name', async () => {
  const io = captureIO(env());
  const code = await runCommand(
    [
      ...['--once', '--streams', 'audit', '--mimecast-url', sim.url, '--state-dir', path.join(dir, 'state')],
      ...['--sink-format', 'syslog', '--sink-url', 'tcp://syslog.example.com:514'],
      ...['--syslog-max-message-bytes', '1000'],
    ],
    io,
  );
  expect(code).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(/--sink-url: uses tcp, which sends the logs unencrypted; use tls:\/\//);
  expect(err).toMatch(/--syslog-max-message-bytes: 1000 is out of range/);
});

function rows(io: CapturedIO): Record<string, string> {
  const start = io.outLines.findIndex((line) => /^stream\s+result$/.test(line));
  expect(start).toBeGreaterThanOrEqual(0);
  const out: Record<string, string> = {};
  for (const line of io.outLines.slice(start + 2)) {
    if (line.trim() === '') break;
    const [, name, result] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    out[name] = result;
  }
  return out;
}

test('verify: tls receiver trusted with --sink-ca-file, untrusted without it (remedy names the flag), refused', async () => {
  receiver = await startSyslogReceiver({ transport: 'tls' });
  const r = receiver;
  const verify = async (...flags: string[]) => {
    const io = captureIO(env());
    const code = await verifyCommand(
      ['--mimecast-url', sim.url, '--streams', 'audit', '--sink-format', 'syslog', ...flags],
      io,
    );
    return { code, io };
  };
  const ok = await verify('--sink-url', r.url, '--sink-ca-file', await caFile(r));
  expect(rows(ok.io)).toEqual({ audit: 'OK', sink: 'OK (TLS handshake, certificate trusted)' });
  expect(ok.code).toBe(0);
  expect(r.messages()).toEqual([]);

  const untrusted = await verify('--sink-url', r.url);
  expect(untrusted.code).toBe(1);
  expect(rows(untrusted.io).sink).toBe('certificate not trusted');
  expect(untrusted.io.errLines.join('\n')).toMatch(
    /what to do: Pass the receiver's CA certificate \(PEM\) with --sink-ca-file/,
  );

  const port = r.port;
  await r.stop();
  receiver = undefined;
  const refused = await verify('--sink-url', `tcp://127.0.0.1:${port}`);
  expect(refused.code).toBe(1);
  expect(rows(refused.io).sink).toBe('connection refused');
});
