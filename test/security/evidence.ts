/**
 * Everything a person or a log pipeline could see after a run, gathered as labelled texts for the
 * leak scanner: log lines, thrown errors (message, stack, every cause and AggregateError member,
 * JSON and util.inspect forms), returned outcomes, stored checkpoints, and what the command line printed.
 *
 * Also the credentials that only exist on the wire (OAuth tokens the simulator issued, API 1.0
 * signatures, pre-signed URL signatures, the receiver's Authorization values), read from what the
 * loopback servers recorded: they are secrets too and must never reach an output.
 */
import { inspect } from 'node:util';
import type { RecordedRequest as ReceiverRequest } from '../receivers';
import type { RecordedRequest as SimulatorRequest } from '../simulator';
import { createLeakScanner } from '../support/leak-scan';
import { credentialShapes, maskCredentialShapes } from './credential-shapes';

export interface Evidence {
  /** Where the text was seen, for the failure message (never the secret itself). */
  where: string;
  text: string;
}

/** Bounds the walk of a cause chain: a real chain is a handful deep. */
const MAX_CAUSE_DEPTH = 16;

/** Circular structures and BigInts must not stop the gathering. */
export function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v !== null && typeof v === 'object') {
          if (seen.has(v)) return '[circular]';
          seen.add(v);
        }
        return v;
      }) ?? String(value)
    );
  } catch (error) {
    return `[not serialisable: ${(error as Error).message}]`;
  }
}

function inspected(value: unknown): string {
  return inspect(value, { depth: 12, breakLength: Number.POSITIVE_INFINITY, maxStringLength: null });
}

/**
 * Every text an error can show: message and stack of it and of each cause and AggregateError
 * member (walked, bounded, cycle-safe), each one's JSON form (CollectorError.toJSON), and the
 * whole thing through util.inspect (own properties such as `excerpt`, `remedy`, `codes` included).
 */
export function errorEvidence(error: unknown, where: string): Evidence[] {
  const out: Evidence[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string, depth: number): void => {
    if (value === undefined || value === null || depth > MAX_CAUSE_DEPTH) return;
    if (typeof value === 'object') {
      if (seen.has(value)) return;
      seen.add(value);
    }
    if (!(value instanceof Error)) {
      out.push({ where: path, text: typeof value === 'string' ? value : safeJson(value) });
      out.push({ where: `${path} (inspect)`, text: inspected(value) });
      return;
    }
    out.push({ where: `${path}.message`, text: value.message });
    out.push({ where: `${path}.stack`, text: value.stack ?? '' });
    out.push({ where: `${path} (JSON)`, text: safeJson(value) });
    out.push({ where: `${path} (String)`, text: String(value) });
    visit(value.cause, `${path}.cause`, depth + 1);
    if (value instanceof AggregateError) {
      value.errors.forEach((member: unknown, i: number) => {
        visit(member, `${path}.errors[${i}]`, depth + 1);
      });
    }
  };
  visit(error, where, 0);
  out.push({ where: `${where} (inspect, whole chain)`, text: inspected(error) });
  return out;
}

export function valueEvidence(value: unknown, where: string): Evidence[] {
  return [
    { where: `${where} (JSON)`, text: safeJson(value) },
    { where: `${where} (inspect)`, text: inspected(value) },
  ];
}

/** Credentials seen on the simulator's wire: bearer tokens, MC signatures, whole Authorization values, pre-signed URL signatures. */
export function simulatorWireSecrets(requests: readonly SimulatorRequest[]): string[] {
  const found = new Set<string>();
  for (const request of requests) {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && authorization.trim() !== '') {
      found.add(authorization);
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (bearer?.[1]) found.add(bearer[1]);
      // `MC accessKey:signature`: the signature alone (base64 of an HMAC-SHA1) is a credential for its request.
      const mc = /^MC\s+([^:\s]+):(\S+)$/.exec(authorization);
      if (mc?.[2]) found.add(mc[2]);
    }
    // A pre-signed batch URL is a bearer credential for its file: its signature must not be printed.
    const signature = request.query['X-Amz-Signature'];
    if (signature) found.add(signature);
  }
  return [...found];
}

/** The values the collector put in the receiver's Authorization header (scheme and token). */
export function receiverWireSecrets(requests: readonly ReceiverRequest[]): string[] {
  const found = new Set<string>();
  for (const request of requests) {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && authorization.trim() !== '') found.add(authorization);
  }
  return [...found];
}

export interface LeakReport {
  /** How many texts were scanned, and their total size: a scan of nothing must not pass. */
  texts: number;
  chars: number;
  /** How many secrets were looked for (each in every encoding). */
  secrets: number;
  /** Human-readable findings: secret names, encodings and masked context, never the values. */
  problems: string[];
}

const CONTEXT_CHARS = 160;

/**
 * Scans every text for every encoding of every secret, and for credential-shaped text. A finding is
 * reported with the text around it, every secret encoding in it masked as «name:encoding».
 */
export function scanEvidence(evidence: readonly Evidence[], secrets: Record<string, string>): LeakReport {
  const scanner = createLeakScanner(secrets);
  const needles = [...scanner.encodings].sort((a, b) => b.text.length - a.text.length);
  const mask = (text: string) =>
    needles.reduce((out, e) => out.split(e.text).join(`«${e.secret}:${e.encoding}»`), text);
  const around = (text: string, offset: number) =>
    maskCredentialShapes(
      mask(text.slice(Math.max(0, offset - CONTEXT_CHARS), offset + CONTEXT_CHARS)),
    ).replace(/\s+/g, ' ');
  const problems: string[] = [];
  let chars = 0;
  for (const { where, text } of evidence) {
    chars += text.length;
    const findings = scanner.scan(text);
    if (findings.length > 0) {
      const bySecret = new Map<string, Set<string>>();
      for (const f of findings) bySecret.set(f.secret, (bySecret.get(f.secret) ?? new Set()).add(f.encoding));
      const which = [...bySecret].map(([secret, encodings]) => `${secret} (as ${[...encodings].join(', ')})`);
      problems.push(`${where}: ${which.join('; ')}\n  context: …${around(text, findings[0]?.offset ?? 0)}…`);
    }
    for (const shape of credentialShapes(text)) {
      problems.push(
        `${shape.shape} in ${where} at offset ${shape.offset}\n  context: …${around(text, shape.offset)}…`,
      );
    }
  }
  return { texts: evidence.length, chars, secrets: Object.keys(secrets).length, problems };
}
