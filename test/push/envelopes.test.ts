/** Stream, log type, time and id of pushed events; the match key the gap fill compares. */
import { eventId } from '../../lambda/core/envelope';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import {
  classifyPushEvent,
  PUSH_UNCLASSIFIED,
  parsePushBody,
  pushEnvelopes,
  pushMatchKey,
} from '../../lambda/push';
import { auditEvent, bytes, ciEvent, hecArray, receiptEvent } from './fixtures';

const RECEIVED = Date.UTC(2024, 5, 5, 12, 0, 0);
const options = { instance: 'acme-prod', receivedAtMs: RECEIVED };
const items = (events: unknown[]) => parsePushBody(bytes(hecArray(events)), { maxDecodedBytes: 1 << 20 });

describe('classifyPushEvent', () => {
  it('Cloud Gateway events: stream siem, log type from `type`, time from `timestamp`', () => {
    for (const type of ['receipt', 'process', 'delivery', 'url protect', 'journal']) {
      expect(classifyPushEvent({ ...receiptEvent(0), type })).toEqual({
        stream: 'siem',
        logType: type,
        timeMs: 1717588206389,
      });
    }
  });

  it('a CG type it does not list yet, recognised by Mimecast ids: stream siem with its own type', () => {
    expect(classifyPushEvent({ ...receiptEvent(0), type: 'threat remediation' })).toMatchObject({
      stream: 'siem',
      logType: 'threat remediation',
    });
  });

  it('Cloud Integrated events: stream siem-ci', () => {
    expect(classifyPushEvent(ciEvent(1))).toEqual({
      stream: 'siem-ci',
      logType: 'mailflow',
      timeMs: 1717588206390,
    });
  });

  it('audit events: stream audit, log type the category (as pull gives it), else audit', () => {
    expect(classifyPushEvent(auditEvent(1))).toEqual({
      stream: 'audit',
      logType: 'authentication_logs',
      timeMs: Date.UTC(2024, 5, 5, 11, 50, 6),
    });
    const { category: _, ...uncategorised } = auditEvent(1);
    expect(classifyPushEvent(uncategorised).logType).toBe('audit');
  });

  it('anything else: push-unclassified in stream siem, with whatever time it carries', () => {
    expect(classifyPushEvent({ name: 'Event 1', id: 1 })).toEqual({
      stream: 'siem',
      logType: PUSH_UNCLASSIFIED,
    });
    expect(classifyPushEvent({ type: 'mystery', date: '2024-06-05T11:50:06Z' })).toEqual({
      stream: 'siem',
      logType: PUSH_UNCLASSIFIED,
      timeMs: Date.UTC(2024, 5, 5, 11, 50, 6),
    });
    expect(classifyPushEvent('plain text').logType).toBe(PUSH_UNCLASSIFIED);
    // A type without a valid timestamp is not taken for a SIEM event.
    expect(classifyPushEvent({ type: 'receipt', timestamp: 'soon' }).logType).toBe(PUSH_UNCLASSIFIED);
  });
});

describe('pushEnvelopes', () => {
  it('wraps each event in the envelope, time from the event, else HEC time, else arrival', () => {
    const pushed = items([receiptEvent(1), { name: 'Event 1', id: 1 }]);
    pushed[1] = { ...pushed[1]!, hecTimeMs: Date.UTC(2024, 5, 5, 11, 0, 0) };
    pushed.push({ event: { name: 'no time' }, index: 3 });
    const envelopes = pushEnvelopes(pushed, options);
    expect(envelopes.map((e) => [e.stream, e.logType, e.time, e.instance])).toEqual([
      ['siem', 'receipt', '2024-06-05T11:50:07.389Z', 'acme-prod'],
      ['siem', PUSH_UNCLASSIFIED, '2024-06-05T11:00:00.000Z', 'acme-prod'],
      ['siem', PUSH_UNCLASSIFIED, '2024-06-05T12:00:00.000Z', 'acme-prod'],
    ]);
    expect(envelopes[0]?.event).toEqual(receiptEvent(1));
  });

  it('an audit event gets the id the pull path gives the same record (canonical JSON, key order aside)', () => {
    const record = auditEvent(4);
    const reordered = Object.fromEntries(Object.entries(record).reverse());
    const [envelope] = pushEnvelopes(items([reordered]), options);
    // The audit source numbers each page's records with OccurrenceIds.idOf (lambda/mimecast/streams/window.ts).
    expect(envelope?.id).toBe(new OccurrenceIds('audit').idOf(record));
    expect(envelope?.id).toBe(eventId('audit', record));
  });

  it('the same push again gives the same ids; identical events of one push get ids of their own', () => {
    const events = [receiptEvent(1), receiptEvent(1), auditEvent(1), receiptEvent(1)];
    const first = pushEnvelopes(items(events), options).map((e) => e.id);
    const again = pushEnvelopes(items(events), { ...options, receivedAtMs: RECEIVED + 60_000 }).map(
      (e) => e.id,
    );
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(4);
    expect(first[0]).toBe(eventId('siem', receiptEvent(1)));
    expect(first[1]).toBe(eventId('siem', receiptEvent(1), 2));
    expect(first[3]).toBe(eventId('siem', receiptEvent(1), 3));
    expect(first[2]).toBe(eventId('audit', auditEvent(1)));
  });
});

describe('pushMatchKey', () => {
  it('is the same for a pushed event and the SIEM batch-file record it came from (transport fields aside)', () => {
    const pushed = receiptEvent(5);
    const fromFile = { _offset: 1800005, _partition: 53, ...receiptEvent(5) };
    expect(pushMatchKey('siem', fromFile)).toBe(pushMatchKey('siem', pushed));
    expect(pushMatchKey('siem', pushed)).toBe(pushEnvelopes(items([pushed]), options)[0]?.id);
    expect(fromFile).toHaveProperty('_offset');
  });

  it('differs between events, and between streams', () => {
    expect(pushMatchKey('siem', receiptEvent(1))).not.toBe(pushMatchKey('siem', receiptEvent(2)));
    expect(pushMatchKey('siem', receiptEvent(1))).not.toBe(pushMatchKey('siem-ci', receiptEvent(1)));
  });
});
