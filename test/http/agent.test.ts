/**
 * One Agent per container, for the Lambda handler and the command line alike (lambda/http/agent.ts):
 * both send their Mimecast calls and their sink batches through `sharedAgent()`, so the connection
 * settings a laptop runs with are the ones AWS runs with. Observed through the Agent's own per-origin
 * statistics after a real tick against the loopback simulator and receiver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StreamId } from '../../lambda/core/streams';
import type * as AgentModule from '../../lambda/http/agent';
import { captureIO } from '../cli/cli-io';
import { invoke } from '../support/lambda';
import { startWorld, type World } from '../support/world';

const STREAMS: StreamId[] = ['audit'];

describe('the container Agent', () => {
  let world: World;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    world = await startWorld({ streams: STREAMS, simulator: { seed: 5, events: { audit: 12 } } });
  });

  afterEach(async () => {
    process.env = { ...savedEnv };
    await world.stop();
  });

  /** Loads a module graph of its own, so its container Agent is fresh and is the one it uses. */
  function isolated<T>(load: () => T): { agent: typeof AgentModule; loaded: T } {
    let agent: typeof AgentModule | undefined;
    let loaded: T | undefined;
    jest.isolateModules(() => {
      agent = require('../../lambda/http/agent');
      loaded = load();
    });
    return { agent: agent!, loaded: loaded! };
  }

  function originsUsed(agent: typeof AgentModule): string[] {
    return Object.keys(agent.sharedAgent().stats).sort();
  }

  it('carries the handler’s Mimecast calls and sink batches', async () => {
    await world.storeCredentials();
    Object.assign(process.env, world.env());
    const { agent, loaded: handler } = isolated(() => require('../../lambda/handler').handler);
    try {
      const { outcome } = await invoke(handler);
      expect(outcome?.ok).toBe(true);
      expect(world.receiver.ids().length).toBeGreaterThan(0);
      expect(originsUsed(agent)).toEqual([new URL(world.simulator.url).origin, world.receiver.origin].sort());
    } finally {
      await agent.sharedAgent().close();
    }
  });

  it('carries the command line’s Mimecast calls and sink batches', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mimecast-agent-'));
    const { agent, loaded: run } = isolated(() => require('../../bin/cli/run').runCommand);
    try {
      const io = captureIO({
        MIMECAST_CLIENT_ID: world.simulator.credentials.v2.clientId,
        MIMECAST_CLIENT_SECRET: world.simulator.credentials.v2.clientSecret,
      });
      // From before the simulator's data (the 24 h ending 10 minutes ago), so batches go out.
      const start = `${new Date(Date.now() - 26 * 3600_000).toISOString().slice(0, 19)}Z`;
      const args = ['--once', '--streams', 'audit', '--start', start, '--mimecast-url', world.simulator.url];
      const code = await run(
        [...args, '--sink-url', world.receiver.url, '--state-dir', path.join(dir, 'state')],
        io,
      );
      expect(code).toBe(0);
      expect(world.receiver.ids().length).toBeGreaterThan(0);
      expect(originsUsed(agent)).toEqual([new URL(world.simulator.url).origin, world.receiver.origin].sort());
    } finally {
      await agent.sharedAgent().close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is created once and then reused; createAgent makes a new one for a command to close', async () => {
    const { agent } = isolated(() => undefined);
    const shared = agent.sharedAgent();
    const own = agent.createAgent({ connectTimeoutMs: 5_000 });
    try {
      expect(agent.sharedAgent()).toBe(shared);
      expect(own).not.toBe(shared);
    } finally {
      await Promise.all([own.close(), shared.close()]);
    }
  });
});
