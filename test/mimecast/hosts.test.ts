import { ConfigError } from '../../lambda/errors';
import { apiUrl, MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from '../../lambda/mimecast/hosts';
import { toMimecastBaseUrl, validateMimecastBaseUrl } from '../../lambda/settings';
import { isLoopbackHost } from '../../lambda/url-rules';

// The one check of a base URL is the settings' (lambda/settings/mimecast-url.ts); the client runs it too.
const accepted = (text: string, apiVersion?: 1 | 2) => validateMimecastBaseUrl(text, apiVersion).ok;

describe('Mimecast hosts', () => {
  it('lists the regional 1.0 hosts and the 2.0 hosts, all https', () => {
    expect(MIMECAST_V1_HOSTS.map((h) => h.baseUrl)).toEqual(
      expect.arrayContaining([
        'https://eu-api.mimecast.com',
        'https://us-api.mimecast.com',
        'https://de-api.mimecast.com',
      ]),
    );
    expect(MIMECAST_V2_HOSTS.map((h) => h.baseUrl)).toEqual([
      'https://api.services.mimecast.com',
      'https://uk-api.services.mimecast.com',
      'https://us-api.services.mimecast.com',
    ]);
    for (const host of [...MIMECAST_V1_HOSTS, ...MIMECAST_V2_HOSTS]) {
      expect(accepted(host.baseUrl)).toBe(true);
    }
  });

  it('knows which hosts belong to which API version', () => {
    expect(accepted('https://eu-api.mimecast.com/', 1)).toBe(true);
    expect(accepted('https://eu-api.mimecast.com', 2)).toBe(false);
    expect(accepted('https://api.services.mimecast.com', 2)).toBe(true);
    expect(accepted('not a url', 2)).toBe(false);
  });

  it('allows plain http only on loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('LOCALHOST')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(accepted('http://127.0.0.1:8080')).toBe(true);
    expect(accepted('http://[::1]:8080')).toBe(true);
    expect(accepted('http://eu-api.mimecast.com')).toBe(false);
  });

  it('refuses credentials, a path, a query or another scheme without echoing credentials', () => {
    for (const text of ['ftp://user:hunter2@example.com/x?y=1', 'https://user:hunter2@eu-api.mimecast.com']) {
      const checked = validateMimecastBaseUrl(text);
      expect(checked.ok).toBe(false);
      expect(JSON.stringify(checked)).not.toContain('hunter2');
    }
    // A path prefix is refused by the one rule (the client used to accept one the settings refused).
    expect(accepted('http://127.0.0.1:9/prefix/')).toBe(false);
    expect(accepted('https://eu-api.mimecast.com/?y=1')).toBe(false);
    expect(() => toMimecastBaseUrl('nope')).toThrow(ConfigError);
  });

  it('joins a base and an API path', () => {
    expect(apiUrl(new URL(toMimecastBaseUrl('https://eu-api.mimecast.com/')), '/api/x').href).toBe(
      'https://eu-api.mimecast.com/api/x',
    );
    expect(apiUrl(new URL(toMimecastBaseUrl('http://127.0.0.1:9')), '/api/x').href).toBe(
      'http://127.0.0.1:9/api/x',
    );
  });
});
