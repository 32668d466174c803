import { ConfigError } from '../../lambda/errors';
import {
  apiUrl,
  baseUrlProblems,
  isKnownMimecastHost,
  MIMECAST_V1_HOSTS,
  MIMECAST_V2_HOSTS,
  parseBaseUrl,
} from '../../lambda/mimecast/hosts';
import { isLoopbackHost } from '../../lambda/url-rules';

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
      expect(baseUrlProblems(host.baseUrl)).toEqual([]);
    }
  });

  it('knows which hosts belong to which API version', () => {
    expect(isKnownMimecastHost('https://eu-api.mimecast.com/', 1)).toBe(true);
    expect(isKnownMimecastHost('https://eu-api.mimecast.com', 2)).toBe(false);
    expect(isKnownMimecastHost('https://api.services.mimecast.com', 2)).toBe(true);
    expect(isKnownMimecastHost('not a url', 2)).toBe(false);
  });

  it('allows plain http only on loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('LOCALHOST')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(baseUrlProblems('http://127.0.0.1:8080')).toEqual([]);
    expect(baseUrlProblems('http://[::1]:8080')).toEqual([]);
    expect(baseUrlProblems('http://eu-api.mimecast.com')).toHaveLength(1);
  });

  it('reports every problem at once, without echoing credentials', () => {
    const problems = baseUrlProblems('ftp://user:hunter2@example.com/x?y=1', 'MIMECAST_BASE_URL');
    expect(problems.map((p) => p.field)).toEqual([
      'MIMECAST_BASE_URL',
      'MIMECAST_BASE_URL',
      'MIMECAST_BASE_URL',
    ]);
    expect(JSON.stringify(problems)).not.toContain('hunter2');
    expect(() => parseBaseUrl('nope')).toThrow(ConfigError);
  });

  it('joins a base with a path prefix and an API path', () => {
    expect(apiUrl(parseBaseUrl('https://eu-api.mimecast.com/'), '/api/x').href).toBe(
      'https://eu-api.mimecast.com/api/x',
    );
    expect(apiUrl(parseBaseUrl('http://127.0.0.1:9/prefix/'), '/api/x').href).toBe(
      'http://127.0.0.1:9/prefix/api/x',
    );
  });
});
