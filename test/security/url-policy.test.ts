/**
 * Issue 7, network: where credentials may go.
 *
 * - Every URL the collector calls is HTTPS, except plain HTTP to a loopback host; the Mimecast URL
 *   must also be a Mimecast API host. Checked at every door: the function's configuration, the
 *   Mimecast client, the sink, the command line (`run`, `verify`), and the pre-signed batch-file
 *   URLs a listing hands out.
 * - Redirects are never followed. A loopback "Mimecast" or receiver answers 301/302/303/307/308
 *   pointing at a second loopback server on another port: that second server must receive nothing
 *   (no signature, no bearer token, no client secret, no sink token, no events).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Agent } from 'undici';
import type { CliIO } from '../../bin/cli/io';
import { runCommand } from '../../bin/cli/run';
import { verifyCommand } from '../../bin/cli/verify';
import { parseLambdaConfig, validateMimecastBaseUrl, validateSinkUrl } from '../../lambda/config';
import type { Envelope } from '../../lambda/core/envelope';
import { ENV } from '../../lambda/env-names';
import {
  CollectorError,
  ConfigError,
  ProtocolError,
  RequestError,
  SinkRejectedError,
} from '../../lambda/errors';
import { createMimecastClient } from '../../lambda/mimecast';
import { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from '../../lambda/mimecast/hosts';
import { createHttpSink } from '../../lambda/sinks';
import { budget, v1Credentials, v2Credentials } from '../mimecast/support/server';

// ---------------------------------------------------------------------------------------------
// Loopback servers: `first` answers as scripted, `elsewhere` only records.

interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Loopback {
  url: string;
  hits: Hit[];
  answer: (hit: Hit) => { status: number; headers?: Record<string, string>; body?: string };
  close(): Promise<void>;
}

async function loopback(): Promise<Loopback> {
  const state: Loopback = {
    url: '',
    hits: [],
    answer: () => ({ status: 500 }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const hit = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      state.hits.push(hit);
      const a = state.answer(hit);
      res
        .writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
        .end(Buffer.from(a.body ?? '', 'latin1'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

let first: Loopback;
let elsewhere: Loopback;
let dispatcher: Agent;

beforeAll(async () => {
  [first, elsewhere] = await Promise.all([loopback(), loopback()]);
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
});
afterAll(async () => {
  await dispatcher.close();
  await Promise.all([first.close(), elsewhere.close()]);
});
beforeEach(() => {
  first.hits.length = 0;
  elsewhere.hits.length = 0;
});

const REDIRECTS = [301, 302, 303, 307, 308] as const;
const redirect = (status: number, hit: Hit) => ({
  status,
  headers: { location: `${elsewhere.url}${hit.url}` },
});
/** An empty batch file (gzip of nothing), sent as latin1 so every byte survives. */
const EMPTY_GZIP = gzipSync(Buffer.alloc(0)).toString('latin1');
const TOKEN_ANSWER = {
  status: 200,
  body: JSON.stringify({ access_token: 'url-policy-bearer-token', expires_in: 1799 }),
};

function io(env: Record<string, string> = {}): CliIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), env };
}

// ---------------------------------------------------------------------------------------------
// HTTPS, and Mimecast hosts only

const MIMECAST_HOSTS = new Set(
  [...MIMECAST_V1_HOSTS, ...MIMECAST_V2_HOSTS].map((h) => new URL(h.baseUrl).hostname),
);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const anyUrl = fc.oneof(
  fc.webUrl({ validSchemes: ['http', 'https', 'ftp', 'ws'], withQueryParameters: true, withFragments: true }),
  fc.constantFrom(
    ...[...MIMECAST_HOSTS].flatMap((h) => [
      `https://${h}`,
      `http://${h}`,
      `https://${h}.evil.example`,
      `https://evil-${h}`,
    ]),
  ),
  fc.constantFrom(
    'http://127.0.0.1:8080',
    'http://localhost:1',
    'http://[::1]:2',
    'http://127.0.0.2',
    'http://0.0.0.0',
    'http://10.0.0.1',
    'http://169.254.169.254/latest',
  ),
);

describe('HTTPS, and Mimecast hosts only, outside loopback', () => {
  it('the configuration accepts a Mimecast URL only if it is HTTPS on a Mimecast host, or loopback (property)', () => {
    fc.assert(
      fc.property(anyUrl, fc.constantFrom(1 as const, 2 as const), (text, version) => {
        const check = validateMimecastBaseUrl(text, version);
        if (!check.ok) return;
        const url = new URL(check.value);
        expect(
          LOOPBACK.has(url.hostname) || (url.protocol === 'https:' && MIMECAST_HOSTS.has(url.hostname)),
        ).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('the configuration accepts a sink URL only if it is HTTPS, or plain HTTP on loopback (property)', () => {
    fc.assert(
      fc.property(anyUrl, (text) => {
        const check = validateSinkUrl(text);
        if (!check.ok) return;
        const url = new URL(check.value);
        expect(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))).toBe(
          true,
        );
        expect(url.username + url.password).toBe('');
      }),
      { numRuns: 500 },
    );
  });

  it('the Mimecast client refuses plain HTTP and hosts that are not Mimecast API hosts, outside loopback', () => {
    for (const baseUrl of [
      'http://eu-api.mimecast.com',
      'https://evil.example.com',
      'https://eu-api.mimecast.com.evil.example',
      'http://10.0.0.1',
      'ftp://127.0.0.1',
    ]) {
      for (const credentials of [v1Credentials, v2Credentials]) {
        expect({
          baseUrl,
          built: (() => {
            try {
              createMimecastClient({ baseUrl, credentials, dispatcher });
              return 'built';
            } catch (e) {
              return e instanceof ConfigError ? 'ConfigError' : String(e);
            }
          })(),
        }).toEqual({ baseUrl, built: 'ConfigError' });
      }
    }
    expect(() =>
      createMimecastClient({
        baseUrl: 'https://eu-api.mimecast.com',
        credentials: v1Credentials,
        dispatcher,
      }),
    ).not.toThrow();
    expect(() =>
      createMimecastClient({
        baseUrl: 'https://api.services.mimecast.com',
        credentials: v2Credentials,
        dispatcher,
      }),
    ).not.toThrow();
    expect(() =>
      createMimecastClient({ baseUrl: first.url, credentials: v2Credentials, dispatcher }),
    ).not.toThrow();
  });

  it('the sink refuses plain HTTP outside loopback, and credentials in its URL', () => {
    for (const url of [
      'http://siem.example.com/in',
      'http://10.0.0.1/in',
      'ftp://siem.example.com',
      'https://user:pw@siem.example.com/in',
    ]) {
      expect(() => createHttpSink({ url, format: 'ndjson', dispatcher })).toThrow(ConfigError);
    }
    expect(() =>
      createHttpSink({ url: 'https://siem.example.com/in', format: 'ndjson', dispatcher }),
    ).not.toThrow();
  });

  it('the function configuration refuses both at once', () => {
    expect(() =>
      parseLambdaConfig({
        [ENV.instance]: 'url-policy',
        [ENV.apiVersion]: '2',
        [ENV.mimecastBaseUrl]: 'https://api.services.mimecast.com.evil.example',
        [ENV.sinkUrl]: 'http://siem.example.com/in',
        [ENV.sinkFormat]: 'ndjson',
        [ENV.secretArn]: 'collector/secret',
        [ENV.checkpointTable]: 'ckpt-table',
      }),
    ).toThrow(/MIMECAST_BASE_URL: host .* is not a Mimecast API host.*SINK_URL: uses http/);
  });

  it('the command line refuses them before any call (run and verify)', async () => {
    first.answer = () => ({ status: 200, body: '{}' });
    const env = { MIMECAST_CLIENT_ID: 'url-policy-client', MIMECAST_CLIENT_SECRET: 'url-policy-secret' };
    const run = io(env);
    expect(
      await runCommand(
        ['--once', '--mimecast-url', 'https://evil.example.com', '--sink-url', 'http://siem.example.com/in'],
        run,
      ),
    ).toBe(2);
    expect(run.lines.join('\n')).toMatch(
      /--mimecast-url: host "evil.example.com" is not a Mimecast API host/,
    );
    expect(run.lines.join('\n')).toMatch(/--sink-url: uses http; only https is allowed/);
    const verify = io(env);
    expect(
      await verifyCommand(
        ['--mimecast-url', 'http://api.services.mimecast.com', '--sink-url', `http://siem.example.com/in`],
        verify,
      ),
    ).toBe(2);
    expect(verify.lines.join('\n')).toMatch(/--mimecast-url: uses http/);
    expect(first.hits).toEqual([]);
  });

  it('a batch-file URL that is not HTTPS is refused without a request, and file downloads carry no credential', async () => {
    const client = createMimecastClient({
      baseUrl: first.url,
      credentials: v2Credentials,
      dispatcher,
      retry: { maxAttempts: 1 },
      siemTypes: ['receipt'],
    });
    const source = client.source('siem');
    let fileUrl = 'http://files.example.com/batch.json.gz';
    first.answer = (hit) => {
      if (hit.url.startsWith('/oauth/token')) return TOKEN_ANSWER;
      if (hit.url.startsWith('/siem/'))
        return {
          status: 200,
          body: JSON.stringify({ value: [{ url: fileUrl }], '@nextPage': 'n', isCaughtUp: true }),
        };
      return { status: 200, body: EMPTY_GZIP };
    };
    const read = async () => {
      const page = await source.fetchPage(
        source.seed(new Date(Date.now() - 3_600_000), new Date()),
        budget(5000),
      );
      for await (const _record of page.records) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow(ProtocolError);
    expect(first.hits.filter((h) => h.url.startsWith('/files'))).toEqual([]);

    fileUrl = `${first.url}/files/batch.json.gz?X-Amz-Signature=abc`;
    await read();
    const download = first.hits.find((h) => h.url.startsWith('/files'));
    expect(download).toBeDefined();
    expect(download?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(download?.headers)).not.toContain('url-policy-bearer-token');
  });
});

// ---------------------------------------------------------------------------------------------
// Redirects

describe('redirects are never followed', () => {
  async function mimecastOutcome(api: 1 | 2, stream: 'audit' | 'siem'): Promise<unknown> {
    const client = createMimecastClient({
      baseUrl: first.url,
      credentials: api === 1 ? v1Credentials : v2Credentials,
      dispatcher,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      siemTypes: ['receipt'],
    });
    const source = client.source(stream);
    try {
      const page = await source.fetchPage(
        source.seed(new Date(Date.now() - 3_600_000), new Date()),
        budget(5000),
      );
      for await (const _record of page.records) {
        // drain
      }
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it.each(REDIRECTS)(
    'Mimecast API 1.0 answering %i: a RequestError, and the other server hears nothing',
    async (status) => {
      first.answer = (hit) => redirect(status, hit);
      for (const stream of ['audit', 'siem'] as const) {
        const error = await mimecastOutcome(1, stream);
        expect(error).toBeInstanceOf(RequestError);
        expect((error as RequestError).status).toBe(status);
      }
      expect(first.hits.length).toBeGreaterThan(0);
      expect(elsewhere.hits).toEqual([]);
    },
  );

  it.each(REDIRECTS)(
    'Mimecast API 2.0 token endpoint answering %i: the client secret goes nowhere else',
    async (status) => {
      first.answer = (hit) => redirect(status, hit);
      const error = await mimecastOutcome(2, 'audit');
      expect(error).toBeInstanceOf(CollectorError);
      expect(first.hits.map((h) => h.url)).toContain('/oauth/token');
      expect(elsewhere.hits).toEqual([]);
    },
  );

  it.each(REDIRECTS)(
    'Mimecast API 2.0 calls and batch-file downloads answering %i: the bearer token goes nowhere else',
    async (status) => {
      first.answer = (hit) => {
        if (hit.url.startsWith('/oauth/token')) return TOKEN_ANSWER;
        if (hit.url.startsWith('/siem/'))
          return {
            status: 200,
            body: JSON.stringify({
              value: [{ url: `${first.url}/files/b.json.gz` }],
              '@nextPage': 'n',
              isCaughtUp: true,
            }),
          };
        return redirect(status, hit);
      };
      expect(await mimecastOutcome(2, 'audit')).toBeInstanceOf(RequestError);
      expect(await mimecastOutcome(2, 'siem')).toBeInstanceOf(CollectorError);
      expect(first.hits.some((h) => h.url.startsWith('/files/'))).toBe(true);
      expect(elsewhere.hits).toEqual([]);
    },
  );

  it.each(REDIRECTS)(
    'the sink answered %i: SinkRejectedError, and neither the token nor the events go elsewhere',
    async (status) => {
      first.answer = (hit) => redirect(status, hit);
      for (const format of ['ndjson', 'splunk-hec', 'elastic-bulk'] as const) {
        const path =
          format === 'splunk-hec'
            ? '/services/collector/event'
            : format === 'elastic-bulk'
              ? '/mimecast/_bulk'
              : '/in';
        const sink = createHttpSink({
          url: `${first.url}${path}`,
          format,
          token: 'url-policy-sink-token',
          dispatcher,
          retry: { maxAttempts: 2 },
        });
        const envelope: Envelope = {
          id: 'url-policy-1',
          stream: 'audit',
          logType: 'audit',
          time: new Date().toISOString(),
          instance: 'url-policy',
          event: { n: 1 },
        };
        await expect(sink.send([envelope], budget(5000))).rejects.toThrow(SinkRejectedError);
      }
      expect(first.hits).toHaveLength(3);
      expect(elsewhere.hits).toEqual([]);
    },
  );

  it('`verify` with a Mimecast host and a receiver that both redirect: nothing reaches the other server', async () => {
    first.answer = (hit) => (hit.url.startsWith('/oauth/token') ? TOKEN_ANSWER : redirect(307, hit));
    const out = io({
      MIMECAST_CLIENT_ID: 'url-policy-client',
      MIMECAST_CLIENT_SECRET: 'url-policy-secret',
      SINK_TOKEN: 'url-policy-sink-token',
    });
    const code = await verifyCommand(
      ['--mimecast-url', first.url, '--streams', 'audit,siem', '--sink-url', `${first.url}/in`],
      out,
    );
    expect(code).toBe(1);
    expect(first.hits.some((h) => h.url === '/in')).toBe(true);
    expect(elsewhere.hits).toEqual([]);
  });
});
