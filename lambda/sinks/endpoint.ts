/** Sink URL rules: HTTPS except loopback, no embedded credentials, and a log-safe form for errors. */
import type { ConfigProblem } from '../errors';
import { validateSinkUrl } from '../settings/values';

/**
 * A sink URL through the settings' one rule (settings/values.ts validateSinkUrl: HTTPS except on
 * loopback, no credentials, no fragment), its problem pushed onto `problems` under `field`.
 * Returns the URL when it is usable (problems may still hold unrelated entries).
 */
export function parseSinkUrl(raw: string, field: string, problems: ConfigProblem[]): URL | undefined {
  const checked = validateSinkUrl(raw);
  if (checked.ok) return new URL(checked.value);
  problems.push({ field, problem: checked.problem });
  return undefined;
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
