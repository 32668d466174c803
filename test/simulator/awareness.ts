/**
 * Awareness Training (docs/mimecast-api.md H): company-wide snapshots of per-user training state and, per phishing
 * campaign, per-user results. Request and record shapes follow what Sentinel's MimecastAT connector
 * sends and reads (its parsers name the fields): POST, `meta.pagination` paging, rows directly in
 * `data[]`, except get-user-data whose rows are `data[0].items` and whose request names a campaign
 * (`data[0].id`). get-campaign answers every campaign at once.
 *
 * The state is a count of rows per stream; row n is generated from (seed, stream, n), so a row is the
 * same in every snapshot until it changes. `publish` enrols new rows (new users, new recipients of the
 * campaigns); a walk sees the rows as of its first page (`pagingConsistency: 'snapshot'`) or also rows
 * enrolled meanwhile (`'live'`).
 */
import { z } from 'zod';
import type { SimContext, SimRequest } from './context';
import { DAY_MS, formatMimecastDate } from './dates';
import { invalidPageToken, parseEnvelope, resolvePageSize, validationFailure } from './envelope';
import { Rng, saltOf } from './random';
import { jsonResponse, type SimResponse } from './responses';
import { domainOf, type Tenant } from './tenant';

export const AWARENESS_STREAMS = [
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
] as const;
export type AwarenessStreamId = (typeof AWARENESS_STREAMS)[number];
type CompanyStreamId = Exclude<AwarenessStreamId, 'awareness-user-data'>;

export const CAMPAIGNS_PATH = '/api/awareness-training/phishing/campaign/get-campaign';
export const USER_DATA_PATH = '/api/awareness-training/phishing/campaign/get-user-data';
const COMPANY_PATHS: Record<string, CompanyStreamId> = {
  '/api/awareness-training/company/get-performance-details': 'awareness-performance',
  '/api/awareness-training/company/get-safe-score-details': 'awareness-safescore',
  '/api/awareness-training/company/get-watchlist-details': 'awareness-watchlist',
};

type Row = Record<string, unknown>;

const DEPARTMENTS = ['Finance', 'Sales', 'Engineering', 'Operations', 'People', 'Legal'] as const;
const USER_STATES = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'INACTIVE'] as const;
const GRADES = ['A', 'B', 'C', 'D', 'F'] as const;
const TEMPLATES = ['Parcel delivery failed', 'Shared invoice', 'Password expiry', 'Payroll update'] as const;

interface Person {
  email: string;
  name: string;
  department: string;
  userState: string;
}

/** The n-th trainee: the tenant's mailboxes first, then synthetic ones. */
function person(tenant: Tenant, seed: number, n: number): Person {
  const rng = Rng.of(seed, saltOf('awareness-person'), n);
  const email = n < tenant.users.length ? tenant.users[n]! : `trainee${n}@${domainOf(tenant.users[0]!)}`;
  const name = email
    .slice(0, email.indexOf('@'))
    .split('.')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(' ');
  return { email, name, department: rng.pick(DEPARTMENTS), userState: rng.pick(USER_STATES) };
}

export interface Campaign {
  id: string;
  name: string;
  launchDate: string;
}

export class AwarenessStore {
  private readonly counts: Record<AwarenessStreamId, number>;
  readonly campaigns: Campaign[];

  constructor(
    private readonly seed: number,
    private readonly tenant: Tenant,
    counts: Record<AwarenessStreamId, number>,
    campaignCount: number,
    launchedBefore: number,
  ) {
    this.counts = { ...counts };
    this.campaigns = Array.from({ length: campaignCount }, (_, c) => {
      const rng = Rng.of(seed, saltOf('awareness-campaign'), c);
      return {
        // Ids are not in launch order: the collector must not depend on any order but its own.
        id: rng.uuid(),
        name: `${rng.pick(TEMPLATES)} ${2026 + Math.floor(c / 4)}-Q${(c % 4) + 1}`,
        launchDate: formatMimecastDate(launchedBefore - (campaignCount - c) * 7 * DAY_MS),
      };
    });
  }

  count(stream: AwarenessStreamId): number {
    return this.counts[stream];
  }

  /** Enrols `count` more rows; returns them as a correct client forwards them. */
  publish(stream: AwarenessStreamId, count: number): Row[] {
    const from = this.counts[stream];
    this.counts[stream] += count;
    return Array.from({ length: count }, (_, k) => this.forwarded(stream, from + k));
  }

  /** Every row now, as a correct client forwards it (user data: with `campaignId` and `campaignName`). */
  all(stream: AwarenessStreamId): Row[] {
    return Array.from({ length: this.counts[stream] }, (_, n) => this.forwarded(stream, n));
  }

  private forwarded(stream: AwarenessStreamId, n: number): Row {
    if (stream !== 'awareness-user-data') return this.companyRow(stream, n);
    const campaign = this.campaignOf(n);
    return { ...this.userDataItem(n), campaignId: campaign.id, campaignName: campaign.name };
  }

  /** User-data row n belongs to campaign n mod C. */
  campaignOf(n: number): Campaign {
    return this.campaigns[n % this.campaigns.length]!;
  }

  /** Rows of one campaign among the first `total`: n = c, c + C, c + 2C, ... */
  campaignRows(c: number, total: number): number {
    const C = this.campaigns.length;
    return c >= total ? 0 : Math.ceil((total - c) / C);
  }

  companyRow(stream: CompanyStreamId, n: number, includeUserDetails = true): Row {
    const rng = Rng.of(this.seed, saltOf(stream), n);
    const p = person(this.tenant, this.seed, n);
    switch (stream) {
      case 'awareness-performance': {
        const [first, ...rest] = p.name.split(' ');
        return {
          email: p.email,
          name: p.name,
          department: p.department,
          numCorrect: rng.int(0, 24),
          numIncorrect: rng.int(0, 6),
          numNotWatched: rng.int(0, 4),
          userState: p.userState,
          ...(includeUserDetails ? { userDetails: { firstName: first, lastName: rest.join(' ') } } : {}),
        };
      }
      case 'awareness-safescore':
        return {
          emailAddress: p.email,
          name: p.name,
          department: p.department,
          risk: rng.pick(GRADES),
          humanError: rng.pick(GRADES),
          sentiment: rng.pick(GRADES),
          engagement: rng.pick(GRADES),
          knowledge: rng.pick(GRADES),
          userState: p.userState,
        };
      case 'awareness-watchlist':
        return {
          email: p.email,
          name: p.name,
          department: p.department,
          watchlistCount: rng.int(1, 5),
          userState: p.userState,
        };
    }
  }

  /** The n-th recipient row of a campaign as get-user-data lists it (no campaign field: the request named it). */
  userDataItem(n: number): Row {
    const rng = Rng.of(this.seed, saltOf('awareness-user-data'), n);
    const p = person(this.tenant, this.seed, Math.floor(n / this.campaigns.length));
    const campaign = this.campaignOf(n);
    const launched = Date.parse(campaign.launchDate.replace('+0000', 'Z'));
    const opened = rng.chance(0.6);
    const clicked = opened && rng.chance(0.3);
    const reported = opened && !clicked && rng.chance(0.5);
    const at = (hours: number) => formatMimecastDate(launched + hours * 3_600_000);
    return {
      email: p.email,
      name: p.name,
      department: p.department,
      templateName: campaign.name.replace(/ \d{4}-Q\d$/, ''),
      status: clicked ? 'CLICKED' : reported ? 'REPORTED' : opened ? 'OPENED' : 'SENT',
      timeScheduled: at(0),
      timeOpened: opened ? at(rng.int(1, 48)) : null,
      timeClicked: clicked ? at(rng.int(49, 60)) : null,
      timeReported: reported ? at(rng.int(49, 60)) : null,
      timeSubmitted: null,
      timeScanned: null,
      clickedIp: clicked ? rng.documentationIp() : null,
      reactionTime: clicked || reported ? rng.int(30, 7200) : null,
      numCampaignsSent: rng.int(1, 12),
      numCampaignsClicked: rng.int(0, 3),
      numCampaignsScanned: 0,
      numCampaignsClickedScanned: 0,
      numCorrectAnswers: rng.int(0, 10),
      numIncorrectAnswers: rng.int(0, 4),
      numTrainingModulesAssigned: rng.int(0, 6),
      userState: p.userState,
    };
  }
}

const TOKEN_KIND = 'awareness-page';
const tokenSchema = z.object({
  path: z.string(),
  campaign: z.number().nullable(),
  offset: z.int().nonnegative(),
  /** Rows visible to this walk (snapshot consistency), or null for a live walk. */
  asOf: z.int().nullable(),
  includeUserDetails: z.boolean(),
});
type PageToken = z.infer<typeof tokenSchema>;

export function isAwarenessPath(path: string): boolean {
  return path in COMPANY_PATHS || path === CAMPAIGNS_PATH || path === USER_DATA_PATH;
}

export function handleAwarenessRequest(request: SimRequest, context: SimContext): SimResponse {
  const parsed = parseEnvelope(request.body);
  if (!parsed.ok) return parsed.response;
  const { item, pageToken: rawToken, pageSize: rawPageSize } = parsed.envelope;
  const store = context.data.awareness;
  const path = request.path;
  if (path === CAMPAIGNS_PATH) {
    return jsonResponse(200, { meta: { status: 200 }, data: store.campaigns, fail: [] });
  }
  const size = resolvePageSize(rawPageSize, item, context);
  if (!size.ok) return size.response;

  let token: PageToken;
  if (rawToken !== undefined && rawToken !== '') {
    const opened = tokenSchema.safeParse(context.sealer.open(TOKEN_KIND, rawToken));
    if (!opened.success || opened.data.path !== path) {
      return invalidPageToken(item);
    }
    token = opened.data;
  } else {
    let campaign: number | null = null;
    if (path === USER_DATA_PATH) {
      if (item.id === undefined || item.id === null || item.id === '') {
        return validationFailure('err_validation_null', 'id is required', item, 'id');
      }
      campaign = store.campaigns.findIndex((c) => c.id === item.id);
      if (campaign < 0) {
        return validationFailure('err_validation_invalid_value', 'No campaign with this id', item, 'id');
      }
    }
    const stream = path === USER_DATA_PATH ? 'awareness-user-data' : COMPANY_PATHS[path]!;
    const snapshot = context.options.variants.pagingConsistency === 'snapshot';
    token = {
      path,
      campaign,
      offset: 0,
      asOf: snapshot ? store.count(stream) : null,
      includeUserDetails: item.includeUserDetails === true,
    };
  }

  const stream = path === USER_DATA_PATH ? 'awareness-user-data' : COMPANY_PATHS[path]!;
  const total = token.asOf ?? store.count(stream);
  const C = store.campaigns.length;
  const available = token.campaign === null ? total : store.campaignRows(token.campaign, total);
  const end = Math.min(available, token.offset + size.pageSize);
  const rows: Row[] = [];
  for (let k = token.offset; k < end; k++) {
    rows.push(
      token.campaign === null
        ? store.companyRow(stream as CompanyStreamId, k, token.includeUserDetails)
        : store.userDataItem(token.campaign + k * C),
    );
  }
  const more = end < available;
  const trailing = context.options.variants.pagingEnd === 'trailing-empty-page';
  const pagination: Record<string, unknown> = { pageSize: size.pageSize, totalCount: available };
  if (more || (trailing && (rows.length > 0 || rawToken))) {
    pagination.next = context.sealer.seal(TOKEN_KIND, { ...token, offset: end });
  }
  const data = token.campaign === null ? rows : [{ items: rows }];
  return jsonResponse(200, { meta: { status: 200, pagination }, data, fail: [] });
}
