/**
 * The simulator modes for service habits other integrations had to fix (docs/mimecast-api.md section I): repeated
 * batch URLs, caught-up listings without `@nextPage`, tokens that expire early, and paging that does
 * not advance (faults `stuck-token`, `repeat-page`). The threat feed's no-result answer is in
 * threat-feed.test.ts.
 */
import { type RunningSimulator, type SimulatorOptions, startSimulator } from './index';
import { fetchToken, header, http, json, testClock, v1Caller, v2Caller } from './sim-client';

const LISTING = '/siem/v1/batch/events/cg';
const AUDIT = '/api/audit/get-audit-events';
const FEED = '/api/ttp/threat-intel/get-feed';
const SIEM_V1 = '/api/audit/get-siem-logs';
const clock = testClock();
const window = { startDateTime: '2025-06-04T00:00:00+0000', endDateTime: '2025-06-05T12:00:00+0000' };

let sim: RunningSimulator;
async function start(options: SimulatorOptions): Promise<RunningSimulator> {
  sim = await startSimulator({ now: clock.now, ...options });
  return sim;
}
afterEach(() => sim?.stop());

const pathOf = (url: string) => new URL(url).pathname;

describe('batch listings', () => {
  test('v2BatchRepeatUrls pad: short pages are filled with files already listed', async () => {
    await start({
      events: { siem: 30 },
      siem: { v2EventsPerFile: 10, v2LogTypes: ['receipt'], fileIntervalMs: 0 },
      variants: { v2BatchRepeatUrls: 'pad' },
    });
    const caller = await v2Caller(sim);
    const first = json(await caller.get(`${LISTING}?type=receipt&pageSize=2`));
    const second = json(
      await caller.get(
        `${LISTING}?type=receipt&pageSize=2&nextPage=${encodeURIComponent(first['@nextPage'])}`,
      ),
    );
    expect(first.value.map((f: { url: string }) => pathOf(f.url))).toHaveLength(2);
    // Three files: the second page holds the third, padded with the first page's last file, re-signed.
    expect(second.isCaughtUp).toBe(true);
    const [fresh, repeat] = second.value as Array<{ url: string }>;
    expect(first.value.map((f: { url: string }) => pathOf(f.url))).not.toContain(pathOf(fresh!.url));
    expect(pathOf(repeat!.url)).toBe(pathOf(first.value[1].url));
    // A page with nothing listed before it repeats its own files.
    const whole = json(await caller.get(`${LISTING}?type=receipt&pageSize=5`));
    const paths = whole.value.map((f: { url: string }) => pathOf(f.url));
    expect(paths).toHaveLength(5);
    expect(new Set(paths).size).toBe(3);
  });

  test('v2BatchNextPageWhenCaughtUp omit: a caught-up or empty listing has no @nextPage', async () => {
    await start({
      events: { siem: 30 },
      siem: { v2EventsPerFile: 10, v2LogTypes: ['receipt'], fileIntervalMs: 0 },
      variants: { v2BatchNextPageWhenCaughtUp: 'omit' },
    });
    const caller = await v2Caller(sim);
    const more = json(await caller.get(`${LISTING}?type=receipt&pageSize=2`));
    expect(more).toMatchObject({ isCaughtUp: false, '@nextPage': expect.any(String) });
    const last = json(
      await caller.get(
        `${LISTING}?type=receipt&pageSize=2&nextPage=${encodeURIComponent(more['@nextPage'])}`,
      ),
    );
    expect(last.isCaughtUp).toBe(true);
    expect(last).not.toHaveProperty('@nextPage');
    const empty = json(await caller.get(`${LISTING}?type=process&pageSize=2`));
    expect(empty).toEqual({ value: [], isCaughtUp: true });
  });
});

test('v2TokenEarlyExpirySeconds: a token stops working before its announced expiry, with 401 token_expired', async () => {
  await start({
    events: { audit: 3 },
    tokenExpiresInSeconds: 600,
    variants: { v2TokenEarlyExpirySeconds: 500 },
  });
  const token = await fetchToken(sim);
  const call = () =>
    http(sim.url + AUDIT, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: [window] }),
    });
  expect((await call()).status).toBe(200);
  clock.advance(100_000);
  const expired = await call();
  expect(expired.status).toBe(401);
  expect(json(expired).fail[0].code).toBe('token_expired');
});

describe('paging faults', () => {
  test('stuck-token: each paged endpoint hands back the token it was asked with', async () => {
    await start({
      events: { audit: 30, 'malware-customer': 30, siem: 30 },
      threatFeed: { indicatorsPerFile: 5 },
      siem: { v1EventsPerFile: 5, v2EventsPerFile: 5, fileIntervalMs: 0 },
    });
    const v1 = v1Caller(sim, clock.now);
    const page1 = json(await v1.post(AUDIT, { meta: { pagination: { pageSize: 5 } }, data: [window] }));
    const feed1 = await v1.post(FEED, { data: [{ feedType: 'malware_customer', fileType: 'stix' }] });
    const file1 = await v1.post(SIEM_V1, { data: [{ type: 'MTA', fileFormat: 'json', compress: true }] });
    const v2 = await v2Caller(sim);
    const listing1 = json(await v2.get(`${LISTING}?pageSize=1`));
    sim.inject({ times: Number.POSITIVE_INFINITY, fault: { kind: 'stuck-token' } });

    const pageToken = page1.meta.pagination.next;
    const page2 = json(
      await v1.post(AUDIT, { meta: { pagination: { pageSize: 5, pageToken } }, data: [window] }),
    );
    expect(page2.meta.pagination.next).toBe(pageToken);
    expect(page2.data).not.toEqual(page1.data);
    const feedToken = header(feed1, 'x-mc-threat-feed-next-token');
    const feed2 = await v1.post(FEED, {
      data: [{ feedType: 'malware_customer', fileType: 'stix', token: feedToken }],
    });
    expect(header(feed2, 'x-mc-threat-feed-next-token')).toBe(feedToken);
    const siemToken = header(file1, 'mc-siem-token');
    const file2 = await v1.post(SIEM_V1, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true, token: siemToken }],
    });
    expect(header(file2, 'mc-siem-token')).toBe(siemToken);
    expect(file2.body.equals(file1.body)).toBe(false);
    const listing2 = json(
      await v2.get(`${LISTING}?pageSize=1&nextPage=${encodeURIComponent(listing1['@nextPage'])}`),
    );
    expect(listing2).toMatchObject({ '@nextPage': listing1['@nextPage'], isCaughtUp: false });
  });

  test('repeat-page: the previous answer again, under a fresh token for the requested position', async () => {
    await start({ events: { audit: 30 } });
    const v1 = v1Caller(sim, clock.now);
    const ask = (pageToken?: string) =>
      v1
        .post(AUDIT, {
          meta: { pagination: { pageSize: 5, ...(pageToken ? { pageToken } : {}) } },
          data: [window],
        })
        .then(json);
    const page1 = await ask();
    sim.inject({ path: AUDIT, times: 2, fault: { kind: 'repeat-page' } });
    const again = await ask(page1.meta.pagination.next);
    expect(again.data).toEqual(page1.data);
    expect(again.meta.pagination.next).not.toBe(page1.meta.pagination.next);
    const againAndAgain = await ask(again.meta.pagination.next);
    expect(againAndAgain.data).toEqual(page1.data);
    expect(againAndAgain.meta.pagination.next).not.toBe(again.meta.pagination.next);
    // Once the fault is over the fresh token leads on, to what page 1's token leads to: nothing skipped.
    const page2 = await ask(againAndAgain.meta.pagination.next);
    expect(page2.data).not.toEqual(page1.data);
    expect(page2.data).toEqual((await ask(page1.meta.pagination.next)).data);
  });
});
