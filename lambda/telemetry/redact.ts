/**
 * Defence in depth for log output: the code must never log a secret, and this makes sure a
 * mistake does not publish one. Registered secret values are replaced in every string the logger
 * writes, in the encodings a careless line could print them in; Authorization-style headers and
 * bearer tokens are replaced whether registered or not.
 */

export const REDACTED = '[REDACTED]';

/** Shorter values would redact ordinary words; real keys, secrets and tokens are far longer. */
export const MIN_REDACTED_LENGTH = 8;

/** Attribute names whose value is never logged, whatever it is (compared case-insensitively). */
const SENSITIVE_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
  'x-splunk-token',
  'appkey',
  'app_key',
  'accesskey',
  'access_key',
  'secretkey',
  'secret_key',
  'clientsecret',
  'client_secret',
  'sinktoken',
  'access_token',
  'refresh_token',
  'password',
]);

/** Credentials that follow a scheme word in headers, whoever wrote them. */
const CREDENTIAL_PATTERNS: [RegExp, string][] = [
  // `Basic` is left to the header rule below: as a plain word it starts ordinary sentences.
  [/\b(Bearer|Splunk)(\s+)[A-Za-z0-9\-._~+/]{8,}=*/g, `$1$2${REDACTED}`],
  // API 1.0 signature header: `MC accessKey:base64signature`.
  [/\bMC(\s+)[A-Za-z0-9\-._~+/=]+:[A-Za-z0-9+/=]+/g, `MC$1${REDACTED}`],
  // A header dump: `authorization: anything up to the end of the line or field`.
  [/\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)[^\r\n"',;}]+/gi, `$1$2${REDACTED}`],
  // OAuth2 form body.
  [/\b(client_secret|access_token|refresh_token)=[^&\s"']+/g, `$1=${REDACTED}`],
];

export class SecretRedactor {
  readonly #forms = new Set<string>();
  #pattern: RegExp | undefined;

  /** Adds secret values (empty, undefined and too-short values are ignored). Returns how many forms are now redacted. */
  register(values: Iterable<string | undefined>): number {
    for (const value of values) {
      if (value === undefined || value.length < MIN_REDACTED_LENGTH) continue;
      for (const form of encodedForms(value)) this.#forms.add(form);
    }
    // Longest first, so a form that contains another is replaced whole.
    const sorted = [...this.#forms].sort((a, b) => b.length - a.length);
    this.#pattern = sorted.length === 0 ? undefined : new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
    return this.#forms.size;
  }

  redactText(text: string): string {
    let out = this.#pattern === undefined ? text : text.replace(this.#pattern, REDACTED);
    for (const [pattern, replacement] of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }

  /** A `JSON.stringify` replacer (Powertools' `jsonReplacerFn`): redacts values, sensitive keys, and secrets used as keys. */
  readonly replacer = (key: string, value: unknown): unknown => {
    if (key !== '' && SENSITIVE_KEYS.has(key.toLowerCase()) && value !== undefined && value !== null)
      return REDACTED;
    if (typeof value === 'string') return this.redactText(value);
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Error)) {
      const keys = Object.keys(value);
      if (keys.some((k) => this.redactText(k) !== k)) {
        return Object.fromEntries(
          keys.map((k) => [this.redactText(k), (value as Record<string, unknown>)[k]]),
        );
      }
    }
    return value;
  };
}

/** Every form of a secret the redactor replaces. */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>([
    value,
    JSON.stringify(value).slice(1, -1),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    new URLSearchParams({ v: value }).toString().slice(2),
  ]);
  // Inside a longer base64 text (Basic auth, a base64-encoded body): the characters that depend
  // on the secret's bytes alone, for each of the three alignments.
  for (let shift = 0; shift < 3; shift += 1) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const fragment = encoded.slice(
      Math.ceil((8 * shift) / 6),
      Math.floor((8 * (shift + bytes.length) - 6) / 6) + 1,
    );
    if (fragment.length >= MIN_REDACTED_LENGTH) {
      forms.add(fragment);
      forms.add(fragment.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  // An API 1.0 secret key is base64; its decoded bytes are the HMAC key and could leak as hex.
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0) {
    const decoded = Buffer.from(value, 'base64');
    if (decoded.length >= 4 && decoded.toString('base64') === value) {
      forms.add(decoded.toString('hex'));
      forms.add(decoded.toString('hex').toUpperCase());
      forms.add(decoded.toString('base64url'));
    }
  }
  return [...forms].filter((form) => form.length >= MIN_REDACTED_LENGTH);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
