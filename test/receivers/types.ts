/** Public types of the loopback receivers (see README.md). */
import type { IncomingHttpHeaders } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';

/** The HTTP formats the collector's sinks speak today (its `SinkFormat`). */
export type ReceiverKind = 'ndjson' | 'splunk-hec' | 'elastic-bulk';
/** Every HTTP receiver: today's formats and issue 14's destinations. */
export type DestinationKind = ReceiverKind | 'sumo' | 'datadog' | 'sentinel';

/**
 * splunk-hec: indexer acknowledgement, as for a HEC token with `useACK = 1` (see README.md, "Splunk HEC
 * with indexer acknowledgement").
 */
export interface HecAckOptions {
  /** Indexers behind the load balancer, each with its own channels and ack ids. Default 1. */
  indexers?: number;
  /** The load balancer pins a client to an indexer by its `AWSALB` cookie. Default true. */
  stickySessions?: boolean;
  /** `max_number_of_acked_requests_pending_query_per_ack_channel`; past it, posts get code 9. Default 1,000,000. */
  maxPendingAcksPerChannel?: number;
  /** Ack queries that still answer false before an ack turns true (indexing takes a while). Default 0. */
  pollsBeforeAcked?: number;
}

/** sentinel: the data collection rule the receiver stands for. */
export interface SentinelOptions {
  /** Default `dcr-` and 32 hex digits, random. */
  dcrImmutableId?: string;
  /** Default `Custom-MimecastEvents_CL`. */
  stream?: string;
  /** Bearer tokens are checked against this token endpoint (signature, audience, expiry). */
  entra?: TokenVerifier;
  /** Client ids granted "Monitoring Metrics Publisher" on the rule. Default: the token endpoint's client id. */
  authorizedClientIds?: readonly string[];
}

/** What the Logs Ingestion receiver asks of the Entra token endpoint (see entra.ts). */
export interface TokenVerifier {
  readonly clientId: string;
  verify(accessToken: string): TokenCheck;
}

export type TokenCheck =
  | { ok: true; clientId: string; audience: string; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired'; expiredAt?: number };

export interface ReceiverOptions {
  kind: DestinationKind;
  /**
   * Required token. ndjson: `Authorization: Bearer <t>`; splunk-hec: `Splunk <t>`;
   * elastic-bulk: `ApiKey <t>`; datadog: `DD-API-KEY: <t>`; sentinel: a static `Bearer <t>` when no
   * token endpoint is given; sumo: the token in the URL path (random when absent: a Sumo URL always has
   * one). No check when absent (sumo excepted).
   */
  token?: string;
  /** Append every accepted envelope to `<outputDir>/<stream>.ndjson` (created if missing). */
  outputDir?: string;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** Bodies larger than this (after decompression, or by Content-Length) get 413. Default 64 MiB. */
  maxBodyBytes?: number;
  /** elastic-bulk: the index named in `url` (`/<index>/_bulk`). Default `mimecast`. */
  index?: string;
  /** splunk-hec: indexer acknowledgement on (`true` or options); off by default, as on a plain token. */
  ack?: boolean | HecAckOptions;
  /** sentinel: the rule, stream and token endpoint. */
  sentinel?: SentinelOptions;
}

/**
 * What one ingestion request meets instead of (or on top of) normal handling. Faults are queued
 * with `inject()` and taken one per ingestion request, in order; health and other requests take none.
 */
export type Fault =
  /** Normal handling (a placeholder in a script: "fail, pass, fail"). */
  | { kind: 'pass' }
  /**
   * Answer this status with the product's usual body for it (HEC code, ES error, ...), or `body`.
   * `retryAfter` sets Retry-After: seconds, or an HTTP date string.
   */
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: string; contentType?: string }
  /** Read the whole body, then never answer (until the client gives up or the receiver stops). */
  | { kind: 'hang' }
  /** Wait, then handle normally. */
  | { kind: 'delay'; ms: number }
  /** Reset the TCP connection (RST) as soon as the first body bytes arrive: the client sees ECONNRESET. */
  | { kind: 'reset' }
  /** Answer a redirect (default 307) to `location`. */
  | { kind: 'redirect'; location: string; status?: number }
  /** splunk-hec: answer this HEC code with its documented HTTP status; nothing is indexed. */
  | { kind: 'hec-code'; code: number; retryAfter?: number | string }
  /**
   * elastic-bulk: these item positions (0-based, in request order) fail with the given status
   * (429, 400, 409, 500, 503...) and are not stored; the other items are handled normally.
   */
  | { kind: 'bulk-items'; statuses: Record<number, number> }
  /** sumo: an ingest budget is exhausted: Sumo answers 200 and drops the data. */
  | { kind: 'sumo-budget-drop' }
  /** splunk-hec with ack: the post is indexed, but its ack never turns true (status lost). */
  | { kind: 'hec-ack-stuck' }
  /** splunk-hec with ack: the post answers Success with an ackId, its events are lost before indexing. */
  | { kind: 'hec-ack-dropped' }
  /** entra token endpoint: answer this AADSTS error (its documented `error` name and status). */
  | { kind: 'aadsts'; code: number };

export interface RecordedRequest {
  /** 1-based position among all requests this receiver got. */
  call: number;
  /** True when this request could take a fault (the product's ingestion endpoint). */
  ingest: boolean;
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
  /** As received, names lower-cased (test-only: includes Authorization). */
  headers: IncomingHttpHeaders;
  /** Body bytes on the wire (compressed when Content-Encoding is gzip). */
  wireBytes: number;
  /** Body after decoding, as text. */
  body: string;
  /** The status answered; undefined when the request hung or was reset. */
  status?: number;
  /** The body answered. */
  answer?: string;
  fault?: Fault['kind'];
  /** The client's port: equal across requests that shared one kept-alive connection. */
  remotePort?: number;
  /** A limit the product does not enforce was passed, or data was truncated (sumo, datadog, sentinel). */
  warning?: string;
  /** Epoch ms when the request arrived. */
  receivedAt: number;
}

/** A format-level item the receiver accepted, with the envelope inside it. */
export interface AcceptedItem {
  envelope: Envelope;
  /** The event's id: the envelope's `id` (elastic-bulk: the document `_id`, which the sink sets to it). */
  id: string;
  /**
   * ndjson: the envelope; splunk-hec: the HEC event object; elastic-bulk: `{ index, id, action, document }`;
   * sumo: `{ message, category, name, host, fields }`; datadog, sentinel: the entry as stored.
   */
  raw: unknown;
  /** The product stored it cut short (datadog: entry over 1 MB; sentinel: a field over 64 KB). */
  truncated?: boolean;
}

export interface Receiver<K extends string = DestinationKind> {
  readonly kind: K;
  /** The URL to give the sink: `/ingest`, `/services/collector/event` or `/<index>/_bulk`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** Every envelope accepted, in arrival order (elastic-bulk: only newly stored documents). */
  received(): Envelope[];
  /** Ids of `received()`, same order (elastic-bulk: the `_id` each document was stored under). */
  ids(): string[];
  /** Accepted items in their product's shape, same order as `received()`. */
  items(): AcceptedItem[];
  /** Queue faults for the next ingestion requests, one each, in order. */
  inject(...faults: Fault[]): void;
  /** Faults still queued. */
  pendingFaults(): number;
  /** Every request so far (a copy). */
  requests(): RecordedRequest[];
  /** Ingestion requests only. */
  ingestRequests(): RecordedRequest[];
  /** Forget received events, requests and queued faults (elastic-bulk keeps nothing either). */
  reset(): void;
  /** Closes the server and every connection (hanging requests included). */
  stop(): Promise<void>;
  /** splunk-hec with `ack`: the indexers' acknowledgement state. */
  readonly hec?: HecAckControls;
}

export interface HecAckControls {
  /** Indexer `n` (default all) restarts: its channels, pending acks and ack counters are gone. */
  restartIndexer(n?: number): void;
  /** Acks issued and not yet answered true, per indexer. */
  pendingAcks(): number[];
}

/** A reply the server machinery writes. */
export interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Content codings a product may accept besides identity. */
export type ContentCoding = 'gzip' | 'deflate';

/** What each product plugs into the shared server. */
export interface Product {
  readonly ingestPath: string;
  isIngest(method: string, path: string): boolean;
  /** Requests that are not ingestion: health, root, unknown paths (HEC: ack queries, with their body). */
  other(method: string, path: string, request: OtherRequest): Reply;
  /** Undefined when the credentials are acceptable (Sumo's is in the path). */
  authorize(headers: IncomingHttpHeaders, path: string): Reply | undefined;
  /** The product's usual answer for a bare status (used by `status` faults and 413/415). */
  statusReply(status: number, detail?: string): Reply;
  ingest(request: IngestRequest): IngestResult;
  /** Forget stored state. */
  reset(): void;
  /** Content-Encodings accepted besides identity; default gzip only (others: 415). */
  readonly encodings?: readonly ContentCoding[];
  /** Body limits, on the wire and once decoded; default `maxBodyBytes` for both. */
  readonly limits?: { readonly wireBytes: number; readonly decodedBytes: number };
  /** The answer to a body over a limit; default `statusReply(413, …)`. */
  tooLarge?(excess: { stage: 'wire' | 'decoded'; bytes?: number; limit: number }): Reply;
  /** Product-specific controls exposed on the receiver. */
  readonly hec?: HecAckControls;
}

export interface IngestResult {
  reply: Reply;
  accepted: AcceptedItem[];
  /** See RecordedRequest.warning. */
  warning?: string;
}

export interface OtherRequest {
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The body, decoded. */
  body: string;
}

export interface IngestRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** A product-level fault (`hec-code`, `bulk-items`) taken for this request. */
  fault?: Fault;
}
