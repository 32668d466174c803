/**
 * A cheap, suite-wide secret-leak guard (jest `setupFilesAfterEnv`): records everything each test
 * file writes to stdout/stderr or through `console`, and after the file fails it if that output holds
 * a credential the test fixtures are known to use, in any of the encodings test/support/leak-scan.ts
 * knows (raw, JSON-escaped, base64, hex, URL, `Bearer `/`Splunk ` forms, the decoded HMAC key...).
 *
 * The known credentials: the Mimecast simulator's (derived from its seed exactly as
 * test/simulator/index.ts derives them, for the seeds the suite uses; global-leak-guard.test.ts
 * checks the derivation against the simulator), the client tests' fixed credentials, and the AWS
 * stub's secret access key. Values only: no shape heuristics, so no false alarms on test output.
 *
 * Output a test captures itself (test/support/capture-output.ts) never reaches the terminal and is
 * not seen here; test/security/secret-leak.test.ts scans exactly that output, tick by tick.
 */
import { format } from 'node:util';
import { Rng, saltOf } from '../simulator/random';
import { secretEncodings } from '../support/leak-scan';

/** Seeds of startSimulator in the suite: the default (1), the small ones tests pass, and the demo's. */
export const GUARDED_SEEDS: readonly number[] = [...Array.from({ length: 33 }, (_, i) => i), 20261121];

/** The simulator's credentials for a seed, derived as test/simulator/index.ts deriveCredentials does. */
export function simulatorCredentials(seed: number): Record<string, string> {
  const rng = Rng.of(seed, saltOf('credentials'));
  const secretBytes = Buffer.from(Array.from({ length: 64 }, () => rng.int(0, 255)));
  return {
    appId: rng.uuid(),
    appKey: rng.uuid(),
    accessKey: `mYtOL3XZ${rng.base64url(78)}`,
    secretKey: secretBytes.toString('base64'),
    clientId: rng.base64url(32),
    clientSecret: rng.base64url(48),
  };
}

/** test/mimecast/support/server.ts v1Credentials / v2Credentials (kept literal: no import of a test module here). */
const CLIENT_TEST_CREDENTIALS = {
  appKey: 'app-key-1',
  accessKey: 'access-key-1',
  secretKey: Buffer.from('secret-key-bytes-1').toString('base64'),
  clientSecret: 'client-secret-1',
};

/** test/aws-stub/index.ts: the dummy secret access key its SigV4 clients sign with. */
export const AWS_STUB_SECRET_ACCESS_KEY = 'stub-secret-access-key';

export function knownTestSecrets(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const seed of GUARDED_SEEDS) {
    for (const [field, value] of Object.entries(simulatorCredentials(seed)))
      out[`simulator seed ${seed} ${field}`] = value;
  }
  for (const [field, value] of Object.entries(CLIENT_TEST_CREDENTIALS)) out[`client tests ${field}`] = value;
  out['AWS stub secret access key'] = AWS_STUB_SECRET_ACCESS_KEY;
  return out;
}

/** Every needle is at least this long, so one lookup per position finds them all. */
const PREFIX = 8;

export interface Finding {
  secret: string;
  encoding: string;
}

/** A scanner over many needles: index by their first characters, so a scan costs one lookup per position. */
export function createScanner(secrets: Record<string, string>): (text: string) => Finding[] {
  const byPrefix = new Map<string, Array<{ secret: string; encoding: string; text: string }>>();
  for (const encoding of secretEncodings(secrets)) {
    if (encoding.text.length < PREFIX) continue;
    const key = encoding.text.slice(0, PREFIX);
    const list = byPrefix.get(key);
    if (list === undefined) byPrefix.set(key, [encoding]);
    else list.push(encoding);
  }
  return (text) => {
    const found = new Map<string, Finding>();
    for (let i = 0; i + PREFIX <= text.length; i += 1) {
      const candidates = byPrefix.get(text.slice(i, i + PREFIX));
      if (candidates === undefined) continue;
      for (const c of candidates) {
        if (text.startsWith(c.text, i))
          found.set(`${c.secret}\u0000${c.encoding}`, { secret: c.secret, encoding: c.encoding });
      }
    }
    return [...found.values()];
  };
}

/** Output is scanned in batches of this size, keeping an overlap so a secret across two writes is found. */
const BATCH_CHARS = 4 * 1024 * 1024;
const OVERLAP_CHARS = 1024;

const GUARD = Symbol.for('mimecast-collector.global-leak-guard');

interface Guard {
  findings: Map<string, Finding & { where: string }>;
  record(where: string, text: string): void;
  flush(): void;
}

function install(): Guard {
  const scan = createScanner(knownTestSecrets());
  const findings = new Map<string, Finding & { where: string }>();
  let pending = '';
  const flush = () => {
    for (const f of scan(pending))
      findings.set(`${f.secret}\u0000${f.encoding}`, { ...f, where: 'test output' });
    pending = pending.slice(-OVERLAP_CHARS);
  };
  const guard: Guard = {
    findings,
    record(_where, text) {
      pending += text;
      if (pending.length > BATCH_CHARS) flush();
    },
    flush,
  };

  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    const original = originals[i];
    const wrapped = function (this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
      guard.record(
        'stream',
        typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'),
      );
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    };
    (wrapped as unknown as Record<symbol, unknown>)[GUARD] = true;
    stream.write = wrapped as typeof stream.write;
  });
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleOriginals = methods.map((m) => console[m]);
  methods.forEach((method, i) => {
    const original = consoleOriginals[i];
    console[method] = (...args: unknown[]) => {
      guard.record('console', `${format(...args)}\n`);
      original.apply(console, args);
    };
  });

  afterAll(() => {
    streams.forEach((stream, i) => {
      // Put back only our own wrapper: a test that replaced it since owns what is there now.
      if ((stream.write as unknown as Record<symbol, unknown>)[GUARD])
        stream.write = originals[i] as typeof stream.write;
    });
    methods.forEach((method, i) => {
      console[method] = consoleOriginals[i];
    });
    guard.flush();
    if (findings.size > 0) {
      const list = [...findings.values()].slice(0, 20).map((f) => `  ${f.secret} as ${f.encoding}`);
      throw new Error(
        `Secret leak guard: this test file printed ${findings.size} known test credential(s) (values not shown):\n${list.join('\n')}\n` +
          'Find the log line or error that carries it (test/security/secret-leak.test.ts shows how to scan one tick).',
      );
    }
  });
  return guard;
}

/** Installed once per test file; exported for global-leak-guard.test.ts. */
export const guard: Guard =
  ((globalThis as Record<symbol, unknown>)[GUARD] as Guard | undefined) ?? install();
(globalThis as Record<symbol, unknown>)[GUARD] = guard;
