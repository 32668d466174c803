/** Pushed events shaped as Mimecast sends them (docs/mimecast-api.md D.6, D.7; docs/PUSH.md). */
import { gzipSync } from 'node:zlib';

/** A Cloud Gateway receipt event, as a SIEM 2.0 batch file line carries it (without transport fields). */
export function receiptEvent(n: number): Record<string, unknown> {
  return {
    accountId: 'C0A0',
    aggregateId: `agg-${n}_1717588206`,
    processingId: `proc-${n}_1717588206`,
    action: 'Acc',
    direction: 'Inbound',
    messageId: `<msg-${n}@example.com>`,
    numberAttachments: '0',
    senderEnvelope: `sender${n}@example.com`,
    subject: 'Quarterly {report} "draft"',
    subtype: null,
    timestamp: 1717588206389 + n * 1000,
    type: 'receipt',
  };
}

/** An audit event as the audit API serves it. */
export function auditEvent(n: number): Record<string, unknown> {
  return {
    id: `eNqrVkrOLS-oVLJSMjIwMjQ-${n}`,
    auditType: 'User Logged On',
    user: `admin${n}@example.com`,
    eventTime: '2024-06-05T11:50:06+0000',
    eventInfo: 'Logged on from 192.0.2.10',
    category: 'authentication_logs',
  };
}

/** A Cloud Integrated mail flow event. */
export function ciEvent(n: number): Record<string, unknown> {
  return {
    accountId: 'C0A0',
    aggregateId: `ci-${n}`,
    processingId: `ci-proc-${n}`,
    messageId: `<ci-${n}@example.com>`,
    subtype: null,
    timestamp: 1717588206389 + n,
    type: 'mailflow',
  };
}

export const hecArray = (events: readonly unknown[]) => JSON.stringify(events.map((event) => ({ event })));
export const ndjson = (events: readonly unknown[]) =>
  `${events.map((event) => JSON.stringify({ event })).join('\n')}\n`;
export const bytes = (text: string) => new TextEncoder().encode(text);
export const gzip = (text: string) => new Uint8Array(gzipSync(text));
