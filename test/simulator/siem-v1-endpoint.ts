/**
 * `POST /api/audit/get-siem-logs` (docs/mimecast-api.md B.1, F.2): one file per call. No token → the earliest file
 * still retained; a token → the file after the one it names. When nothing follows, a JSON "no more
 * files" answer, and the client's token stays valid so the next poll continues where it left off.
 */
import { z } from 'zod';
import type { SimContext, SimRequest } from './context';
import { parseEnvelope, validationFailure } from './envelope';
import { buildV1FileBody, type V1FileFormat, v1Extension, v1FileStem } from './file-bodies';
import { jsonResponse, type SimResponse, v1Failure } from './responses';

const TOKEN_KIND = 'mc-siem-token';
const tokenSchema = z.object({ file: z.int().min(-1) });

const itemSchema = z.object({
  type: z.string().optional(),
  fileFormat: z.enum(['json', 'key_value']).optional(),
  compress: z.boolean().optional(),
  token: z.string().optional(),
});

export function siemTokenFor(context: SimContext, fileSeq: number): string {
  return context.sealer.seal(TOKEN_KIND, { file: fileSeq });
}

export function invalidSiemToken(context: SimContext, item: Record<string, unknown>): SimResponse {
  const status = context.options.variants.v1SiemInvalidTokenStatus;
  return v1Failure(
    status,
    [
      {
        code: 'err_audit_siem_invalid_token',
        message: 'The SIEM token is invalid or has expired',
        retryable: false,
      },
    ],
    item,
  );
}

export function handleV1SiemRequest(request: SimRequest, context: SimContext): SimResponse {
  const parsed = parseEnvelope(request.body);
  if (!parsed.ok) return parsed.response;
  const { item } = parsed.envelope;
  const fields = itemSchema.safeParse(item);
  if (!fields.success) {
    const issue = fields.error.issues[0];
    const field = String(issue?.path[0] ?? 'data');
    return validationFailure(
      'err_validation_invalid_value',
      `${field}: ${issue?.message ?? 'invalid'}`,
      item,
      field,
    );
  }
  const { type, fileFormat, compress, token } = fields.data;
  if (type !== undefined && type !== 'MTA') {
    return validationFailure('err_validation_invalid_value', 'type must be MTA', item, 'type');
  }
  const store = context.data.siemV1;
  const now = context.now();
  const firstLive = store.firstLiveFile(now, context.options.siem.retentionMs);

  let next = firstLive;
  if (token !== undefined && token !== '') {
    const opened = tokenSchema.safeParse(context.sealer.open(TOKEN_KIND, token));
    // A token for a file no longer retained (older than 7 days) is refused, as Mimecast does.
    if (!opened.success || opened.data.file >= store.files.length || opened.data.file < firstLive - 1) {
      return invalidSiemToken(context, item);
    }
    next = opened.data.file + 1;
  }

  const variants = context.options.variants;
  if (next >= store.files.length) {
    const headers: Record<string, string> = {};
    if (variants.v1SiemNoMoreFilesToken === 'echo') {
      headers['mc-siem-token'] = token || siemTokenFor(context, next - 1);
    }
    return jsonResponse(200, { meta: { isLastToken: true, status: 200 }, data: [], fail: [] }, headers);
  }

  const file = store.files[next];
  const format: V1FileFormat = fileFormat ?? variants.v1SiemFormatWhenOmitted;
  const zipped = compress === true;
  const lineEnding = variants.v1KeyValueLineEnding === 'crlf' ? '\r\n' : '\n';
  const body = context.bodies.get(`v1:${file.seq}:${format}:${zipped}:${lineEnding}`, () =>
    buildV1FileBody(context.data, file, format, zipped, lineEnding),
  );
  const extension = zipped && variants.v1SiemCompressedExtension === 'zip' ? 'zip' : v1Extension(format);
  return {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${v1FileStem(file)}.${extension}"`,
      'mc-siem-token': siemTokenFor(context, file.seq),
    },
    body,
  };
}
