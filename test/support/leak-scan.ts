/**
 * Finds secret values in captured output (logs, error messages, checkpoints, HTTP bodies), in
 * every form a careless line of code could print them. Deliberately independent of the redaction
 * code in lambda/telemetry: a test oracle must not share the code it checks.
 */

export interface SecretEncoding {
  /** Which secret: its name, or `#<index>` when given as a list. */
  secret: string;
  /** How it is encoded: `raw`, `base64`, `hex`, `url`, `decoded-hex`, `bearer`, ... */
  encoding: string;
  text: string;
}

export interface LeakFinding {
  secret: string;
  encoding: string;
  /** Offset of the match in the scanned text. */
  offset: number;
}

export interface LeakScanner {
  encodings: readonly SecretEncoding[];
  /** Every occurrence of every encoding, in order of offset. */
  scan(text: string): LeakFinding[];
  /** Describes findings without printing the secrets themselves (test output is read by people too). */
  describe(findings: readonly LeakFinding[], where?: string): string;
}

/** Shorter values would match ordinary text; real keys, secrets and tokens are far longer. */
export const MIN_SCANNABLE_LENGTH = 4;
/** Fragments of a shifted base64 shorter than this would match random base64 text by chance. */
const MIN_FRAGMENT_LENGTH = 8;

export type SecretList = Readonly<Record<string, string>> | readonly string[];

export function secretEncodings(secrets: SecretList): SecretEncoding[] {
  const named: [string, string][] = Array.isArray(secrets)
    ? secrets.map((value, index) => [`#${index}`, value])
    : Object.entries(secrets);
  const seen = new Set<string>();
  const out: SecretEncoding[] = [];
  const add = (secret: string, encoding: string, text: string) => {
    const key = `${secret}\u0000${encoding}\u0000${text}`;
    if (text.length === 0 || seen.has(key)) return;
    seen.add(key);
    out.push({ secret, encoding, text });
  };
  for (const [name, value] of named) {
    if (value.length < MIN_SCANNABLE_LENGTH) {
      throw new Error(
        `secret ${name} is shorter than ${MIN_SCANNABLE_LENGTH} characters: too short to scan for`,
      );
    }
    const bytes = Buffer.from(value, 'utf8');
    add(name, 'raw', value);
    add(name, 'json-escaped', JSON.stringify(value).slice(1, -1));
    add(name, 'base64', unpadded(bytes.toString('base64')));
    add(name, 'base64url', bytes.toString('base64url'));
    for (const fragment of shiftedBase64(bytes)) {
      add(name, 'base64-embedded', fragment);
      add(name, 'base64url-embedded', toUrlAlphabet(fragment));
    }
    add(name, 'hex', bytes.toString('hex'));
    add(name, 'HEX', bytes.toString('hex').toUpperCase());
    add(name, 'url', encodeURIComponent(value));
    add(
      name,
      'url-lowercase',
      encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    );
    add(name, 'form', new URLSearchParams({ x: value }).toString().slice(2));
    add(name, 'splunk', `Splunk ${value}`);
    add(name, 'bearer', `Bearer ${value}`);
    const decoded = decodeBase64Strict(value);
    if (decoded !== undefined) {
      // An API 1.0 secretKey is base64; the HMAC key is its decoded bytes, which could leak as such.
      add(name, 'decoded-hex', decoded.toString('hex'));
      add(name, 'decoded-HEX', decoded.toString('hex').toUpperCase());
      add(name, 'decoded-base64', unpadded(decoded.toString('base64')));
      add(name, 'decoded-base64url', decoded.toString('base64url'));
    }
  }
  return out;
}

export function createLeakScanner(secrets: SecretList): LeakScanner {
  const encodings = secretEncodings(secrets);
  return {
    encodings,
    scan(text) {
      const findings: LeakFinding[] = [];
      for (const { secret, encoding, text: needle } of encodings) {
        // indexOf advances by at least one each round, so the loop ends within text.length rounds.
        for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
          findings.push({ secret, encoding, offset: at });
        }
      }
      return findings.sort((a, b) => a.offset - b.offset);
    },
    describe(findings, where = 'output') {
      if (findings.length === 0) return `no secret found in ${where}`;
      const lines = findings
        .slice(0, 20)
        .map((f) => `secret ${f.secret} as ${f.encoding} at offset ${f.offset}`);
      const more = findings.length > 20 ? `\n... and ${findings.length - 20} more` : '';
      return `${findings.length} secret occurrence(s) in ${where}:\n${lines.join('\n')}${more}`;
    },
  };
}

/** Convenience: the findings for one text. */
export function scanForSecrets(text: string, secrets: SecretList): LeakFinding[] {
  return createLeakScanner(secrets).scan(text);
}

function unpadded(base64: string): string {
  return base64.replace(/=+$/, '');
}

function toUrlAlphabet(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * The secret inside a longer base64 text (e.g. `Basic base64(id:secret)`): for each of the three
 * byte alignments, the base64 characters that depend on the secret's bytes alone.
 */
function shiftedBase64(bytes: Buffer): string[] {
  const fragments: string[] = [];
  for (let shift = 0; shift < 3; shift += 1) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const first = Math.ceil((8 * shift) / 6);
    const last = Math.floor((8 * (shift + bytes.length) - 6) / 6);
    const fragment = encoded.slice(first, last + 1);
    if (fragment.length >= MIN_FRAGMENT_LENGTH) fragments.push(fragment);
  }
  return fragments;
}

function decodeBase64Strict(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.length > 0 && decoded.toString('base64') === value ? decoded : undefined;
}
