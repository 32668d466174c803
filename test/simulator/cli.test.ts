import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { HELP, parseCli } from './cli';
import { DEFAULT_VARIANTS } from './options';
import { http, json } from './sim-client';

describe('command-line parsing', () => {
  test('flags become simulator options', () => {
    const { settings, problems } = parseCli([
      '--port',
      '8080',
      '--events',
      '50',
      '--events-for',
      'siem=10',
      '--seed',
      '7',
      '--variant',
      'pagingEnd=trailing-empty-page',
      '--variant',
      'v1DateSuffixes=UTC',
      '--variant',
      'v1SiemInvalidTokenStatus=400',
      '--variant',
      'threatFeedTokenOnLastFile=true',
      '--rate-limit',
      '50/0.5',
      '--v1-log-types',
      'receipt,process',
      '--publish-every',
      '30',
    ]);
    expect(problems).toEqual([]);
    expect(settings?.options).toMatchObject({
      port: 8080,
      seed: 7,
      events: { siem: 10, audit: 50, 'malware-grid': 50 },
      variants: {
        pagingEnd: 'trailing-empty-page',
        v1DateSuffixes: ['UTC'],
        v1SiemInvalidTokenStatus: 400,
        threatFeedTokenOnLastFile: true,
      },
      rateLimit: { capacity: 50, refillPerSecond: 0.5 },
      siem: { v1LogTypes: ['receipt', 'process'] },
    });
    expect(settings?.publishEverySeconds).toBe(30);
  });

  test('every problem is reported at once', () => {
    const { settings, problems } = parseCli([
      '--port',
      'abc',
      '--variant',
      'nope=1',
      '--rate-limit',
      'fast',
      '--events-for',
      'mail=3',
    ]);
    expect(settings).toBeUndefined();
    expect(problems).toHaveLength(4);
    expect(parseCli(['--no-such-flag']).problems[0]).toMatch(/no-such-flag/);
  });

  test('--help documents every option and every variant with its default', () => {
    for (const flag of [
      '--port',
      '--seed',
      '--events',
      '--events-for',
      '--v1-file-format',
      '--v1-events-per-file',
      '--v2-events-per-file',
      '--batch-url-ttl-ms',
      '--token-expires-in',
      '--rate-limit',
      '--token-rate-limit',
      '--variant',
      '--publish-every',
      '--write-credentials',
      '--log-requests',
    ]) {
      expect(HELP).toContain(flag);
    }
    for (const name of Object.keys(DEFAULT_VARIANTS)) expect(HELP).toContain(`${name}=`);
  });
});

test('the CLI prints URL and credentials, serves, and stops cleanly on SIGTERM', async () => {
  const tsx = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const child = spawn(
    process.execPath,
    [tsx, join(__dirname, 'cli.ts'), '--port', '0', '--events', '5', '--seed', '3'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!/Press Ctrl\+C/.test(output) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const clientId = /MIMECAST_CLIENT_ID='([^']+)'/.exec(output)?.[1];
    const clientSecret = /MIMECAST_CLIENT_SECRET='([^']+)'/.exec(output)?.[1];
    expect(url).toBeDefined();
    expect(output).toMatch(/MIMECAST_ACCESS_KEY='[^']+'/);
    expect(output).toMatch(/MIMECAST_SECRET_KEY='[A-Za-z0-9+/=]+'/);
    const token = await http(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: clientId ?? '',
        client_secret: clientSecret ?? '',
        grant_type: 'client_credentials',
      }).toString(),
    });
    expect(json(token).token_type).toBe('Bearer');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('SIGTERM: stopping');
}, 30_000);
