/** Occurrence numbering of identical records (lambda/core/occurrences.ts, issue 11 item 6). */
import { eventId } from '../../lambda/core/envelope';
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
