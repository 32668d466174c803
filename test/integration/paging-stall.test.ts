/**
 * Issue 11 item 2: paging that does not advance. Mimecast hands back the very token it was asked with
 * (fault `stuck-token`), or serves the previous page again under a new token (fault `repeat-page`).
 * Either way the stream must stop on the first repeat with a named protocol error counted in its Mimecast
 * errors, keep its checkpoint where the last acknowledged batch left it, and finish normally once
 * Mimecast pages properly again — never spend its page budget on the same page.
 */
import type { StreamId } from '../../lambda/core/streams';
import { PagingStalledError, ProtocolError } from '../../lambda/errors';
import type { SimulatorOptions } from '../simulator';
import {
  deliveryReport,
  exactlyOnce,
  firstPage,
  outcomes,
  repeated,
  rigPerTest,
  STREAM_PATHS,
  sameSet,
} from './support';

const rigFor = rigPerTest();

/** SIEM on API 2.0 with two event types holding several pages of files each (pages of 2 files). */
const SIEM_V2_PAGES: Partial<SimulatorOptions> = {
  events: { siem: 60 },
  siem: { v2LogTypes: ['receipt', 'process'] },
};

/**
 * Per case: what the error says. A token handed back is caught by the source where the token is read; a
 * page served again under a new token by the engine (same records, same order), except on the SIEM batch
 * listing, whose source sees that the page lists only files it has read.
 */
type Case = [
  string,
  1 | 2,
  StreamId,
  Partial<SimulatorOptions>,
  { 'stuck-token': RegExp; 'repeat-page': RegExp },
];

const SAME_PAGE = /the page read has the same \d+ records, in the same order, as the page before it/;
const CASES: Case[] = [
  [
    'audit (JSON pages)',
    1,
    'audit',
    {},
    { 'stuck-token': /pagination.next is the pageToken/, 'repeat-page': SAME_PAGE },
  ],
  [
    'audit (JSON pages)',
    2,
    'audit',
    {},
    { 'stuck-token': /pagination.next is the pageToken/, 'repeat-page': SAME_PAGE },
  ],
  [
    'malware-customer (feed files)',
    2,
    'malware-customer',
    {},
    { 'stuck-token': /x-mc-threat-feed-next-token is the token/, 'repeat-page': SAME_PAGE },
  ],
  [
    'siem (files by mc-siem-token)',
    1,
    'siem',
    {},
    { 'stuck-token': /came with the mc-siem-token it was asked with/, 'repeat-page': SAME_PAGE },
  ],
  [
    'siem (batch listing)',
    2,
    'siem',
    SIEM_V2_PAGES,
    {
      'stuck-token': /@nextPage is the nextPage it was asked with/,
      'repeat-page': /lists only files already read/,
    },
  ],
];

describe.each(['stuck-token', 'repeat-page'] as const)('fault %s', (kind) => {
  it.each(CASES)(
    '%s on API %i: stops on the first repeat, then resumes',
    async (_what, api, stream, simulator, says) => {
      const r = await rigFor({ api, simulator });
      const fetched = await firstPage(r, stream);
      expect(fetched.length).toBeGreaterThan(0);
      const path = STREAM_PATHS[stream][api];
      r.sim.clearRequests();
      const calls = () => r.sim.requests().filter((q) => q.path === path).length;
      // Every call after the first pages wrongly until the fault is cleared.
      r.sim.inject({ path, api, after: 1, times: Number.POSITIVE_INFINITY, fault: { kind } });

      const stalled = await r.run({ owner: 'stalled', streams: [stream] });
      const result = stalled.streams[0]!;
      expect({ outcome: result.outcome, mimecastErrors: result.mimecastErrors, calls: calls() }).toEqual({
        outcome: 'failed',
        mimecastErrors: { protocol: 1 },
        calls: 2,
      });
      expect(result.error).toBeInstanceOf(PagingStalledError);
      expect(result.error).toBeInstanceOf(ProtocolError);
      const error = result.error as PagingStalledError;
      expect(error.stream).toBe(stream);
      expect(error.message).toMatch(/^Mimecast paging did not advance: /);
      expect(error.message).toMatch(says[kind]);
      expect(error.remedy).toMatch(/reset/);
      // What the first page held was delivered once; nothing of the repeated page went out again.
      expect(sameSet(r.delivered(stream), fetched)).toBe(true);
      expect(repeated(r.delivered(stream))).toEqual([]);
      const checkpoint = await r.checkpoint(stream);
      expect(checkpoint).toMatchObject({
        consecutiveFailures: 1,
        offset: 0,
        lastError: { name: 'PagingStalledError', kind: 'protocol' },
        totals: { events: fetched.length },
      });
      expect(checkpoint?.lease).toBeUndefined();

      // Mimecast pages properly again: the stream completes from its checkpoint, nothing lost or repeated.
      r.sim.clearFaults();
      const resumed = await r.run({ owner: 'resumed', streams: [stream] });
      expect(outcomes(resumed)).toEqual({ [stream]: 'caught-up' });
      expect(deliveryReport(r, [stream])).toEqual(exactlyOnce([stream]));
      expect(await r.checkpoint(stream)).toMatchObject({ consecutiveFailures: 0 });
    },
  );
});
