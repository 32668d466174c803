import {
  floorToSecond,
  formatDateOnly,
  formatMimecastTime,
  parseMimecastTime,
  toIsoUtc,
} from '../../lambda/mimecast/time';

describe('parseMimecastTime', () => {
  it.each([
    ['2021-10-11T16:03:38+0000', '2021-10-11T16:03:38.000Z'],
    ['2017-05-26T16:47:41+0100', '2017-05-26T15:47:41.000Z'],
    ['2017-05-26T16:47:41-0400', '2017-05-26T20:47:41.000Z'],
    ['2017-05-26T16:47:41+01:00', '2017-05-26T15:47:41.000Z'],
    ['2024-06-05T11:50:06.389Z', '2024-06-05T11:50:06.389Z'],
    ['2024-06-05T11:50:06', '2024-06-05T11:50:06.000Z'],
    ['2024-06-05 11:50:06 UTC', '2024-06-05T11:50:06.000Z'],
    ['2024-06-05T11:50:06.123456789+0530', '2024-06-05T06:20:06.123Z'],
  ])('reads %s', (input, iso) => {
    expect(toIsoUtc(parseMimecastTime(input) as number)).toBe(iso);
  });

  it('reads epoch milliseconds and seconds, as numbers or strings', () => {
    expect(parseMimecastTime(1717588206389)).toBe(1717588206389);
    expect(parseMimecastTime('1717588206389')).toBe(1717588206389);
    expect(parseMimecastTime(1717588206)).toBe(1717588206000);
  });

  it.each([
    [undefined],
    [null],
    [''],
    ['yesterday'],
    ['2021-02-31T00:00:00Z'],
    ['2021-13-01T00:00:00Z'],
    ['2021-10-11T25:00:00Z'],
    [{}],
    [-5],
    [Number.NaN],
  ])('refuses %p', (input) => {
    expect(parseMimecastTime(input)).toBeUndefined();
  });
});

describe('formatting', () => {
  const ms = Date.UTC(2021, 10, 16, 12, 3, 24, 999);
  it('writes the request form with +0000 and whole seconds', () => {
    expect(formatMimecastTime(ms)).toBe('2021-11-16T12:03:24+0000');
  });
  it('writes date-only and floors to seconds', () => {
    expect(formatDateOnly(ms)).toBe('2021-11-16');
    expect(floorToSecond(ms)).toBe(Date.UTC(2021, 10, 16, 12, 3, 24));
  });
  it('round-trips through the request form', () => {
    expect(parseMimecastTime(formatMimecastTime(ms))).toBe(floorToSecond(ms));
  });
});
