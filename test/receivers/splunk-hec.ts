/**
 * A Splunk HTTP Event Collector: `POST /services/collector[/event[/1.0]]` with concatenated JSON event
 * objects, `Authorization: Splunk <token>`, HEC-shaped answers (`{"text":"Success","code":0}`), and
 * `GET /services/collector/health[/1.0]`. Like Splunk, events before an invalid one are indexed and
 * the answer names the invalid one (`invalid-event-number`).
 *
 * With indexer acknowledgement (`ack`), as for a token with `useACK = 1`: posts need a channel and
 * answer an `ackId`, counted per channel on each indexer; `POST /services/collector/ack` answers
 * `{"acks":{"<id>":true|false}}`, true once (the status is then forgotten). Several indexers can sit
 * behind a load balancer that pins clients by cookie, or not: then an ack is asked of an indexer that
 * never issued it (false), or that issued the same number for another post (true, wrongly).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import { parseConcatenatedObjects } from './concatenated-json';
import type { AcceptedItem, HecAckControls, HecAckOptions, OtherRequest, Product, Reply } from './types';

/** Splunk's HEC codes: text and HTTP status. */
export const HEC_ANSWERS: Readonly<Record<number, { text: string; status: number }>> = {
  0: { text: 'Success', status: 200 },
  1: { text: 'Token disabled', status: 403 },
  2: { text: 'Token is required', status: 401 },
  3: { text: 'Invalid authorization', status: 401 },
  4: { text: 'Invalid token', status: 403 },
  5: { text: 'No data', status: 400 },
  6: { text: 'Invalid data format', status: 400 },
  7: { text: 'Incorrect index', status: 400 },
  8: { text: 'Internal server error', status: 500 },
  9: { text: 'Server is busy', status: 503 },
  10: { text: 'Data channel is missing', status: 400 },
  11: { text: 'Invalid data channel', status: 400 },
  12: { text: 'Event field is required', status: 400 },
  13: { text: 'Event field cannot be blank', status: 400 },
  14: { text: 'ACK is disabled', status: 400 },
  15: { text: 'Error in handling indexed fields', status: 400 },
  16: { text: 'Query string authorization is not enabled', status: 400 },
  17: { text: 'HEC is healthy', status: 200 },
  18: { text: 'HEC is unhealthy, queues are full', status: 503 },
  23: { text: 'Server is shutting down', status: 503 },
  26: { text: 'HEC queue is at capacity and cannot process any more requests', status: 429 },
};

const EVENT_PATHS = new Set([
  '/services/collector',
  '/services/collector/event',
  '/services/collector/event/1.0',
]);
const HEALTH_PATHS = new Set(['/services/collector/health', '/services/collector/health/1.0']);
const ACK_PATHS = new Set(['/services/collector/ack', '/services/collector/ack/1.0']);
/** Splunk's channel identifier: a GUID. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The AWS application load balancer's stickiness cookie, as Splunk's ELB guide sets it up. */
const LB_COOKIE = 'AWSALB';

/** The HEC code a bare HTTP status stands for, where HEC has one. */
const CODE_FOR_STATUS: Readonly<Record<number, number>> = { 400: 6, 401: 2, 403: 4, 429: 26, 500: 8, 503: 9 };

export function hecAnswer(code: number, extra: Record<string, unknown> = {}): Reply {
  const known = HEC_ANSWERS[code] ?? { text: 'Unknown error', status: 500 };
  return { status: known.status, body: JSON.stringify({ text: known.text, code, ...extra }) };
}

export function splunkHecProduct(token: string | undefined, ackOptions?: boolean | HecAckOptions): Product {
  const authorize = (headers: IncomingHttpHeaders): Reply | undefined => {
    if (token === undefined) {
      return undefined;
    }
    const header = headers.authorization;
    if (header === undefined) {
      return hecAnswer(2);
    }
    const match = /^Splunk\s+(\S+)$/.exec(header);
    if (match === null) {
      return hecAnswer(3);
    }
    return match[1] === token ? undefined : hecAnswer(4);
  };
  const acks =
    ackOptions === undefined || ackOptions === false
      ? undefined
      : new IndexerAcks(ackOptions === true ? {} : ackOptions);
  return {
    ingestPath: '/services/collector/event',
    isIngest: (method, path) => method === 'POST' && EVENT_PATHS.has(path.replace(/\/+$/, '')),
    other: (method, path, request) => {
      const route = path.replace(/\/+$/, '');
      if (method === 'GET' && HEALTH_PATHS.has(route)) {
        return hecAnswer(17);
      }
      if (method === 'POST' && ACK_PATHS.has(route)) {
        return authorize(request.headers) ?? (acks === undefined ? hecAnswer(14) : acks.query(request));
      }
      return {
        status: 404,
        body: JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }),
      };
    },
    authorize,
    hec: acks?.controls,
    statusReply: (status, detail) => {
      const code = CODE_FOR_STATUS[status];
      if (code !== undefined) {
        return { ...hecAnswer(code), status };
      }
      return { status, body: JSON.stringify({ text: detail ?? STATUS_CODES[status] ?? `status ${status}` }) };
    },
    ingest: ({ body, query, headers, fault }) => {
      if (fault?.kind === 'hec-code') {
        return {
          reply: hecAnswer(fault.code, fault.code === 6 ? { 'invalid-event-number': 0 } : {}),
          accepted: [],
        };
      }
      if (query.has('token')) {
        return { reply: hecAnswer(16), accepted: [] };
      }
      const post = acks?.admit(headers, query);
      if (post !== undefined && 'refused' in post) {
        return { reply: post.refused, accepted: [] };
      }
      const parsed = parseConcatenatedObjects(body);
      const accepted: AcceptedItem[] = [];
      for (let n = 0; n < parsed.objects.length; n++) {
        const problem = eventProblem(parsed.objects[n]);
        if (problem !== undefined) {
          return { reply: hecAnswer(problem, { 'invalid-event-number': n }), accepted };
        }
        const item = parsed.objects[n] as { event: unknown };
        const id = (item.event as { id?: unknown } | null)?.id;
        accepted.push({ envelope: item.event as Envelope, id: typeof id === 'string' ? id : '', raw: item });
      }
      if ('invalidAt' in parsed) {
        return { reply: hecAnswer(6, { 'invalid-event-number': parsed.invalidAt }), accepted };
      }
      if (accepted.length === 0) {
        return { reply: hecAnswer(5), accepted };
      }
      if (post === undefined) {
        return { reply: hecAnswer(0), accepted };
      }
      const ackId = post.issue(fault?.kind === 'hec-ack-stuck' || fault?.kind === 'hec-ack-dropped');
      return {
        reply: { ...hecAnswer(0, { ackId }), headers: post.headers },
        // A dropped post was answered like any other; its events never reach the index.
        accepted: fault?.kind === 'hec-ack-dropped' ? [] : accepted,
      };
    },
    reset: () => acks?.controls.restartIndexer(),
  };
}

interface AckStatus {
  /** Ack queries left that answer false before it turns true; undefined: never true. */
  pollsLeft?: number;
}

/** One indexer's channels: the next ack id of each and the statuses not yet answered true. */
type Channels = Map<string, { nextAckId: number; statuses: Map<number, AckStatus> }>;

/** The acknowledgement state of the indexers behind the (modelled) load balancer. */
class IndexerAcks {
  private readonly indexers: Channels[];
  private readonly sticky: boolean;
  private readonly maxPending: number;
  private readonly pollsBeforeAcked: number;
  private nextIndexer = 0;
  readonly controls: HecAckControls;

  constructor(options: HecAckOptions) {
    this.indexers = Array.from({ length: Math.max(1, options.indexers ?? 1) }, () => new Map());
    this.sticky = options.stickySessions ?? true;
    this.maxPending = options.maxPendingAcksPerChannel ?? 1_000_000;
    this.pollsBeforeAcked = options.pollsBeforeAcked ?? 0;
    this.controls = {
      restartIndexer: (n) => {
        for (const [i, channels] of this.indexers.entries()) {
          if (n === undefined || n === i) channels.clear();
        }
      },
      pendingAcks: () =>
        this.indexers.map((channels) =>
          [...channels.values()].reduce((sum, channel) => sum + channel.statuses.size, 0),
        ),
    };
  }

  /** A post on an ack-enabled token: its channel checked and an indexer chosen, or the refusal. */
  admit(
    headers: IncomingHttpHeaders,
    query: URLSearchParams,
  ): { refused: Reply } | { issue: (neverAcked: boolean) => number; headers: Record<string, string> } {
    const channelId = channelOf(headers, query);
    if (channelId === undefined) return { refused: hecAnswer(10) };
    if (!GUID.test(channelId)) return { refused: hecAnswer(11) };
    const { indexer, headers: lbHeaders } = this.route(headers);
    const channel = this.channel(indexer, channelId);
    if (channel.statuses.size >= this.maxPending) {
      // Splunk answers "Server is busy" once a channel holds the limit of unqueried acks.
      return { refused: { ...hecAnswer(9), headers: lbHeaders } };
    }
    return {
      headers: lbHeaders,
      issue: (neverAcked) => {
        const ackId = channel.nextAckId++;
        channel.statuses.set(ackId, neverAcked ? {} : { pollsLeft: this.pollsBeforeAcked });
        return ackId;
      },
    };
  }

  /** `POST /services/collector/ack` with `{"acks":[…]}` (the token already checked). */
  query(request: OtherRequest): Reply {
    const channelId = channelOf(request.headers, request.query);
    if (channelId === undefined) return hecAnswer(10);
    if (!GUID.test(channelId)) return hecAnswer(11);
    let ids: unknown;
    try {
      ids = (JSON.parse(request.body) as { acks?: unknown }).acks;
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
      return hecAnswer(6);
    }
    const { indexer, headers } = this.route(request.headers);
    const channel = this.channel(indexer, channelId);
    const answer: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const status = channel.statuses.get(id);
      if (status?.pollsLeft === undefined) {
        answer[id] = false;
      } else if (status.pollsLeft > 0) {
        status.pollsLeft -= 1;
        answer[id] = false;
      } else {
        // True once: Splunk forgets a status after a client has read it.
        channel.statuses.delete(id);
        answer[id] = true;
      }
    }
    return { status: 200, body: JSON.stringify({ acks: answer }), headers };
  }

  private channel(indexer: number, id: string) {
    const channels = this.indexers[indexer];
    let channel = channels.get(id);
    if (channel === undefined) {
      channel = { nextAckId: 0, statuses: new Map() };
      channels.set(id, channel);
    }
    return channel;
  }

  /** The indexer a request reaches: by its stickiness cookie, else the next in turn. */
  private route(headers: IncomingHttpHeaders): { indexer: number; headers: Record<string, string> } {
    const pinned = this.sticky ? stickyIndexer(headers.cookie, this.indexers.length) : undefined;
    const indexer = pinned ?? this.nextIndexer++ % this.indexers.length;
    return {
      indexer,
      headers: this.sticky ? { 'set-cookie': `${LB_COOKIE}=indexer-${indexer}; Path=/` } : {},
    };
  }
}

function channelOf(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const header = headers['x-splunk-request-channel'];
  const value = (Array.isArray(header) ? header[0] : header) ?? query.get('channel') ?? undefined;
  return value === '' ? undefined : value;
}

function stickyIndexer(cookie: string | undefined, count: number): number | undefined {
  const match = new RegExp(`(?:^|;\\s*)${LB_COOKIE}=indexer-(\\d+)`).exec(cookie ?? '');
  const n = match === null ? Number.NaN : Number(match[1]);
  return Number.isInteger(n) && n < count ? n : undefined;
}

/** The HEC code for an unacceptable event object, or undefined when it is fine. */
function eventProblem(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 6;
  }
  const event = value as Record<string, unknown>;
  if (!('event' in event)) {
    return 12;
  }
  if (event.event === '' || event.event === null) {
    return 13;
  }
  const time = event.time;
  if (
    time !== undefined &&
    typeof time !== 'number' &&
    !(typeof time === 'string' && /^\d+(\.\d+)?$/.test(time))
  ) {
    return 6;
  }
  return undefined;
}
