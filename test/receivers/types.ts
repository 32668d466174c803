/** Public types of the loopback receivers (see README.md). */
import type { IncomingHttpHeaders } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';

export type ReceiverKind = 'ndjson' | 'splunk-hec' | 'elastic-bulk';

export interface ReceiverOptions {
  kind: ReceiverKind;
  /**
   * Required token. ndjson: `Authorization: Bearer <t>`; splunk-hec: `Splunk <t>`;
   * elastic-bulk: `ApiKey <t>`. No check when absent.
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
  | { kind: 'bulk-items'; statuses: Record<number, number> };

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
  /** Epoch ms when the request arrived. */
  receivedAt: number;
}

/** A format-level item the receiver accepted, with the envelope inside it. */
export interface AcceptedItem {
  envelope: Envelope;
  /** The event's id: the envelope's `id` (elastic-bulk: the document `_id`, which the sink sets to it). */
  id: string;
  /** ndjson: the envelope; splunk-hec: the HEC event object; elastic-bulk: `{ index, id, action, document }`. */
  raw: unknown;
}

export interface Receiver {
  readonly kind: ReceiverKind;
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
}

/** A reply the server machinery writes. */
export interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** What each product plugs into the shared server. */
export interface Product {
  readonly ingestPath: string;
  isIngest(method: string, path: string): boolean;
  /** Requests that are not ingestion: health, root, unknown paths. */
  other(method: string, path: string): Reply;
  /** Undefined when the Authorization header is acceptable. */
  authorize(headers: IncomingHttpHeaders): Reply | undefined;
  /** The product's usual answer for a bare status (used by `status` faults and 413/415). */
  statusReply(status: number, detail?: string): Reply;
  ingest(request: IngestRequest): { reply: Reply; accepted: AcceptedItem[] };
  /** Forget stored state. */
  reset(): void;
}

export interface IngestRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** A product-level fault (`hec-code`, `bulk-items`) taken for this request. */
  fault?: Fault;
}
