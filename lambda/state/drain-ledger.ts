/**
 * The drain's done records and claims on DynamoDB (the checkpoint table), through the real SDK.
 *
 * One item per object identity: partition `drain#<instance>`, sort key `<bucket>/<key>#<identity>`
 * (lambda/state/table.ts). Every write is one conditional UpdateItem, as for checkpoints, so it runs
 * the same on dynalite. Each item carries the table's time-to-live attribute: a done record is kept
 * DRAIN_RECORD_DAYS after it was written, an abandoned claim the same after it was taken.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClaimOutcome, DoneRecord, DrainLedger, IdentifiedObject } from '../drain/ports';
import { CheckpointConflictError } from '../errors';
import { isConditionFailure, storeError } from './store-errors';
import {
  CHECKPOINT_ATTRIBUTES as A,
  DRAIN_ATTRIBUTES as D,
  DRAIN_PARTITION_PREFIX,
  DRAIN_RECORD_DAYS,
  TTL_ATTRIBUTE,
} from './table';
import { Expression } from './update-expression';

export { DRAIN_RECORD_DAYS };

/** DynamoDB's limit on a sort key value. */
const MAX_SORT_KEY_BYTES = 1024;

const CLAIMED = 'claimed';
const DONE = 'done';

/** The sort key of an object's record; a key too long for DynamoDB is named by its SHA-256. */
export function drainSortKey(object: IdentifiedObject): string {
  const plain = `${object.bucket}/${object.key}#${object.identity}`;
  if (Buffer.byteLength(plain) <= MAX_SORT_KEY_BYTES) return plain;
  const digest = createHash('sha256').update(object.key).digest('hex');
  return `${object.bucket}/sha256:${digest}#${object.identity}`;
}

export interface DynamoDrainLedgerOptions {
  tableName: string;
  instance: string;
  client: DynamoDBDocumentClient;
  recordDays?: number;
}

/** The ledger over an SDK client the caller owns (the container's, or the command line's store). */
export function createDrainLedger(options: {
  client: DynamoDBClient;
  tableName: string;
  instance: string;
  recordDays?: number;
}): DynamoDrainLedger {
  return new DynamoDrainLedger({
    ...options,
    client: DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } }),
  });
}

export class DynamoDrainLedger implements DrainLedger {
  private readonly tableName: string;
  private readonly partition: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly recordSeconds: number;

  constructor(options: DynamoDrainLedgerOptions) {
    this.tableName = options.tableName;
    this.partition = `${DRAIN_PARTITION_PREFIX}${options.instance}`;
    this.client = options.client;
    this.recordSeconds = (options.recordDays ?? DRAIN_RECORD_DAYS) * 86_400;
  }

  async doneAt(object: IdentifiedObject): Promise<string | undefined> {
    const item = await this.read(object);
    return item?.[D.drainState] === DONE ? String(item[D.doneAt]) : undefined;
  }

  async claim(
    object: IdentifiedObject,
    owner: string,
    expiresAt: number,
    now: number,
  ): Promise<ClaimOutcome> {
    const e = new Expression();
    const iso = new Date(now).toISOString();
    e.set(D.drainState, CLAIMED);
    e.set(A.leaseOwner, owner);
    e.set(A.leaseExpiresAt, expiresAt);
    e.set(D.bucket, object.bucket);
    e.set(D.objectKey, object.key);
    e.set(D.objectIdentity, object.identity);
    e.set(TTL_ATTRIBUTE, this.expiry(now));
    e.setClause(`${e.name(A.createdAt)} = if_not_exists(${e.name(A.createdAt)}, ${e.value(iso)})`);
    e.set(A.updatedAt, iso);
    // New; or claimed but released, lapsed, or ours already. Never once done.
    const condition = `attribute_not_exists(${e.name(A.stream)}) OR (${e.name(D.drainState)} = ${e.value(
      CLAIMED,
    )} AND (attribute_not_exists(${e.name(A.leaseOwner)}) OR ${e.name(A.leaseOwner)} = ${e.value(
      owner,
    )} OR ${e.name(A.leaseExpiresAt)} <= ${e.value(now)}))`;
    try {
      await this.update(object, e, condition, 'claim');
      return { kind: 'claimed' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await this.read(object);
    if (current?.[D.drainState] === DONE) return { kind: 'done', doneAt: String(current[D.doneAt]) };
    if (current !== undefined && typeof current[A.leaseOwner] === 'string') {
      return {
        kind: 'held',
        owner: String(current[A.leaseOwner]),
        expiresAt: Number(current[A.leaseExpiresAt]),
      };
    }
    // Released or lapsed between our write and our read: the caller's retry claims it.
    throw this.conflict(object, 'claim', 'its claim changed while it was being taken');
  }

  async complete(object: IdentifiedObject, owner: string, record: DoneRecord): Promise<void> {
    const e = new Expression();
    const iso = new Date(record.at).toISOString();
    e.set(D.drainState, DONE);
    e.set(D.events, record.events);
    e.set(D.bytes, record.bytes);
    e.set(D.doneAt, iso);
    e.set(A.updatedAt, iso);
    e.set(TTL_ATTRIBUTE, this.expiry(record.at));
    e.remove(A.leaseOwner);
    e.remove(A.leaseExpiresAt);
    const condition = `${e.name(D.drainState)} = ${e.value(CLAIMED)} AND ${e.name(A.leaseOwner)} = ${e.value(owner)}`;
    try {
      await this.update(object, e, condition, 'complete');
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The SDK retries a write whose answer was lost: our own first attempt is recognisable.
      const current = await this.read(object);
      if (current?.[D.drainState] === DONE && current[D.doneAt] === iso) return;
      throw this.conflict(
        object,
        'complete',
        'another run took the claim over (this one outlived it)',
        error,
      );
    }
  }

  async release(object: IdentifiedObject, owner: string, now: number): Promise<void> {
    const e = new Expression();
    e.remove(A.leaseOwner);
    e.remove(A.leaseExpiresAt);
    e.set(A.updatedAt, new Date(now).toISOString());
    const condition = `${e.name(D.drainState)} = ${e.value(CLAIMED)} AND ${e.name(A.leaseOwner)} = ${e.value(owner)}`;
    try {
      await this.update(object, e, condition, 'release');
    } catch (error) {
      // Not ours any more: nothing to release.
      if (!isConditionFailure(error)) throw error;
    }
  }

  private expiry(at: number): number {
    return Math.floor(at / 1000) + this.recordSeconds;
  }

  private key(object: IdentifiedObject): Record<string, string> {
    return { [A.instance]: this.partition, [A.stream]: drainSortKey(object) };
  }

  private async read(object: IdentifiedObject): Promise<Record<string, unknown> | undefined> {
    try {
      const answer = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(object), ConsistentRead: true }),
      );
      return answer.Item;
    } catch (error) {
      throw storeError(this.tableName, error, 'dynamodb:GetItem', undefined, this.partition, 'drain read');
    }
  }

  private async update(object: IdentifiedObject, e: Expression, condition: string, operation: string) {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(object),
          UpdateExpression: e.updateExpression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: e.names,
          ExpressionAttributeValues: e.values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      throw storeError(
        this.tableName,
        error,
        'dynamodb:UpdateItem',
        undefined,
        this.partition,
        `drain ${operation}`,
      );
    }
  }

  private conflict(object: IdentifiedObject, operation: string, why: string, cause?: unknown) {
    return new CheckpointConflictError(
      `Drain ${operation} of s3://${object.bucket}/${object.key} (${object.identity}) in table "${this.tableName}": ${why}.`,
      'Nothing to do: the retry of this notification finds the object done, or drains it again.',
      { endpoint: `dynamodb:UpdateItem ${this.tableName}`, cause },
    );
  }
}
