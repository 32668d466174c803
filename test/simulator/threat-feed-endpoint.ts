/**
 * `POST /api/ttp/threat-intel/get-feed` (docs/mimecast-api.md B.9): one feed file per call, as a STIX 2.0 bundle
 * (`fileType: stix`) or CSV (the documented default), optionally zipped. While more indicators remain,
 * the `x-mc-threat-feed-next-token` header names this file; sending it back as `token` gets the next.
 * A request with nothing (more) in its window gets HTTP 200 with `fail[]` code
 * `err_threat_intel_feed_no_result_found` (docs/mimecast-api.md I.1), or an empty bundle under the `empty-bundle` variant.
 */
import { strToU8, zipSync } from 'fflate';
import { z } from 'zod';
import type { SimContext, SimRequest } from './context';
import { DAY_MS, formatCompactStamp, parseRequestDate } from './dates';
import { parseEnvelope, validationFailure } from './envelope';
import { type SimResponse, v1Failure } from './responses';
import { bundleId, csvRows, FEED_TYPES } from './stix';

const TOKEN_KIND = 'threat-feed';
const NO_RESULT_CODE = 'err_threat_intel_feed_no_result_found';
const tokenSchema = z.object({
  feed: z.enum(FEED_TYPES),
  next: z.int().nonnegative(),
  start: z.number(),
  end: z.number().nullable(),
});

const itemSchema = z.object({
  feedType: z.enum(FEED_TYPES),
  fileType: z.enum(['csv', 'stix']).optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  compress: z.boolean().optional(),
  token: z.string().optional(),
});

export function handleThreatFeedRequest(request: SimRequest, context: SimContext): SimResponse {
  const parsed = parseEnvelope(request.body);
  if (!parsed.ok) return parsed.response;
  const { item } = parsed.envelope;
  const fields = itemSchema.safeParse(item);
  if (!fields.success) {
    const issue = fields.error.issues[0];
    const field = String(issue?.path[0] ?? 'data');
    const code = item[field] === undefined ? 'err_validation_null' : 'err_validation_invalid_value';
    return validationFailure(code, `${field}: ${issue?.message ?? 'invalid'}`, item, field);
  }
  const { feedType, fileType = 'csv', compress = false, token } = fields.data;
  const now = context.now();

  let position: { next: number; start: number; end: number | null };
  if (token !== undefined && token !== '') {
    const opened = tokenSchema.safeParse(context.sealer.open(TOKEN_KIND, token));
    if (!opened.success || opened.data.feed !== feedType) {
      return validationFailure(
        'err_threat_intel_invalid_token',
        'The feed token is not valid',
        item,
        'token',
      );
    }
    position = opened.data;
  } else {
    const start = fields.data.start === undefined ? now - 7 * DAY_MS : parseRequestDate(fields.data.start);
    const end = fields.data.end === undefined ? null : parseRequestDate(fields.data.end);
    if (start === undefined || end === undefined) {
      return validationFailure(
        'err_validation_invalid_date',
        'start and end must be dates like 2021-11-16T12:03:24+0000',
        item,
        start === undefined ? 'start' : 'end',
      );
    }
    position = { next: 0, start, end };
  }

  const store = context.data.feeds[feedType];
  const taken = store.take(
    position.next,
    position.start,
    position.end ?? now,
    context.options.threatFeed.indicatorsPerFile,
  );
  if (taken.seqs.length === 0 && context.options.variants.threatFeedEmptyAnswer === 'no-result-fail') {
    return v1Failure(200, [{ code: NO_RESULT_CODE, message: 'No results found', retryable: false }], item);
  }
  const objects = taken.seqs.flatMap((seq) => store.objects(seq));
  const headers: Record<string, string> = {};
  if (taken.more || (context.options.variants.threatFeedTokenOnLastFile && taken.seqs.length > 0)) {
    headers['x-mc-threat-feed-next-token'] = context.sealer.seal(TOKEN_KIND, {
      ...position,
      feed: feedType,
      next: taken.next,
    });
  }

  const text =
    fileType === 'stix'
      ? JSON.stringify({
          type: 'bundle',
          id: bundleId(feedType, position.next, context.options.seed),
          spec_version: '2.0',
          objects,
        })
      : csvRows(objects);
  if (!compress) {
    headers['content-type'] = fileType === 'stix' ? 'application/json' : 'text/csv';
    return { status: 200, headers, body: Buffer.from(text, 'utf8') };
  }
  const name = `${feedType}_${fileType}_${formatCompactStamp(now)}.${fileType === 'stix' ? 'json' : 'csv'}`;
  headers['content-type'] = 'application/octet-stream';
  headers['content-disposition'] = `attachment; filename="${name.replace(/\.(json|csv)$/, '.zip')}"`;
  return { status: 200, headers, body: Buffer.from(zipSync({ [name]: [strToU8(text), { mtime: now }] })) };
}
