/**
 * A first run that cannot reach Mimecast fails loudly (issue 11, item 8): `run --streams audit` without
 * `--start` used to ask for an empty window, make no call at all and exit 0 "caught-up" whatever the URL
 * or keys. Every stream's first tick now makes an authenticated call, so a wrong URL, key or permission
 * shows at once: exit code 1 and the stream's error on stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../bin/cli/run';
import { type Receiver, startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { captureIO } from './cli-io';

const AUDIT_PATH = '/api/audit/get-audit-events';

let dir: string;
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  [sim, receiver] = await Promise.all([startSimulator({ seed: 8 }), startReceiver({ kind: 'ndjson' })]);
});

afterAll(async () => {
  await Promise.all([sim.stop(), receiver.stop()]);
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mimecast-first-run-'));
  sim.clearRequests();
  sim.clearFaults();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (bound, then closed). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function runAudit(mimecastUrl: string, env: Record<string, string>) {
  const io = captureIO(env);
  const args = ['--once', '--streams', 'audit', '--mimecast-url', mimecastUrl, '--sink-url', receiver.url];
  return { io, code: runCommand([...args, '--state-dir', path.join(dir, 'state')], io) };
}

const v2 = () => ({
  MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
  MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
});

describe('run --streams audit, first run, no --start', () => {
  it('fails with exit code 1 when the Mimecast URL cannot be reached', async () => {
    const { io, code } = runAudit(await deadUrl(), v2());
    expect(await code).toBe(1);
    expect(io.errLines.join('\n')).toMatch(/^audit: failed: Could not (complete the call|connect)/m);
    expect(io.text()).not.toMatch(/caught-up/);
  });

  it('fails with exit code 1 and names the fix when Mimecast refuses the keys', async () => {
    const { io, code } = runAudit(sim.url, { ...v2(), MIMECAST_CLIENT_SECRET: 'not-the-secret-0123456789' });
    expect(await code).toBe(1);
    expect(io.errLines.join('\n')).toMatch(/^audit: failed: .*client id and client secret/ms);
  });

  it('fails with exit code 1 when the keys lack the permission for the stream', async () => {
    sim.inject({
      path: AUDIT_PATH,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 403, code: 'app_forbidden', message: 'Forbidden' },
    });
    const { io, code } = runAudit(sim.url, v2());
    expect(await code).toBe(1);
    expect(io.errLines.join('\n')).toMatch(/^audit: failed: .*Audit Events/ms);
  });

  it('makes one authenticated audit call and exits 0 when everything is right', async () => {
    const { io, code } = runAudit(sim.url, v2());
    expect(await code).toBe(0);
    expect(io.text()).toMatch(/audit\s+caught-up/);
    const calls = sim.requests().filter((r) => r.path === AUDIT_PATH);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ api: 2, status: 200 });
  });
});
