/** The API 1.0 "post-REST" request envelope `{meta:{pagination}, data:[{…}]}` (docs/mimecast-api.md B.0). */
import { z } from 'zod';
import type { SimContext } from './context';
import { type SimResponse, v1Failure } from './responses';

const envelopeSchema = z.object({
  meta: z
    .object({
      pagination: z
        .object({
          pageSize: z.union([z.number(), z.string()]).optional(),
          pageToken: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  data: z.array(z.record(z.string(), z.unknown())).optional(),
});

export interface Envelope {
  pageSize?: number | string;
  pageToken?: string;
  /** The first (and, for collectors, only) data item; {} when none was sent. */
  item: Record<string, unknown>;
}

export type EnvelopeOutcome = { ok: true; envelope: Envelope } | { ok: false; response: SimResponse };

export function parseEnvelope(body: Buffer): EnvelopeOutcome {
  let json: unknown = {};
  if (body.length > 0) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return {
        ok: false,
        response: v1Failure(400, [
          { code: 'err_request_malformed', message: 'The request body is not valid JSON', retryable: false },
        ]),
      };
    }
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      response: v1Failure(400, [
        {
          code: 'err_request_malformed',
          message: `The request body is not a Mimecast request envelope: ${parsed.error.issues[0]?.message ?? ''}`,
          retryable: false,
        },
      ]),
    };
  }
  const pagination = parsed.data.meta?.pagination;
  return {
    ok: true,
    envelope: {
      pageSize: pagination?.pageSize,
      pageToken: pagination?.pageToken,
      item: parsed.data.data?.[0] ?? {},
    },
  };
}

/** HTTP 200 with one validation error in fail[] (docs/mimecast-api.md C.1, F.3). */
export function validationFailure(
  code: string,
  message: string,
  item: Record<string, unknown>,
  field?: string,
): SimResponse {
  return v1Failure(
    200,
    [{ code, message, retryable: false, ...(field === undefined ? {} : { field }) }],
    item,
  );
}

/** The `fail[]` answer to a page token the endpoint did not issue, or issued for another question. */
export function invalidPageToken(item: Record<string, unknown>): SimResponse {
  return validationFailure('err_validation_invalid_token', 'The pageToken is not valid', item, 'pageToken');
}

export type PageSizeOutcome = { ok: true; pageSize: number } | { ok: false; response: SimResponse };

/** pageSize as a number or a numeric string (ELASTIC sends `"100"`), defaulted and limited per the variants. */
export function resolvePageSize(
  raw: number | string | undefined,
  item: Record<string, unknown>,
  context: SimContext,
): PageSizeOutcome {
  const { defaultPageSize, maxPageSize, pageSizeOverMax } = context.options.variants;
  if (raw === undefined || raw === '') return { ok: true, pageSize: defaultPageSize };
  const value = typeof raw === 'number' ? raw : /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1) {
    return {
      ok: false,
      response: validationFailure(
        'err_validation_invalid_value',
        'pageSize must be a positive integer',
        item,
        'pageSize',
      ),
    };
  }
  if (value > maxPageSize) {
    if (pageSizeOverMax === 'fail') {
      return {
        ok: false,
        response: validationFailure(
          'err_validation_max_value',
          `pageSize must not exceed ${maxPageSize}`,
          item,
          'pageSize',
        ),
      };
    }
    return { ok: true, pageSize: maxPageSize };
  }
  return { ok: true, pageSize: value };
}
