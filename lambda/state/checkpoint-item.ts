/**
 * The checkpoint item as stored (attribute names in table.ts): its schema and the one decoder from a
 * DynamoDB item to the core's Checkpoint (docs/ARCHITECTURE.md, "The checkpoint item").
 */
import * as z from 'zod';
import type { Checkpoint, CheckpointKey, LastError } from '../core/checkpoint';
import type { JsonObject } from '../core/json';
import { STREAM_IDS } from '../core/streams';
import { type ErrorKind, ProtocolError } from '../errors';
import { CHECKPOINT_ATTRIBUTES as A } from './table';

/** A checkpoint item as read from the table, checked; a malformed one is a ProtocolError naming the item. */
export function parseCheckpointItem(
  tableName: string,
  item: Record<string, unknown>,
  expected?: CheckpointKey,
): Checkpoint {
  const where = `instance "${String(item[A.instance] ?? expected?.instance)}", stream "${String(
    item[A.stream] ?? expected?.stream,
  )}"`;
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) {
    throw malformed(tableName, where, expected, parsed.error.issues.map(describeIssue).join('; '));
  }
  const value = parsed.data;
  let cursor: JsonObject | undefined;
  if (value.cursor !== undefined) {
    try {
      const decoded: unknown = JSON.parse(value.cursor);
      if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded))
        throw new Error('not an object');
      cursor = decoded as JsonObject;
    } catch (error) {
      throw malformed(tableName, where, expected, `cursor is not a JSON object (${String(error)})`);
    }
  }
  return {
    instance: value.instance,
    stream: value.stream,
    version: value.version,
    ...(cursor === undefined ? {} : { cursor }),
    offset: value.offset,
    ...(value.leaseOwner === undefined || value.leaseExpiresAt === undefined
      ? {}
      : { lease: { owner: value.leaseOwner, expiresAt: value.leaseExpiresAt } }),
    ...(value.notBefore === undefined ? {} : { notBefore: value.notBefore }),
    ...(value.lastSuccessAt === undefined ? {} : { lastSuccessAt: value.lastSuccessAt }),
    ...(value.newestEventTime === undefined ? {} : { newestEventTime: value.newestEventTime }),
    ...(value.lastError === undefined ? {} : { lastError: value.lastError as LastError }),
    consecutiveFailures: value.consecutiveFailures,
    totals: { events: value.totalEvents, pages: value.totalPages, bytes: value.totalBytes },
    createdAt: value.createdAt,
    updatedAt: value.updatedAt,
  };
}

function malformed(
  table: string,
  where: string,
  key: CheckpointKey | undefined,
  detail: string,
): ProtocolError {
  return new ProtocolError(
    `Checkpoint item for ${where} in table "${table}" is malformed: ${detail}.`,
    'Reset that stream (the `reset` command) so it is seeded again, or repair the item by hand.',
    { stream: key?.stream, endpoint: `dynamodb ${table}` },
  );
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${issue.path.map(String).join('.') || '(item)'}: ${issue.message}`;
}

const ERROR_KINDS: Record<ErrorKind | 'unexpected', true> = {
  authentication: true,
  permission: true,
  throttled: true,
  transient: true,
  protocol: true,
  request: true,
  'sink-rejected': true,
  config: true,
  secret: true,
  'checkpoint-conflict': true,
  unexpected: true,
};

const count = z.number().int().nonnegative();

const lastErrorSchema = z.object({
  kind: z.string().refine((kind) => Object.hasOwn(ERROR_KINDS, kind), 'unknown error kind'),
  name: z.string(),
  message: z.string(),
  at: z.string(),
  remedy: z.string().optional(),
  retryable: z.boolean().optional(),
  endpoint: z.string().optional(),
  status: z.number().optional(),
  codes: z.array(z.string()).optional(),
});

const itemSchema = z.object({
  [A.instance]: z.string().min(1),
  [A.stream]: z.enum(STREAM_IDS),
  [A.version]: count,
  [A.cursor]: z.string().optional(),
  [A.offset]: count,
  [A.leaseOwner]: z.string().optional(),
  [A.leaseExpiresAt]: z.number().optional(),
  [A.notBefore]: z.number().optional(),
  [A.lastSuccessAt]: z.string().optional(),
  [A.newestEventTime]: z.string().optional(),
  [A.lastError]: lastErrorSchema.optional(),
  [A.consecutiveFailures]: count,
  [A.totalEvents]: count,
  [A.totalPages]: count,
  [A.totalBytes]: count,
  [A.createdAt]: z.string(),
  [A.updatedAt]: z.string(),
});
