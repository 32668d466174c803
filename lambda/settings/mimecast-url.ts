/**
 * The Mimecast base URL setting: HTTPS on a known Mimecast host (or any loopback host, HTTP or
 * HTTPS), origin only. The parser is the only producer of `MimecastBaseUrl`, so the client takes it
 * as it is and checks nothing again.
 */
import { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from '../mimecast/hosts';
import { isLoopbackHost } from '../url-rules';
import { type Check, fail, parseUrl, quote } from './check';

export type ApiVersion = 1 | 2;

/** An origin (`https://eu-api.mimecast.com`, no trailing slash) that passed `validateMimecastBaseUrl`. */
export type MimecastBaseUrl = string & { readonly __brand: 'MimecastBaseUrl' };

export interface KnownMimecastHost {
  host: string;
  apiVersion: ApiVersion;
  region: string;
}

/**
 * Mimecast API hosts the collector may call: the one list in mimecast/hosts.ts, by host name.
 * `api.mimecast.com` is not among them on purpose: it only answers discover-authentication.
 */
export const KNOWN_MIMECAST_HOSTS: readonly KnownMimecastHost[] = [
  ...MIMECAST_V1_HOSTS.map((h) => ({
    host: new URL(h.baseUrl).hostname,
    apiVersion: 1 as const,
    region: h.description,
  })),
  ...MIMECAST_V2_HOSTS.map((h) => ({
    host: new URL(h.baseUrl).hostname,
    apiVersion: 2 as const,
    region: h.description,
  })),
];

export const MIMECAST_V1_HOSTNAMES: readonly string[] = KNOWN_MIMECAST_HOSTS.filter(
  (h) => h.apiVersion === 1,
).map((h) => h.host);
export const MIMECAST_V2_HOSTNAMES: readonly string[] = KNOWN_MIMECAST_HOSTS.filter(
  (h) => h.apiVersion === 2,
).map((h) => h.host);
const DISCOVERY_HOST = 'api.mimecast.com';

/** The API 2.0 global host: `--mimecast-url`'s default for API 2.0 credentials. */
export const V2_GLOBAL_BASE_URL = MIMECAST_V2_HOSTS[0]?.baseUrl ?? 'https://api.services.mimecast.com';

/**
 * A Mimecast base URL, normalised to its origin. With `apiVersion`, the host must also serve that
 * API version (`mimecastHostServes`).
 */
export function validateMimecastBaseUrl(
  text: string | undefined,
  apiVersion?: ApiVersion,
): Check<MimecastBaseUrl> {
  const parsed = parseUrl(text, 'a Mimecast API base URL such as https://eu-api.mimecast.com');
  if (!parsed.ok) return parsed;
  const url = parsed.value;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return fail(`must be the host only (like https://${url.hostname}), without a path, query or fragment`);
  }
  const origin = url.origin as MimecastBaseUrl;
  if (isLoopbackHost(url.hostname)) return { ok: true, value: origin };
  const host = url.hostname.toLowerCase();
  if (host === DISCOVERY_HOST) {
    return fail(
      `${host} only answers discover-authentication; use your region's API host (${MIMECAST_V1_HOSTNAMES.slice(0, 3).join(', ')}, ...) or, for API 2.0, ${MIMECAST_V2_HOSTNAMES[0]}`,
    );
  }
  if (!KNOWN_MIMECAST_HOSTS.some((h) => h.host === host)) {
    return fail(
      `host ${quote(host)} is not a Mimecast API host; expected one of ${KNOWN_MIMECAST_HOSTS.map((h) => h.host).join(', ')} (or a loopback host for the simulator)`,
    );
  }
  if (url.port !== '') return fail(`Mimecast serves HTTPS on the default port 443; remove :${url.port}`);
  return apiVersion === undefined ? { ok: true, value: origin } : mimecastHostServes(origin, apiVersion);
}

/** A valid base URL checked against the configured API version (loopback hosts serve both). */
export function mimecastHostServes(base: MimecastBaseUrl, apiVersion: ApiVersion): Check<MimecastBaseUrl> {
  const host = new URL(base).hostname.toLowerCase();
  const known = KNOWN_MIMECAST_HOSTS.find((h) => h.host === host);
  if (known === undefined || known.apiVersion === apiVersion) return { ok: true, value: base };
  const expected =
    apiVersion === 2
      ? MIMECAST_V2_HOSTNAMES.join(' or ')
      : `your region's host (${MIMECAST_V1_HOSTNAMES.join(', ')})`;
  return fail(
    `${host} serves API ${known.apiVersion}.0, but API ${apiVersion}.0 is configured; use ${expected}`,
  );
}
