/**
 * The one undici Agent factory, for the Lambda handler and the command line alike: the Mimecast client
 * and the sink share one Agent per container, so the code a laptop runs is the code AWS runs.
 *
 * The Agent holds what belongs to a connection (connect timeout, keep-alive, sockets per origin).
 * Time limits of a request belong to the call that makes it: the Mimecast client sets its headers and
 * body-idle timeouts on every request (lambda/mimecast/constants.ts DEFAULT_TIMEOUTS) and the sink
 * bounds each attempt with an abort signal (lambda/sinks/http-sink.ts, its `attemptTimeoutMs`), both
 * precise to the millisecond and cut short by the call's budget. The Agent's own headers and body
 * timeouts are only a backstop, set above every per-call limit, since they tick at about one second.
 */
import { Agent } from 'undici';

export interface AgentSettings {
  /** TCP + TLS connect. Both sides used 10 s before they shared an Agent. */
  connectTimeoutMs: number;
  /** Backstop for requests that set no headers timeout of their own (above the sink's 30 s attempts). */
  headersTimeoutMs: number;
  /** Backstop for the silence between two body chunks (above the Mimecast client's 60 s). */
  bodyTimeoutMs: number;
  /**
   * Idle sockets are closed after this. Lambda freezes make long-idle sockets unreliable anyway; one
   * that died during a freeze fails with ECONNRESET or UND_ERR_SOCKET, which both sides retry.
   */
  keepAliveTimeoutMs: number;
  /** Ceiling on a server's own keep-alive hint. */
  keepAliveMaxTimeoutMs: number;
  /**
   * Sockets per origin. The engine runs at most 4 streams at once, each with one Mimecast request and
   * one sink request in flight, so this never queues a request; it only bounds a runaway.
   */
  connections: number;
}

export const AGENT_DEFAULTS: Readonly<AgentSettings> = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 120_000,
  bodyTimeoutMs: 120_000,
  keepAliveTimeoutMs: 30_000,
  keepAliveMaxTimeoutMs: 120_000,
  connections: 16,
};

/** A new Agent; the caller closes it. Commands that run once (verify, configure) use one of their own. */
export function createAgent(overrides: Partial<AgentSettings> = {}): Agent {
  const settings = { ...AGENT_DEFAULTS, ...overrides };
  return new Agent({
    connect: { timeout: settings.connectTimeoutMs },
    headersTimeout: settings.headersTimeoutMs,
    bodyTimeout: settings.bodyTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    keepAliveMaxTimeout: settings.keepAliveMaxTimeoutMs,
    connections: settings.connections,
  });
}

let containerAgent: Agent | undefined;

/**
 * The container's Agent, created on first use (not at import, so tests that pass their own dispatcher
 * never open sockets through it) and kept at module scope, so warm invocations reuse connections.
 */
export function sharedAgent(): Agent {
  containerAgent ??= createAgent();
  return containerAgent;
}
