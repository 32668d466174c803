/**
 * Opaque continuation tokens (page tokens, mc-siem-token, @nextPage, threat-feed tokens).
 *
 * The server stays stateless: a token carries its own position, deflated like Mimecast's `eNq…` ids, and
 * an HMAC so a forged, edited or foreign token is refused exactly like an invalid one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

const MAC_BYTES = 12;
/** Tokens longer than this are refused unread: nothing we issue comes close. */
const MAX_TOKEN_LENGTH = 4096;

export class TokenSealer {
  constructor(private readonly key: Buffer) {}

  /** The payload, or undefined when the token is not one we issued for this kind. */
  open(kind: string, token: string): unknown {
    const sealed = this.unseal(token);
    return sealed !== undefined && sealed[0] === kind ? sealed[1] : undefined;
  }

  /**
   * Another token for the same position: same kind and payload, plus `variant` (the `repeat-page` fault
   * hands out a new token for a page it serves again). Undefined when the token is not one we issued.
   */
  reseal(token: string, variant: number): string | undefined {
    const sealed = this.unseal(token);
    return sealed === undefined ? undefined : this.sealBody([sealed[0], sealed[1], variant]);
  }

  seal(kind: string, payload: unknown): string {
    return this.sealBody([kind, payload]);
  }

  /** `[kind, payload]` (or with a variant number), after checking the MAC. */
  private unseal(token: string): [string, unknown] | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token))
      return undefined;
    let raw: Buffer;
    try {
      raw = inflateSync(Buffer.from(token, 'base64url'), { maxOutputLength: 64 * 1024 });
    } catch {
      return undefined;
    }
    if (raw.length <= MAC_BYTES) return undefined;
    const mac = raw.subarray(0, MAC_BYTES);
    const body = raw.subarray(MAC_BYTES);
    if (!timingSafeEqual(mac, this.mac(body))) return undefined;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      const shaped =
        Array.isArray(parsed) &&
        (parsed.length === 2 || (parsed.length === 3 && typeof parsed[2] === 'number')) &&
        typeof parsed[0] === 'string';
      return shaped ? [parsed[0], parsed[1]] : undefined;
    } catch {
      return undefined;
    }
  }

  private sealBody(value: unknown[]): string {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    const mac = this.mac(body);
    return deflateSync(Buffer.concat([mac, body]), { level: 9 }).toString('base64url');
  }

  /** A stable unguessable hex id for a value (used in pre-signed file paths). */
  idFor(value: string, hexLength = 16): string {
    return createHmac('sha256', this.key).update(`id:${value}`).digest('hex').slice(0, hexLength);
  }

  signHex(value: string): string {
    return createHmac('sha256', this.key).update(`sig:${value}`).digest('hex');
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}
