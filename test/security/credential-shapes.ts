/**
 * A second oracle, independent of knowing the values: text shaped like a credential on the wire.
 * Catches what the value scan cannot, e.g. part of an OAuth token from a truncated token answer
 * (the simulator issues tokens the test never sees unless the collector uses them).
 */

export interface ShapeFinding {
  shape: string;
  offset: number;
}

/** Token characters of OAuth tokens, HEC tokens, base64 keys and signatures. */
const TOKEN = '[A-Za-z0-9\\-._~+/]{12,}=*';

const SHAPES: Array<[string, RegExp]> = [
  ['bearer credential', new RegExp(`\\bBearer\\s+(?!\\[)${TOKEN}`, 'g')],
  ['Splunk credential', new RegExp(`\\bSplunk\\s+(?!\\[)${TOKEN}`, 'g')],
  ['API 1.0 signature header', /\bMC\s+[A-Za-z0-9\-._~+/=]{8,}:[A-Za-z0-9+/]{20,}=*/g],
  ['OAuth token field', new RegExp(`access_token\\\\?["']?\\s*[:=]\\s*\\\\?["']?(?!\\[)${TOKEN}`, 'g')],
  ['OAuth form secret', new RegExp(`client_secret\\\\?["']?\\s*[:=]\\s*\\\\?["']?(?!\\[)${TOKEN}`, 'g')],
  [
    'Authorization header value',
    new RegExp(
      `authorization\\\\?["']?\\s*[:=]\\s*\\\\?["']?(Bearer|Splunk|MC|Basic|ApiKey)\\s+(?!\\[)${TOKEN}`,
      'gi',
    ),
  ],
  ['pre-signed URL signature', /X-Amz-Signature=[0-9a-fA-F]{16,}/g],
];

export function credentialShapes(text: string): ShapeFinding[] {
  const findings: ShapeFinding[] = [];
  for (const [shape, pattern] of SHAPES) {
    pattern.lastIndex = 0;
    // A global regex advances past each match; matchAll ends at the end of the text.
    for (const match of text.matchAll(pattern)) findings.push({ shape, offset: match.index ?? 0 });
  }
  return findings.sort((a, b) => a.offset - b.offset);
}

/** The text with every credential-shaped part replaced by «shape» (for failure messages). */
export function maskCredentialShapes(text: string): string {
  return SHAPES.reduce((out, [shape, pattern]) => out.replace(pattern, `«${shape}»`), text);
}
