/**
 * Every stream's first tick makes an authenticated call (issue 11, item 8), through the real engine,
 * Mimecast client, sink and dynalite: a stream collected from "now" used to ask for an empty window and
 * make no call, so a missing permission (or wrong key, or wrong URL) went unseen until data arrived.
 */
import { PermissionError } from '../../lambda/errors';
import { ALL_STREAMS, outcomes, rigPerTest, STREAM_PATHS } from './support';

const rigFor = rigPerTest();

describe.each([1, 2] as const)('API %i, first tick from now', (api) => {
  it('asks Mimecast for every stream and is caught up', async () => {
    const rig = await rigFor({ api });
    const result = await rig.run({ collectionStart: null });
    expect(result.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
    const paths = rig.sim.requests().map((r) => r.path);
    for (const stream of ALL_STREAMS) {
      const path = STREAM_PATHS[stream][api];
      expect({
        stream,
        asked: paths.some((p) => (typeof path === 'string' ? p === path : path.test(p))),
      }).toEqual({
        stream,
        asked: true,
      });
    }
  });

  it('fails a stream whose permission is missing, on the first tick and the next', async () => {
    const rig = await rigFor({ api });
    rig.sim.inject({
      path: STREAM_PATHS.audit[api],
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 403, code: api === 1 ? 'err_xdk_forbidden' : 'app_forbidden' },
    });
    for (const tick of [1, 2]) {
      const result = await rig.run({ streams: ['audit', 'dlp'], collectionStart: null });
      expect({ tick, outcomes: outcomes(result) }).toEqual({
        tick,
        outcomes: { audit: 'failed', dlp: 'caught-up' },
      });
      expect(result.streams.find((s) => s.stream === 'audit')?.error).toBeInstanceOf(PermissionError);
      rig.clock.advance(5_000);
    }
  });
});
