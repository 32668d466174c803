/**
 * The one rule for every URL the collector calls (docs/ARCHITECTURE.md, "Configuration"): HTTPS, except plain
 * HTTP to a loopback host, which is how the simulator and the test receivers run.
 */

export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** `hostname` as URL gives it: IPv6 in brackets (`[::1]`), any case. */
export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return LOOPBACK_HOSTS.includes(bare.toLowerCase());
}

/** HTTPS, or plain HTTP to a loopback host. */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}
