/**
 * The endpoints behind the time-window streams (window.ts): the post-REST JSON endpoints with
 * `meta.pagination` page tokens, and the threat feeds' STIX bundles.
 */
import * as z from 'zod';
import type { CallBudget } from '../../core/ports';
import type { StreamId } from '../../core/streams';
import { RequestError } from '../../errors';
import { type CallContext, headerValue, isObject, pagingStalled, protocolError } from '../classify';
import {
  type JsonEndpoint,
  THREAT_FEED_NO_RESULT_CODE,
  THREAT_FEED_PATH,
  THREAT_FEED_PERMISSION,
} from '../endpoints';
import { formatMimecastTime, parseMimecastTime } from '../time';
import { callContext, NOTHING_MORE, postJson, recordExcerpt, type SourceDeps } from './common';

import type { WindowAnswer, WindowApi } from './window';

const DAY_MS = 86_400_000;

const Envelope = z.looseObject({
  meta: z.looseObject({ pagination: z.looseObject({ next: z.string().nullish() }).optional() }).optional(),
  data: z.array(z.unknown()),
});

/** The post-REST endpoints with `meta.pagination` page tokens. */
export class JsonEndpointApi implements WindowApi {
  readonly stream: StreamId;
  readonly maxLookbackMs?: number;
  readonly timeFieldNames: string;
  /** Index into `endpoint.paths` known to work (archive-search may live at either path). */
  private pathIndex = 0;

  constructor(
    private readonly deps: SourceDeps,
    private readonly endpoint: JsonEndpoint,
  ) {
    this.stream = endpoint.stream;
    this.maxLookbackMs =
      endpoint.maxLookbackDays === undefined ? undefined : endpoint.maxLookbackDays * DAY_MS;
    this.timeFieldNames = endpoint.timeFields.join(' or ');
  }

  context(path = this.endpoint.paths[this.pathIndex]): CallContext {
    const permission = this.deps.apiVersion === 1 ? this.endpoint.permission.v1 : this.endpoint.permission.v2;
    return callContext(this.deps, this.stream, 'POST', path, permission);
  }

  async fetch(
    request: { from: number; to: number; pageToken: string | null },
    pageSize: number,
    budget: CallBudget,
  ): Promise<WindowAnswer> {
    const body = {
      meta: {
        pagination: { pageSize, ...(request.pageToken === null ? {} : { pageToken: request.pageToken }) },
      },
      // Re-sent with the token too (XSOAR, Elastic v2 do); the token is authoritative.
      data: [
        {
          [this.endpoint.startField]: formatMimecastTime(request.from),
          [this.endpoint.endField]: formatMimecastTime(request.to),
          ...this.endpoint.extra,
        },
      ],
    };
    for (;;) {
      const path = this.endpoint.paths[this.pathIndex];
      const ctx = this.context(path);
      let json: unknown;
      try {
        json = await postJson(this.deps, ctx, path, body, budget);
      } catch (err) {
        if (
          err instanceof RequestError &&
          err.status === 404 &&
          this.pathIndex + 1 < this.endpoint.paths.length
        ) {
          this.deps.log.info('Endpoint not found; trying its alternative path', {
            stream: this.stream,
            endpoint: ctx.endpoint,
            next: this.endpoint.paths[this.pathIndex + 1],
          });
          this.pathIndex += 1;
          continue;
        }
        throw err;
      }
      return this.read(ctx, json, request.pageToken);
    }
  }

  private read(ctx: CallContext, json: unknown, askedToken: string | null): WindowAnswer {
    const parsed = Envelope.safeParse(json);
    if (!parsed.success) {
      throw protocolError(ctx, 'Answer without a data array', recordExcerpt(json));
    }
    const { data, meta } = parsed.data;
    let records: unknown[];
    const key = this.endpoint.recordsKey;
    if (key === null) {
      records = data;
    } else {
      records = [];
      for (const item of data) {
        const list = isObject(item) ? item[key] : undefined;
        if (!Array.isArray(list)) {
          throw protocolError(ctx, `Answer without data[].${key}`, recordExcerpt(json));
        }
        records.push(...list);
      }
    }
    for (const record of records) {
      if (!isObject(record)) {
        throw protocolError(ctx, 'A record is not a JSON object', recordExcerpt(record));
      }
    }
    const next = meta?.pagination?.next;
    const nextToken = typeof next === 'string' && next !== '' ? next : null;
    // A page with records whose `next` is the token just sent would be asked for again and again.
    if (records.length > 0 && askedToken !== null && nextToken === askedToken) {
      throw pagingStalled(ctx, 'meta.pagination.next is the pageToken it was asked with');
    }
    return { records: records as Record<string, unknown>[], nextToken };
  }

  timeOf(record: Record<string, unknown>): number | undefined {
    for (const field of this.endpoint.timeFields) {
      const ms = parseMimecastTime(record[field]);
      if (ms !== undefined) {
        return ms;
      }
    }
    return undefined;
  }

  logTypeOf(record: Record<string, unknown>): string {
    return this.endpoint.logType(record);
  }
}

const Bundle = z.looseObject({ type: z.literal('bundle'), objects: z.array(z.unknown()).optional() });
const EmptyEnvelope = z.looseObject({ data: z.array(z.unknown()).length(0) });

/**
 * `malware-customer` / `malware-grid`: STIX bundles from get-feed. The `x-mc-threat-feed-next-token`
 * header is the page token (Elastic keeps calling while it is present, sending only the token);
 * without one, the next window starts at the newest `modified` time, as Elastic's does.
 */
export class ThreatFeedApi implements WindowApi {
  readonly timeFieldNames = 'modified or created';

  constructor(
    private readonly deps: SourceDeps,
    readonly stream: 'malware-customer' | 'malware-grid',
  ) {}

  context(): CallContext {
    const permission = this.deps.apiVersion === 1 ? THREAT_FEED_PERMISSION.v1 : THREAT_FEED_PERMISSION.v2;
    return callContext(this.deps, this.stream, 'POST', THREAT_FEED_PATH, permission);
  }

  async fetch(
    request: { from: number; to: number; pageToken: string | null },
    _pageSize: number,
    budget: CallBudget,
  ): Promise<WindowAnswer> {
    const ctx = this.context();
    const item = {
      feedType: this.stream === 'malware-customer' ? 'malware_customer' : 'malware_grid',
      fileType: 'stix',
      compress: false,
      ...(request.pageToken === null
        ? { start: formatMimecastTime(request.from), end: formatMimecastTime(request.to) }
        : { token: request.pageToken }),
    };
    let nextToken: string | null = null;
    const json = await postJson(this.deps, ctx, THREAT_FEED_PATH, { data: [item] }, budget, {
      onAnswer: (res) => {
        const header = headerValue(res.headers, 'x-mc-threat-feed-next-token')?.trim();
        nextToken = header ? header : null;
      },
      // Nothing (more) in this window: caught up, on both API versions.
      nothingMoreCodes: [THREAT_FEED_NO_RESULT_CODE],
    });
    if (json === NOTHING_MORE) {
      return { records: [], nextToken: null };
    }
    const bundle = Bundle.safeParse(json);
    let objects: unknown[];
    if (bundle.success) {
      objects = bundle.data.objects ?? [];
    } else if (EmptyEnvelope.safeParse(json).success) {
      objects = []; // Mimecast's plain "nothing" envelope, fail[] already checked
    } else {
      throw protocolError(
        ctx,
        'Answer is neither a STIX bundle nor an empty Mimecast envelope',
        recordExcerpt(json),
      );
    }
    for (const object of objects) {
      if (!isObject(object)) {
        throw protocolError(ctx, 'A STIX object is not a JSON object', recordExcerpt(object));
      }
    }
    // A file whose next token is the one just sent would be asked for again and again.
    if (objects.length > 0 && request.pageToken !== null && nextToken === request.pageToken) {
      throw pagingStalled(ctx, 'x-mc-threat-feed-next-token is the token it was asked with');
    }
    return { records: objects as Record<string, unknown>[], nextToken };
  }

  timeOf(record: Record<string, unknown>): number | undefined {
    return parseMimecastTime(record.modified) ?? parseMimecastTime(record.created);
  }

  logTypeOf(record: Record<string, unknown>): string {
    return typeof record.type === 'string' && record.type !== '' ? record.type : 'stix';
  }
}
