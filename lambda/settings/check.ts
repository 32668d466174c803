/**
 * The one result type of a setting check, and the helpers every check shares. Checks never echo a
 * URL whole (a URL may carry credentials by mistake); other values are not secrets (the environment
 * never holds one, docs/SECURITY.md) and are quoted, shortened.
 */
import { isSecureOrLoopback, LOOPBACK_HOSTS } from '../url-rules';

export type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

export function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

/** Quotes a non-secret value for a message, shortened so a pasted blob does not flood the log. */
export function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/** The comma-separated items of a list setting, trimmed, empties dropped. */
export function listItems(
  text: string | undefined,
  normalise: (item: string) => string = (s) => s,
): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => normalise(s.trim()))
    .filter((s) => s !== '');
}

/** An absolute URL without credentials, HTTPS (plain HTTP only on loopback). */
export function parseUrl(text: string | undefined, what: string): Check<URL> {
  const value = (text ?? '').trim();
  if (value === '') return fail(`is not set; expected ${what}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The text itself is not repeated: a malformed URL may still hold a token.
    return fail(`is not a valid absolute URL; expected ${what}`);
  }
  if (url.username !== '' || url.password !== '') {
    return fail(
      'must not contain a user name or password; credentials belong in the secret (run `npx mimecast-collector configure`)',
    );
  }
  if (!isSecureOrLoopback(url)) {
    return fail(
      `uses ${url.protocol.replace(/:$/, '')}; only https is allowed (plain http only on ${LOOPBACK_HOSTS.join(', ')})`,
    );
  }
  return { ok: true, value: url };
}
