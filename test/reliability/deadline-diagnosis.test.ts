/**
 * A Mimecast answer that stalls half-way through its body until the call's time is up must be reported
 * as what it is — the function's time budget ran out — with the remedy for that, not as a network
 * failure ("check network egress"), whichever of the two limits ends the read: the call's deadline or
 * the run's abort signal. (Found by the fault matrix's mc-stall-mid-body row.)
 */
import { Agent } from 'undici';
import type { CallBudget } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';
import { CollectorError } from '../../lambda/errors';
import { createMimecastClient } from '../../lambda/mimecast';
import { type RunningSimulator, startSimulator } from '../simulator';

const CASES: ReadonlyArray<readonly [string, 1 | 2, StreamId, string | RegExp]> = [
  ['JSON page (audit, API 2.0)', 2, 'audit', '/api/audit/get-audit-events'],
  ['SIEM zip file (API 1.0)', 1, 'siem', '/api/audit/get-siem-logs'],
  ['SIEM batch file (API 2.0)', 2, 'siem', /^\/mimecast-siem-cg\//],
  ['threat feed (API 2.0)', 2, 'malware-customer', '/api/ttp/threat-intel/get-feed'],
];

let sim: RunningSimulator;
const dispatcher = new Agent({ keepAliveTimeout: 1000 });
beforeAll(async () => {
  sim = await startSimulator({
    seed: 3,
    events: { audit: 40, siem: 60, 'malware-customer': 20 },
    variants: { maxPageSize: 10 },
    siem: { v1EventsPerFile: 60, v2EventsPerFile: 60, fileIntervalMs: 0 },
    threatFeed: { indicatorsPerFile: 20 },
  });
});
afterAll(async () => {
  await dispatcher.close();
  await sim.stop();
});
afterEach(() => sim.clearFaults());

/** Reads a whole page (records included), returning the error it ends with. */
async function readPage(api: 1 | 2, stream: StreamId, budget: CallBudget): Promise<unknown> {
  const client = createMimecastClient({
    baseUrl: sim.url,
    credentials: api === 1 ? sim.credentials.v1 : sim.credentials.v2,
    dispatcher,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  const source = client.source(stream);
  const cursor = source.seed(new Date(Date.now() - 30 * 3_600_000), new Date());
  try {
    const page = await source.fetchPage(cursor, budget);
    for await (const _record of page.records) {
      // Reading on until the stall ends the read.
    }
    page.end();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe.each(CASES)('%s stalling mid-body', (_name, api, stream, path) => {
  it.each(['the call deadline', 'the run being aborted'] as const)(
    'until %s: a time-budget error',
    async (how) => {
      sim.inject({ path, times: 10, fault: { kind: 'delay', ms: 1500, phase: 'mid-body' } });
      const controller = new AbortController();
      const timer =
        how === 'the run being aborted'
          ? setTimeout(() => controller.abort(new Error('run over')), 400)
          : undefined;
      const error = await readPage(api, stream, {
        signal: controller.signal,
        deadline: Date.now() + (how === 'the call deadline' ? 400 : 5000),
      });
      clearTimeout(timer);
      expect(error).toBeInstanceOf(CollectorError);
      const { message, remedy, retryable } = error as CollectorError;
      expect({ message, remedy, retryable }).toEqual({
        message: expect.stringMatching(
          /Stopped calling Mimecast .*(the call deadline passed|the run was aborted)/,
        ),
        remedy: expect.stringMatching(/give the function more time/),
        retryable: true,
      });
      expect(remedy).not.toMatch(/network egress/);
    },
  );
});
