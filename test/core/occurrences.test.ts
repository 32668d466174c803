/** Occurrence numbering of identical records (lambda/core/occurrences.ts, issue 11 item 6). */
import { canonicalJson, eventId, eventIdOfCanonical } from '../../lambda/core/envelope';
import { OccurrenceIds } from '../../lambda/core/occurrences';

const logon = {
  auditType: 'Logon Authentication Failed',
  user: 'a@b.example',
  eventTime: '2026-11-21T10:00:00+0000',
};

test('distinct records keep the ids they always had; identical ones are numbered in answer order', () => {
  const ids = new OccurrenceIds('audit');
  const other = { ...logon, user: 'c@d.example' };
  expect([logon, other, { ...logon }, logon].map((r) => ids.idOf(r))).toEqual([
    eventId('audit', logon),
    eventId('audit', other),
    eventId('audit', logon, 2),
    eventId('audit', logon, 3),
  ]);
  expect(ids.lastKey).toBe(eventId('audit', logon));
  expect(ids.countOf(eventId('audit', logon))).toBe(3);
  expect(ids.countOf(eventId('audit', other))).toBe(1);
});

test('key order does not make records different; the same answer numbered again gives the same ids', () => {
  const answer = [logon, { eventTime: logon.eventTime, user: logon.user, auditType: logon.auditType }];
  const first = answer.map((r) => new OccurrenceIds('audit').idOf(r));
  expect(first[0]).toBe(first[1]);
  const once = new OccurrenceIds('audit');
  const again = new OccurrenceIds('audit');
  expect(answer.map((r) => once.idOf(r))).toEqual(answer.map((r) => again.idOf(r)));
  expect(new Set(answer.map((r) => once.idOf(r))).size).toBe(2);
});

test('carried counts continue a run of identical records from the previous page', () => {
  const page2 = new OccurrenceIds('audit', { [eventId('audit', logon)]: 2 });
  expect(page2.idOf(logon)).toBe(eventId('audit', logon, 3));
  expect(page2.countOf(eventId('audit', logon))).toBe(3);
});

test('the same record in two streams has two ids', () => {
  expect(new OccurrenceIds('audit').idOf(logon)).not.toBe(new OccurrenceIds('dlp').idOf(logon));
});

test('each record of an answer is hashed once: a copy is not hashed again for the key its copies count under', () => {
  let hashes = 0;
  let Counting: typeof OccurrenceIds | undefined;
  jest.isolateModules(() => {
    jest.doMock('node:crypto', () => {
      const real = jest.requireActual<typeof import('node:crypto')>('node:crypto');
      const counted = (algorithm: string, data: string, encoding: 'hex') => {
        hashes += 1;
        return real.hash(algorithm, data, encoding);
      };
      const createHash = (algorithm: string) => {
        hashes += 1;
        return real.createHash(algorithm);
      };
      return { ...real, hash: counted, createHash };
    });
    Counting = (require('../../lambda/core/occurrences') as typeof import('../../lambda/core/occurrences'))
      .OccurrenceIds;
  });
  const ids = new Counting!('audit');
  const other = { ...logon, user: 'c@d.example' };
  const answer = [logon, other, { ...logon }, logon, other];
  const numbered = answer.map((r) => ids.idOf(r));
  expect(hashes).toBe(answer.length);
  // The same ids as without counting.
  const plain = new OccurrenceIds('audit');
  expect(numbered).toEqual(answer.map((r) => plain.idOf(r)));
  jest.dontMock('node:crypto');
});

describe('idOfText: SIEM file records, identified by their own text', () => {
  const text = JSON.stringify(logon);

  test('numbers identical texts like idOf does, with the same hash over the text', () => {
    const ids = new OccurrenceIds('siem');
    const [first, second, third] = [text, text, text].map((t) => ids.idOfText(t));
    expect(first).toBe(eventIdOfCanonical('siem', text, 1));
    expect(second).toBe(eventIdOfCanonical('siem', text, 2));
    expect(third).toBe(eventIdOfCanonical('siem', text, 3));
    expect(ids.countOf(first!)).toBe(3);
  });

  test('the same file read again gives the same ids; other bytes for the same value are another record', () => {
    const reordered = JSON.stringify({
      user: logon.user,
      eventTime: logon.eventTime,
      auditType: logon.auditType,
    });
    const file = [text, reordered, text];
    expect(file.map((t) => new OccurrenceIds('siem').idOfText(t))).toEqual(
      file.map((t) => new OccurrenceIds('siem').idOfText(t)),
    );
    const once = new OccurrenceIds('siem');
    expect(new Set(file.map((t) => once.idOfText(t))).size).toBe(3);
    expect(new OccurrenceIds('siem').idOfText(text)).not.toBe(new OccurrenceIds('siem').idOfText(reordered));
  });

  test('canonical text gives the id idOf gives', () => {
    expect(new OccurrenceIds('siem').idOfText(canonicalJson(logon))).toBe(
      new OccurrenceIds('siem').idOf(logon),
    );
  });
});
