/**
 * Mimecast API hosts (docs/mimecast-api.md A.5 and D.1) and base-URL validation. The stack and the config
 * validation reuse these, so the list lives here, once.
 */
import { ConfigError, type ConfigProblem } from '../errors';
import { isSecureOrLoopback } from '../url-rules';

export interface MimecastHost {
  /** Short id used in docs and config (`eu`, `us`, `global`...). */
  region: string;
  description: string;
  baseUrl: string;
}

/** API 1.0 regional hosts (HMAC-signed). The account code prefix tells the grid (CUSA… = us, CUSB… = usb, CUK… = eu). */
export const MIMECAST_V1_HOSTS: readonly MimecastHost[] = [
  { region: 'eu', description: 'Europe (excluding Germany)', baseUrl: 'https://eu-api.mimecast.com' },
  { region: 'de', description: 'Germany', baseUrl: 'https://de-api.mimecast.com' },
  { region: 'us', description: 'USA', baseUrl: 'https://us-api.mimecast.com' },
  { region: 'usb', description: 'USA "B grid"', baseUrl: 'https://usb-api.mimecast.com' },
  { region: 'ca', description: 'Canada', baseUrl: 'https://ca-api.mimecast.com' },
  { region: 'za', description: 'South Africa', baseUrl: 'https://za-api.mimecast.com' },
  { region: 'au', description: 'Australia', baseUrl: 'https://au-api.mimecast.com' },
  { region: 'je', description: 'Offshore (Jersey)', baseUrl: 'https://je-api.mimecast.com' },
  // Seen in a single sample only (docs/mimecast-api.md A.5, UNCERTAIN); listed so config validation does not reject it.
  { region: 'uspcom', description: 'US public sector', baseUrl: 'https://uspcom-api.mimecast-pscom-us.com' },
];

/** API 2.0 hosts (OAuth2). One global host with failover, plus two pinned ones (since June 2025). */
export const MIMECAST_V2_HOSTS: readonly MimecastHost[] = [
  {
    region: 'global',
    description: 'Global, with automatic failover',
    baseUrl: 'https://api.services.mimecast.com',
  },
  { region: 'uk', description: 'UK, pinned (no failover)', baseUrl: 'https://uk-api.services.mimecast.com' },
  { region: 'us', description: 'US, pinned (no failover)', baseUrl: 'https://us-api.services.mimecast.com' },
];

/** Whether `url` is one of the known hosts for that API version (config validation warns when not). */
export function isKnownMimecastHost(url: string, apiVersion: 1 | 2): boolean {
  const hosts = apiVersion === 1 ? MIMECAST_V1_HOSTS : MIMECAST_V2_HOSTS;
  try {
    const origin = new URL(url).origin;
    return hosts.some((host) => host.baseUrl === origin);
  } catch {
    return false;
  }
}

/** Problems with a base URL, empty when it is acceptable. `field` names the setting in the messages. */
export function baseUrlProblems(raw: string, field = 'baseUrl'): ConfigProblem[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [{ field, problem: 'is not a valid absolute URL (expected e.g. https://eu-api.mimecast.com)' }];
  }
  const problems: ConfigProblem[] = [];
  if (!isSecureOrLoopback(url)) {
    problems.push({
      field,
      problem: 'must use https:// (plain http is allowed only for 127.0.0.1, ::1, localhost)',
    });
  }
  if (url.username !== '' || url.password !== '') {
    problems.push({ field, problem: 'must not contain credentials' });
  }
  if (url.search !== '' || url.hash !== '') {
    problems.push({ field, problem: 'must not contain a query string or fragment' });
  }
  return problems;
}

/** Parses and checks a base URL; throws ConfigError listing every problem. A trailing slash is dropped. */
export function parseBaseUrl(raw: string, field = 'baseUrl'): URL {
  const problems = baseUrlProblems(raw, field);
  if (problems.length > 0) {
    throw new ConfigError('Mimecast base URL', problems);
  }
  const url = new URL(raw);
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** Joins the base URL (which may carry a path prefix) and an API path. */
export function apiUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}
