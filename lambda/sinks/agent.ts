/** The one undici Agent of this container: keep-alive connections survive across warm invocations. */
import { Agent } from 'undici';

let shared: Agent | undefined;

/**
 * Created on first use, not at import, so tests and the CLI that pass their own dispatcher never
 * open sockets through it. Per-request timing comes from the sink's abort signals (precise to the
 * millisecond); the Agent's own timeouts are only a backstop, since they tick at about one second.
 */
export function sharedAgent(): Agent {
  shared ??= new Agent({
    connect: { timeout: 10_000 },
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
    // Idle sockets are kept a while; one that died during a Lambda freeze fails with ECONNRESET or
    // UND_ERR_SOCKET, which the sink retries.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
  });
  return shared;
}
