/**
 * Awareness Training streams: snapshots, not logs. Each one reads the whole current state of an
 * endpoint (every user's performance, SafeScore, watchlist entry; every campaign's per-user phishing
 * results) once per interval, and forwards every row with the snapshot's time.
 *
 * Cursor:
 * ```
 * {
 *   "due": ISO,                        // when the next snapshot starts
 *   "snapshot": null | {               // the snapshot being read
 *     "at": ISO,                       // its time: the envelope time of all its rows
 *     "pageToken": string | null,      // the next page inside the endpoint (or campaign); null: first page
 *     "campaign": {"id", "name"} | null, // user data only: the campaign being read; null: choose the next one
 *     "after": id | null               // user data only: the campaign finished last
 *   }
 * }
 * ```
 * Between snapshots (`snapshot` null, `due` in the future) a fetch costs no call and reports caught up.
 * Once due, the first fetch fixes `at` and reports that resolved cursor as `Page.cursor`, so a resume
 * inside a page re-asks the same page of the same snapshot. A row's id is the engine's hash of stream
 * and row, so an unchanged row has the same id in every snapshot and a SIEM can drop it.
 *
 * User data is per campaign. Campaigns are walked in order of their id (`after` is the last one
 * finished); each campaign is chosen by listing the campaigns again, so a campaign added or removed
 * mid-snapshot never shifts the walk and the cursor stays small however many campaigns there are.
 * The items of get-user-data do not name their campaign: each row gets `campaignId` and `campaignName`.
 */
import * as z from 'zod';
import { OccurrenceIds } from '../../core/occurrences';
import type { CallBudget, Cursor, Page, SourceRecord } from '../../core/ports';
import { type CallContext, isObject, protocolError } from '../classify';
import {
  AWARENESS_CAMPAIGNS_PATH,
  AWARENESS_PERMISSION,
  AWARENESS_USER_DATA_LOG_TYPE,
  AWARENESS_USER_DATA_PATH,
  SNAPSHOT_ENDPOINTS,
  type SnapshotEndpoint,
  type SnapshotStreamId,
} from '../endpoints';
import { toIsoUtc } from '../time';
import type { MimecastStreamSource } from '../types';
import {
  callContext,
  IsoTime,
  parseCursor,
  postJson,
  recordExcerpt,
  type SourceDeps,
  staticPage,
} from './common';

/** Campaign listings followed per call: get-campaign is not known to page at all; this bounds a service that keeps answering `next`. */
const MAX_CAMPAIGN_PAGES = 50;

const CampaignId = z.union([z.string().min(1), z.number()]);
type CampaignId = z.infer<typeof CampaignId>;

const SnapshotState = z.object({
  at: IsoTime,
  pageToken: z.string().min(1).nullable(),
  campaign: z.object({ id: CampaignId, name: z.string().nullable() }).nullable().optional(),
  after: CampaignId.nullable().optional(),
});
type SnapshotState = z.infer<typeof SnapshotState>;

const SnapshotCursor = z.object({ due: IsoTime, snapshot: SnapshotState.nullable() });
type SnapshotCursor = z.infer<typeof SnapshotCursor>;

const Answer = z.looseObject({
  meta: z.looseObject({ pagination: z.looseObject({ next: z.string().nullish() }).optional() }).optional(),
  data: z.array(z.unknown()),
});

/** One page of a snapshot: the state actually asked, its rows, and the state after it (null: snapshot complete). */
interface SnapshotRead {
  asked: SnapshotState;
  rows: Record<string, unknown>[];
  next: SnapshotState | null;
}

interface SnapshotReader {
  readonly logType: string;
  read(state: SnapshotState, budget: CallBudget): Promise<SnapshotRead>;
  probe(budget: CallBudget): Promise<void>;
}

export class SnapshotSource implements MimecastStreamSource {
  private readonly reader: SnapshotReader;

  constructor(
    private readonly deps: SourceDeps,
    readonly stream: SnapshotStreamId,
  ) {
    this.reader =
      stream === 'awareness-user-data'
        ? new CampaignUserDataReader(deps)
        : new CompanyReader(deps, stream, SNAPSHOT_ENDPOINTS[stream]);
  }

  /** The first snapshot is due at once: a snapshot is always of now, whatever the collection start. */
  seed(_start: Date, now: Date): Cursor {
    return { due: toIsoUtc(now.getTime()), snapshot: null };
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const current: SnapshotCursor = parseCursor(this.stream, SnapshotCursor, cursor, 'snapshot');
    let state = current.snapshot;
    if (state === null) {
      const now = this.deps.clock.now();
      if (now < Date.parse(current.due)) {
        // Between snapshots: caught up, and no call at all.
        return { ...staticPage([], current, true), cursor: current };
      }
      state = { at: toIsoUtc(now), pageToken: null, campaign: null, after: null };
    }
    const read = await this.reader.read(state, budget);
    const next: SnapshotCursor =
      read.next === null
        ? { due: toIsoUtc(Date.parse(read.asked.at) + this.deps.settings.snapshotIntervalMs), snapshot: null }
        : { due: current.due, snapshot: read.next };
    // Numbered per page: an unchanged row gets the same id in every snapshot (core/occurrences.ts).
    const ids = new OccurrenceIds(this.stream);
    const records = read.rows.map((row) => this.record(row, read.asked.at, ids));
    // The resolved question (snapshot time, chosen campaign): a resume inside this page re-asks it.
    return {
      ...staticPage(records, next, read.next === null),
      cursor: { due: current.due, snapshot: read.asked },
    };
  }

  probe(budget: CallBudget): Promise<void> {
    return this.reader.probe(budget);
  }

  /** Every row of a snapshot carries the snapshot's time; the row itself is forwarded as Mimecast sent it. */
  private record(row: Record<string, unknown>, at: string, ids: OccurrenceIds): SourceRecord {
    return { id: ids.idOf(row), logType: this.reader.logType, time: at, event: row };
  }
}

/** One company-wide endpoint: every row in `data[]`, paged by `meta.pagination.next`. */
class CompanyReader implements SnapshotReader {
  readonly logType: string;
  private readonly ctx: CallContext;

  constructor(
    private readonly deps: SourceDeps,
    stream: SnapshotStreamId,
    private readonly endpoint: SnapshotEndpoint,
  ) {
    this.logType = endpoint.logType;
    this.ctx = callContext(deps, stream, 'POST', endpoint.path, AWARENESS_PERMISSION);
  }

  async read(state: SnapshotState, budget: CallBudget): Promise<SnapshotRead> {
    const page = await fetchRows(
      this.deps,
      this.ctx,
      this.endpoint.path,
      this.endpoint.item,
      state.pageToken,
      this.deps.settings.jsonPageSize,
      budget,
      (data) => data,
    );
    return {
      asked: state,
      rows: page.rows,
      next: page.next === null ? null : { ...state, pageToken: page.next },
    };
  }

  async probe(budget: CallBudget): Promise<void> {
    await fetchRows(this.deps, this.ctx, this.endpoint.path, this.endpoint.item, null, 1, budget, (d) => d);
  }
}

/** Phishing user data: campaign by campaign (in id order), each campaign's users page by page. */
class CampaignUserDataReader implements SnapshotReader {
  readonly logType = AWARENESS_USER_DATA_LOG_TYPE;
  private readonly campaignsCtx: CallContext;
  private readonly usersCtx: CallContext;

  constructor(private readonly deps: SourceDeps) {
    const stream = 'awareness-user-data';
    this.campaignsCtx = callContext(deps, stream, 'POST', AWARENESS_CAMPAIGNS_PATH, AWARENESS_PERMISSION);
    this.usersCtx = callContext(deps, stream, 'POST', AWARENESS_USER_DATA_PATH, AWARENESS_PERMISSION);
  }

  async read(state: SnapshotState, budget: CallBudget): Promise<SnapshotRead> {
    let asked = state;
    let campaign = state.campaign ?? null;
    if (campaign === null) {
      const after = state.after ?? null;
      const campaigns = await this.campaigns(budget);
      campaign = campaigns.find((c) => after === null || keyOf(c.id) > keyOf(after)) ?? null;
      if (campaign === null) return { asked: state, rows: [], next: null };
      asked = { ...state, campaign, pageToken: null };
    }
    const { id, name } = campaign;
    const page = await fetchRows(
      this.deps,
      this.usersCtx,
      AWARENESS_USER_DATA_PATH,
      { id },
      asked.pageToken,
      this.deps.settings.jsonPageSize,
      budget,
      (data) => itemsOf(this.usersCtx, data),
    );
    return {
      asked,
      rows: page.rows.map((item) => ({ ...item, campaignId: id, campaignName: name })),
      next:
        page.next === null
          ? { ...asked, campaign: null, after: id, pageToken: null }
          : { ...asked, pageToken: page.next },
    };
  }

  async probe(budget: CallBudget): Promise<void> {
    await this.campaigns(budget);
  }

  /** Every campaign, sorted by id. */
  private async campaigns(budget: CallBudget): Promise<{ id: CampaignId; name: string | null }[]> {
    const found: { id: CampaignId; name: string | null }[] = [];
    let token: string | null = null;
    for (let pages = 0; ; pages += 1) {
      if (pages === MAX_CAMPAIGN_PAGES) {
        throw protocolError(
          this.campaignsCtx,
          `Campaign list still not finished after ${MAX_CAMPAIGN_PAGES} pages`,
          undefined,
        );
      }
      const page = await fetchRows(
        this.deps,
        this.campaignsCtx,
        AWARENESS_CAMPAIGNS_PATH,
        undefined,
        token,
        this.deps.settings.jsonPageSize,
        budget,
        (data) => data,
      );
      for (const row of page.rows) {
        const id = CampaignId.safeParse(row.id);
        if (!id.success) {
          throw protocolError(this.campaignsCtx, 'A campaign without an id', recordExcerpt(row));
        }
        found.push({ id: id.data, name: typeof row.name === 'string' ? row.name : null });
      }
      if (page.next === null) break;
      token = page.next;
    }
    return found.sort((a, b) => (keyOf(a.id) < keyOf(b.id) ? -1 : keyOf(a.id) > keyOf(b.id) ? 1 : 0));
  }
}

function keyOf(id: CampaignId): string {
  return String(id);
}

/** `data[].items[]` of get-user-data. */
function itemsOf(ctx: CallContext, data: unknown[]): unknown[] {
  const items: unknown[] = [];
  for (const entry of data) {
    const list = isObject(entry) ? entry.items : undefined;
    if (!Array.isArray(list)) throw protocolError(ctx, 'Answer without data[].items', recordExcerpt(entry));
    items.push(...list);
  }
  return items;
}

/**
 * One post-REST page: `pageSize` and the page token in `meta.pagination`, `item` as `data[0]`. The next
 * token is null when there is none or the page is empty (some answers end with an empty page that still
 * has a `next`). A token handed back unchanged would read the same page for ever: refused.
 */
async function fetchRows(
  deps: SourceDeps,
  ctx: CallContext,
  path: string,
  item: Record<string, unknown> | undefined,
  pageToken: string | null,
  pageSize: number,
  budget: CallBudget,
  rowsOf: (data: unknown[]) => unknown[],
): Promise<{ rows: Record<string, unknown>[]; next: string | null }> {
  const body = {
    meta: { pagination: { pageSize, ...(pageToken === null ? {} : { pageToken }) } },
    data: item === undefined ? [] : [item],
  };
  const json = await postJson(deps, ctx, path, body, budget);
  const parsed = Answer.safeParse(json);
  if (!parsed.success) throw protocolError(ctx, 'Answer without a data array', recordExcerpt(json));
  const rows = rowsOf(parsed.data.data);
  for (const row of rows) {
    if (!isObject(row)) throw protocolError(ctx, 'A record is not a JSON object', recordExcerpt(row));
  }
  const next = parsed.data.meta?.pagination?.next;
  const token = typeof next === 'string' && next !== '' && rows.length > 0 ? next : null;
  if (token !== null && token === pageToken) {
    throw protocolError(ctx, 'The page token did not advance', recordExcerpt(parsed.data.meta));
  }
  return { rows: rows as Record<string, unknown>[], next: token };
}
