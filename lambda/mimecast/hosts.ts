/**
 * Mimecast API hosts (docs/mimecast-api.md A.5 and D.1). The stack and the settings (settings/mimecast-url.ts,
 * the one check of a base URL) reuse this list, so it lives here, once.
 */

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

/** Joins the base URL (an origin, settings/mimecast-url.ts) and an API path. */
export function apiUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}
