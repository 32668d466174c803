/**
 * The push ledger (core/push-ledger.ts) on DynamoDB, in the checkpoint table (docs/PUSH-GAP-FILL.md, "The ledger").
 *
 * One item per (stream, event-time bucket, `record` call), holding that call's ids as packed 8-byte
 * digests — not one item per event: a push request of 500 events costs 5 write units, not 500. An
 * item holds at most `MAX_DIGESTS_PER_ITEM` digests, so it stays under DynamoDB's 400 KB item limit;
 * more are split into parts. Each item carries a TTL, so DynamoDB deletes it once the pull has surely
 * passed its bucket. Writes are single-item UpdateItems (an upsert of a key no one else writes:
 * a retried write rewrites the same item); reads are one Query per (stream, bucket).
 */
import * as crypto from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  entriesByBucket,
  ID_DIGEST_BYTES,
  LEDGER_BUCKET_MS,
  type PushedEntry,
  type PushLedger,
  packDigests,
} from '../core/push-ledger';
import type { StreamId } from '../core/streams';
import { storeError } from './store-errors';
import { CHECKPOINT_TABLE_KEYS, PUSH_LEDGER_ATTRIBUTES as L, PUSH_LEDGER_KEY_PREFIX } from './table';
import { checkpointTableClient } from './table-client';

/**
 * Digests per item: 48 000 × 8 bytes = 384 000 bytes, leaving 25 KB of the 409 600-byte item limit for
 * the keys and the other attributes (under 200 bytes).
 */
export const MAX_DIGESTS_PER_ITEM = 48_000;
/**
 * Items live this long after their bucket ends: a day more than the 7 days Mimecast keeps SIEM batch
 * files (the furthest back a pull can read). A pull later than that only repeats events (harmless).
 */
export const LEDGER_RETENTION_MS = 8 * 24 * 60 * 60 * 1000;
/** Query pages read per bucket at most (1 MB each: far beyond a million ids an hour). */
const MAX_QUERY_PAGES = 1000;

export interface DynamoPushLedgerOptions {
  tableName: string;
  instance: string;
  /** An SDK client to use (e.g. the container's); it stays the caller's. */
  client?: DynamoDBClient;
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Time for the TTL (epoch ms); default Date.now. Tests pass their clock. */
  now?: () => number;
}

export class DynamoPushLedger implements PushLedger {
  private readonly document: DynamoDBDocumentClient;
  private readonly owned: DynamoDBClient | undefined;

  constructor(private readonly options: DynamoPushLedgerOptions) {
    const client = options.client ?? checkpointTableClient(options);
    this.owned = options.client === undefined ? client : undefined;
    this.document = DynamoDBDocumentClient.from(client);
  }

  async record(stream: StreamId, entries: readonly PushedEntry[]): Promise<void> {
    const writeId = crypto.randomUUID();
    for (const [bucket, group] of entriesByBucket(entries)) {
      const expiresAt = Math.ceil(
        (Math.max(bucket + LEDGER_BUCKET_MS, this.now()) + LEDGER_RETENTION_MS) / 1000,
      );
      for (let part = 0; part * MAX_DIGESTS_PER_ITEM < group.length; part += 1) {
        const ids = group
          .slice(part * MAX_DIGESTS_PER_ITEM, (part + 1) * MAX_DIGESTS_PER_ITEM)
          .map((e) => e.id);
        await this.write(stream, `${bucketKey(bucket)}#${writeId}#${part}`, packDigests(ids), expiresAt);
      }
    }
  }

  async readBucket(stream: StreamId, bucket: number): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
      let answer: QueryCommandOutput;
      try {
        answer = await this.document.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :bucket)',
            ExpressionAttributeNames: {
              '#pk': CHECKPOINT_TABLE_KEYS.partitionKey.name,
              '#sk': CHECKPOINT_TABLE_KEYS.sortKey.name,
              '#digests': L.digests,
            },
            ExpressionAttributeValues: { ':pk': this.partition(stream), ':bucket': `${bucketKey(bucket)}#` },
            ProjectionExpression: '#digests',
            // The pull trails push by minutes: an eventually consistent read (half the cost) has long converged.
            ConsistentRead: false,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw storeError(this.options.tableName, error, 'dynamodb:Query', {
          instance: this.options.instance,
          stream,
        });
      }
      for (const item of answer.Items ?? []) {
        const digests = item[L.digests];
        if (digests instanceof Uint8Array && digests.byteLength % ID_DIGEST_BYTES === 0) parts.push(digests);
      }
      startKey = answer.LastEvaluatedKey;
      if (startKey === undefined) return parts;
    }
    return parts;
  }

  /** Closes the SDK client's sockets if this ledger built it. */
  close(): void {
    this.owned?.destroy();
  }

  private async write(stream: StreamId, sortKey: string, digests: Buffer, expiresAt: number): Promise<void> {
    try {
      await this.document.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: {
            [CHECKPOINT_TABLE_KEYS.partitionKey.name]: this.partition(stream),
            [CHECKPOINT_TABLE_KEYS.sortKey.name]: sortKey,
          },
          UpdateExpression: 'SET #digests = :digests, #count = :count, #expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#digests': L.digests, '#count': L.count, '#expiresAt': L.expiresAt },
          ExpressionAttributeValues: {
            ':digests': digests,
            ':count': digests.byteLength / ID_DIGEST_BYTES,
            ':expiresAt': expiresAt,
          },
        }),
      );
    } catch (error) {
      throw storeError(this.options.tableName, error, 'dynamodb:UpdateItem', {
        instance: this.options.instance,
        stream,
      });
    }
  }

  private partition(stream: StreamId): string {
    return `${PUSH_LEDGER_KEY_PREFIX}${this.options.instance}#${stream}`;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** A bucket's start as it appears in sort keys: ISO-8601 UTC, so keys sort by time. */
function bucketKey(bucket: number): string {
  return new Date(bucket).toISOString();
}
