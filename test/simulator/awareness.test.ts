import { type RunningSimulator, startSimulator } from './index';
import { type HttpResult, json, testClock, v1Caller, v2Caller } from './sim-client';

const PERFORMANCE = '/api/awareness-training/company/get-performance-details';
const SAFE_SCORE = '/api/awareness-training/company/get-safe-score-details';
const WATCHLIST = '/api/awareness-training/company/get-watchlist-details';
const CAMPAIGNS = '/api/awareness-training/phishing/campaign/get-campaign';
const USER_DATA = '/api/awareness-training/phishing/campaign/get-user-data';

type Post = (path: string, body: unknown) => Promise<HttpResult>;

/** Follows `meta.pagination.next` (bounded); returns the rows and the number of pages. */
async function walk(post: Post, path: string, item?: Record<string, unknown>, pageSize = 4) {
  const rows: Record<string, unknown>[] = [];
  let token: string | undefined;
  for (let pages = 1; pages <= 200; pages++) {
    const body = {
      meta: { pagination: { pageSize, ...(token ? { pageToken: token } : {}) } },
      ...(item ? { data: [item] } : {}),
    };
    const answer = json(await post(path, body));
    expect(answer.fail).toEqual([]);
    const page = path === USER_DATA ? (answer.data[0]?.items ?? []) : answer.data;
    rows.push(...page);
    token = answer.meta.pagination.next;
    if (!token || page.length === 0) return { rows, pages };
  }
  throw new Error('more than 200 pages');
}

describe('Awareness Training', () => {
  const clock = testClock();
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({
      seed: 23,
      now: clock.now,
      events: {
        'awareness-performance': 45,
        'awareness-safescore': 45,
        'awareness-watchlist': 6,
        'awareness-user-data': 20,
      },
      awareness: { campaigns: 3 },
    });
  });
  afterAll(() => sim.stop());

  test.each([
    ['awareness-performance', PERFORMANCE],
    ['awareness-safescore', SAFE_SCORE],
    ['awareness-watchlist', WATCHLIST],
  ] as const)('%s: every row once over the pages, as the ground truth has them', async (stream, path) => {
    const caller = await v2Caller(sim);
    const { rows, pages } = await walk(
      caller.post,
      path,
      stream === 'awareness-performance' ? { includeUserDetails: true } : undefined,
    );
    expect(rows).toEqual(sim.groundTruth(stream, 2));
    expect(pages).toBe(Math.ceil(rows.length / 4));
    // The same rows on the next walk: a snapshot of unchanged state is identical.
    expect(
      (
        await walk(
          caller.post,
          path,
          stream === 'awareness-performance' ? { includeUserDetails: true } : undefined,
        )
      ).rows,
    ).toEqual(rows);
  });

  test('record fields are the ones Sentinel’s parsers read', () => {
    expect(Object.keys(sim.groundTruth('awareness-performance', 2)[0] as object).sort()).toEqual(
      [
        'department',
        'email',
        'name',
        'numCorrect',
        'numIncorrect',
        'numNotWatched',
        'userDetails',
        'userState',
      ].sort(),
    );
    expect(sim.groundTruth('awareness-safescore', 2)[0]).toMatchObject({
      emailAddress: expect.any(String),
      risk: expect.stringMatching(/^[ABCDF]$/),
      humanError: expect.any(String),
      sentiment: expect.any(String),
      engagement: expect.any(String),
      knowledge: expect.any(String),
    });
    expect(sim.groundTruth('awareness-watchlist', 2)[0]).toMatchObject({
      watchlistCount: expect.any(Number),
    });
  });

  test('campaigns, then each campaign’s user data in data[0].items; rows name no campaign', async () => {
    const caller = await v2Caller(sim);
    const campaigns = json(await caller.post(CAMPAIGNS, { data: [] })).data as {
      id: string;
      name: string;
      launchDate: string;
    }[];
    expect(campaigns).toHaveLength(3);
    for (const c of campaigns) expect(c.launchDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$/);
    const all: Record<string, unknown>[] = [];
    for (const campaign of campaigns) {
      const { rows } = await walk(caller.post, USER_DATA, { id: campaign.id }, 3);
      for (const row of rows) {
        expect(row).not.toHaveProperty('campaignId');
        expect(row).toMatchObject({
          email: expect.any(String),
          status: expect.any(String),
          numCampaignsSent: expect.any(Number),
        });
        all.push({ ...row, campaignId: campaign.id, campaignName: campaign.name });
      }
    }
    // The ground truth is what a correct client forwards: each item with its campaign's id and name.
    expect(all).toHaveLength(20);
    expect(all).toEqual(expect.arrayContaining(sim.groundTruth('awareness-user-data', 2) as object[]));
  });

  test('user data without a campaign, or with an unknown one, is a validation failure in HTTP 200', async () => {
    const caller = await v2Caller(sim);
    const missing = await caller.post(USER_DATA, { data: [{}] });
    expect(missing.status).toBe(200);
    expect(json(missing).fail[0].errors[0]).toMatchObject({ code: 'err_validation_null', field: 'id' });
    const unknown = json(await caller.post(USER_DATA, { data: [{ id: 'nope' }] }));
    expect(unknown.fail[0].errors[0]).toMatchObject({ code: 'err_validation_invalid_value', field: 'id' });
    const badToken = json(await caller.post(WATCHLIST, { meta: { pagination: { pageToken: 'forged' } } }));
    expect(badToken.fail[0].errors[0]).toMatchObject({ code: 'err_validation_invalid_token' });
  });

  test('a walk sees the rows as of its first page; published rows appear in the next walk', async () => {
    const caller = await v2Caller(sim);
    const first = json(await caller.post(WATCHLIST, { meta: { pagination: { pageSize: 2 } } }));
    const added = sim.publish('awareness-watchlist', 3);
    let token = first.meta.pagination.next;
    let seen = first.data.length;
    for (let n = 0; token && n < 50; n++) {
      const page = json(
        await caller.post(WATCHLIST, { meta: { pagination: { pageSize: 2, pageToken: token } } }),
      );
      seen += page.data.length;
      token = page.meta.pagination.next;
    }
    expect(seen).toBe(6);
    const next = await walk(caller.post, WATCHLIST);
    expect(next.rows.slice(-3)).toEqual(added);
    expect(sim.groundTruth('awareness-watchlist', 1)).toEqual([]);
  });

  test('also answers API 1.0 signed calls (the collector reads these over API 2.0 only)', async () => {
    const caller = v1Caller(sim, clock.now);
    const answer = json(await caller.post(SAFE_SCORE, { meta: { pagination: { pageSize: 2 } } }));
    expect(answer.data).toHaveLength(2);
  });
});
