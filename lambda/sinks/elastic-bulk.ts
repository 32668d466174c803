/**
 * Elasticsearch (and OpenSearch) `_bulk` API.
 *
 * Two lines per envelope: `{"create":{"_index"?:<index>,"_id":<envelope id>}}` and the document, which
 * is the envelope plus `@timestamp` (its time) so data streams and time-based index patterns work.
 * `create` with the envelope id makes re-delivery harmless: a document already there answers 409
 * `version_conflict_engine_exception`, which counts as acknowledged. Items answered 429 or 5xx are
 * sent again (only those); any other item failure refuses the batch, naming the first few.
 *
 * Probe: `GET /` (the cluster root) with the API key: 200, or 403 (the key authenticated but may not
 * read cluster info, which indexing does not need), pass; 401 means the key was refused.
 */
import type { Envelope } from '../core/envelope';
import type { ConfigProblem } from '../errors';
import { type Answer, isRecord, tryJson } from './answer';
import type { ProbeResult } from './destination';
import { authorization, envelopeJson, type HttpFormat, statusVerdict, type Verdict } from './format';
import { jsonObject, type ProbeContext, passed, unexpectedAnswer } from './probe';

/** Item failures named in a refusal; the rest are only counted. */
const FAILURES_SHOWN = 3;
/** Characters of each item's reason kept (ES reasons can quote whole field values). */
const REASON_CHARS = 200;

/**
 * Accepts `https://host:9200/<index>/_bulk`, `https://host:9200/_bulk` with `index`, or a bare
 * `https://host:9200` with `index` (`/_bulk` is appended). Without an index somewhere, ES refuses
 * every action, so that is caught here.
 */
export function resolveBulkUrl(
  url: URL,
  index: string | undefined,
  problems: ConfigProblem[],
): URL | undefined {
  if (index !== undefined) {
    const problem = indexNameProblem(index);
    if (problem !== undefined) {
      problems.push({ field: 'index', problem });
    }
  }
  const path = url.pathname.replace(/\/+$/, '');
  let resolved: URL;
  if (path === '') {
    resolved = new URL(url.href);
    resolved.pathname = '/_bulk';
  } else if (path.endsWith('/_bulk')) {
    resolved = url;
  } else {
    problems.push({
      field: 'url',
      problem:
        'must end with /_bulk (https://host:9200/<index>/_bulk) or be the bare host with the index option',
    });
    return undefined;
  }
  if (resolved.pathname === '/_bulk' && index === undefined) {
    problems.push({
      field: 'index',
      problem: 'is required when the URL does not name an index (.../<index>/_bulk)',
    });
    return undefined;
  }
  return resolved;
}

/** Elasticsearch's index naming rules, checked up front rather than by a refused batch. */
export function indexNameProblem(index: string): string | undefined {
  if (index === '' || index === '.' || index === '..') {
    return 'must be a valid index name';
  }
  if (index !== index.toLowerCase()) {
    return 'must be lower case';
  }
  if (/[\\/*?"<>| ,#:]/.test(index)) {
    return 'must not contain \\ / * ? " < > | space , # or :';
  }
  if (/^[-_+]/.test(index)) {
    return 'must not start with -, _ or +';
  }
  if (Buffer.byteLength(index) > 255) {
    return 'must be at most 255 bytes';
  }
  return undefined;
}

export function elasticBulkFormat(url: URL, index?: string): HttpFormat {
  return {
    format: 'elastic-bulk',
    url,
    contentType: 'application/x-ndjson',
    credentials: authorization('ApiKey'),
    probe: (receiver) => probeCluster(url, receiver),
    serialize: (envelope) => {
      const action = { create: { ...(index === undefined ? {} : { _index: index }), _id: envelope.id } };
      const document = envelopeJson(envelope, `"@timestamp":${JSON.stringify(envelope.time)}`);
      return `${JSON.stringify(action)}\n${document}\n`;
    },
    interpret: interpretBulk,
  };
}

async function probeCluster(bulkUrl: URL, { token, request }: ProbeContext): Promise<ProbeResult> {
  // `/prefix/<index>/_bulk` → `/prefix/`: the cluster root.
  const rootPath = bulkUrl.pathname.replace(/\/_bulk\/?$/, '').replace(/\/[^/]*$/, '');
  const rootUrl = new URL(`${rootPath}/`, bulkUrl.origin);
  const answer = await request('GET', rootUrl, token === undefined ? {} : authorization('ApiKey')(token));
  if (answer.status === 200) {
    const version = (jsonObject(answer)?.version as { number?: unknown } | undefined)?.number;
    return passed(`OK (Elasticsearch${typeof version === 'string' ? ` ${version}` : ''} answered)`);
  }
  // 403 in Elasticsearch means authenticated but not authorised for this action.
  if (answer.status === 403 && token !== undefined) {
    return passed('OK (API key authenticated; it may not read cluster info, which indexing does not need)');
  }
  return unexpectedAnswer('GET', rootUrl, answer, token !== undefined);
}

interface ItemFailure {
  id: string;
  status: number;
  type: string;
  reason: string;
}

function interpretBulk(answer: Answer, sent: readonly Envelope[]): Verdict {
  const body = tryJson(answer.text);
  if (answer.status < 200 || answer.status >= 300) {
    // The whole request failed: name Elasticsearch's error type when it gave one.
    const error = isRecord(body) ? body.error : undefined;
    const type = isRecord(error) && typeof error.type === 'string' ? error.type : undefined;
    return statusVerdict(
      answer,
      type === undefined ? `HTTP ${answer.status}` : `HTTP ${answer.status} ${type}`,
      type === undefined ? undefined : [type],
    );
  }
  if (!isRecord(body) || typeof body.errors !== 'boolean') {
    return {
      kind: 'malformed',
      reason: `HTTP ${answer.status} without a bulk answer (is this a _bulk endpoint?)`,
    };
  }
  if (body.errors === false) {
    return { kind: 'acknowledged' };
  }
  const items = body.items;
  if (!Array.isArray(items) || items.length !== sent.length) {
    return {
      kind: 'malformed',
      reason: `bulk answer has ${Array.isArray(items) ? items.length : 'no'} items for ${sent.length} documents`,
    };
  }
  const again: Envelope[] = [];
  const failures: ItemFailure[] = [];
  const againStatuses = new Set<number>();
  for (let position = 0; position < sent.length; position++) {
    const result = itemResult(items[position]);
    const envelope = sent[position];
    if (result === undefined) {
      return { kind: 'malformed', reason: `bulk answer item ${position} has no status` };
    }
    const { status, type, reason } = result;
    if (status >= 200 && status < 300) {
      continue;
    }
    if (status === 409 && type === 'version_conflict_engine_exception') {
      // `create` of an id that exists: delivered before, so this is the duplicate the id makes harmless.
      continue;
    }
    if (status === 429 || status >= 500) {
      againStatuses.add(status);
      again.push(envelope);
      continue;
    }
    failures.push({ id: envelope.id, status, type, reason });
  }
  if (failures.length > 0) {
    const shown = failures
      .slice(0, FAILURES_SHOWN)
      .map((f) => `id ${f.id}: ${f.status} ${f.type}: ${f.reason.slice(0, REASON_CHARS)}`)
      .join('; ');
    const more = failures.length > FAILURES_SHOWN ? `; and ${failures.length - FAILURES_SHOWN} more` : '';
    return {
      kind: 'rejected',
      reason: `Elasticsearch refused ${failures.length} of ${sent.length} documents`,
      remedy:
        'Fix the index mapping or template (or the ingest pipeline) so it accepts these documents; the others were indexed, and re-sending them is harmless.',
      codes: [...new Set(failures.map((f) => f.type))],
      detail: `${shown}${more}`,
    };
  }
  if (again.length > 0) {
    return {
      kind: 'retry',
      reason: `${again.length} of ${sent.length} documents not indexed yet (item status ${[...againStatuses].join('/')})`,
      throttled: againStatuses.has(429),
      remaining: again,
    };
  }
  return { kind: 'acknowledged' };
}

function itemResult(item: unknown): { status: number; type: string; reason: string } | undefined {
  if (!isRecord(item)) {
    return undefined;
  }
  // Each item is keyed by its action (`create` here; `index` from some proxies).
  const result = Object.values(item)[0];
  if (!isRecord(result) || typeof result.status !== 'number') {
    return undefined;
  }
  const error = result.error;
  if (isRecord(error)) {
    return {
      status: result.status,
      type: typeof error.type === 'string' ? error.type : 'unknown_error',
      reason: typeof error.reason === 'string' ? error.reason : '',
    };
  }
  return { status: result.status, type: typeof error === 'string' ? error : '', reason: '' };
}
