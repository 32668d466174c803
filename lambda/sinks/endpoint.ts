/** Sink URL rules: HTTPS except loopback, no embedded credentials, and a log-safe form for errors. */
import type { ConfigProblem } from '../errors';
import { isSecureOrLoopback } from '../url-rules';

/**
 * Parses and checks a sink URL, pushing every problem found onto `problems`.
 * Returns the URL when it is usable (problems may still hold unrelated entries).
 */
export function parseSinkUrl(raw: string, field: string, problems: ConfigProblem[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push({ field, problem: 'is not an absolute URL (expected https://host[:port]/path)' });
    return undefined;
  }
  const before = problems.length;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push({ field, problem: `uses ${url.protocol.replace(/:$/, '')}; only https is supported` });
  } else if (!isSecureOrLoopback(url)) {
    // Plain HTTP would put the token and the mail logs on the network in clear text.
    problems.push({
      field,
      problem: `must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost), got host ${url.hostname}`,
    });
  }
  if (url.username !== '' || url.password !== '') {
    // The URL is stack configuration, not a secret: credentials belong in the secret's sink token.
    problems.push({ field, problem: 'must not embed credentials; put the token in the collector secret' });
  }
  if (url.hash !== '') {
    problems.push({ field, problem: 'must not have a #fragment' });
  }
  return problems.length === before ? url : undefined;
}

/**
 * The endpoint as errors and logs show it: origin and path only. The query is dropped because
 * some receivers accept secrets there (Splunk's `?token=`).
 */
export function redactUrl(url: URL): string {
  // s3://, file://, tcp:// have no web origin ("null"): scheme and host instead.
  const origin = url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
  return `${origin}${redactPath(url.pathname)}`;
}

/** A Sumo Logic HTTP Source's URL is its credential: the token is the path segment after `/http/`. */
const SUMO_TOKEN_PATH = /^(.*\/receiver\/v1\/(?:http|otlp)\/)([^/]+)(.*)$/;

function redactPath(path: string): string {
  return path.replace(SUMO_TOKEN_PATH, '$1[redacted]$3');
}

/** The credential a URL carries in its path (a Sumo HTTP Source token), to scrub from any output. */
export function pathSecret(url: URL): string | undefined {
  const match = SUMO_TOKEN_PATH.exec(url.pathname);
  return match === null ? undefined : match[2];
}

/** A redirect target, resolved against the request URL and shown without credentials or query. */
export function redactLocation(location: string | undefined, base: URL): string | undefined {
  if (location === undefined || location === '') {
    return undefined;
  }
  try {
    return redactUrl(new URL(location, base));
  } catch {
    return '(unparseable Location header)';
  }
}
