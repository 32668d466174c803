/**
 * The CheckpointStore on DynamoDB, through the real SDK (DocumentClient for marshalling).
 *
 * Every write is one conditional UpdateItem (or DeleteItem for reset): no transactions, so it runs
 * the same on DynamoDB and on dynalite (the local store). Every attribute name goes through
 * ExpressionAttributeNames, because `cursor` and `offset` are DynamoDB reserved words.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  checkpointConflict,
  type FailureUpdate,
  type Lease,
  type LeaseToken,
  type ProgressUpdate,
  type ResetOptions,
} from '../core/checkpoint';
import { ProtocolError } from '../errors';
import { parseCheckpointItem } from './checkpoint-item';
import { isConditionFailure, storeError } from './store-errors';
import { CHECKPOINT_ATTRIBUTES as A, type DynamoDbAction } from './table';
import { checkpointTableClient } from './table-client';
import { Expression } from './update-expression';

export interface DynamoCheckpointStoreOptions {
  tableName: string;
  client: DynamoDBDocumentClient;
  /** An SDK client this store owns: close() destroys it (DocumentClient.destroy() is a no-op). */
  ownedClient?: DynamoDBClient;
}

export interface CreateDynamoDbCheckpointStoreOptions {
  tableName: string;
  /**
   * An SDK client to use (e.g. one per Lambda container); it stays the caller's (close() leaves it open).
   * Without one, a client is built from the options below and close() destroys it.
   */
  client?: DynamoDBClient;
  /** Default: the SDK's (AWS_REGION inside Lambda). */
  region?: string;
  /** Endpoint override (dynalite, tests). Default: the SDK's (honours AWS_ENDPOINT_URL_DYNAMODB). */
  endpoint?: string;
  /** Default: the SDK's provider chain (the function's role inside Lambda). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request timeout; default 5000 ms. A checkpoint write is a single small item. */
  requestTimeoutMs?: number;
  /** SDK attempts per call including the first; default 3. */
  maxAttempts?: number;
}

/** Builds the store (and, unless given one, its SDK client). */
export function createDynamoDbCheckpointStore(
  options: CreateDynamoDbCheckpointStoreOptions,
): DynamoCheckpointStore {
  const client = options.client ?? checkpointTableClient(options);
  const document = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new DynamoCheckpointStore({
    tableName: options.tableName,
    client: document,
    ...(options.client === undefined ? { ownedClient: client } : {}),
  });
}

export class DynamoCheckpointStore implements CheckpointStore {
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly ownedClient: DynamoDBClient | undefined;

  constructor(options: DynamoCheckpointStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
    this.ownedClient = options.ownedClient;
  }

  async acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null> {
    const e = new Expression();
    const iso = new Date(now).toISOString();
    e.set(A.leaseOwner, lease.owner);
    e.set(A.leaseExpiresAt, lease.expiresAt);
    // Creates the item on first use: missing counters start at zero.
    e.setClause(`${e.name(A.version)} = if_not_exists(${e.name(A.version)}, ${e.value(0)}) + ${e.value(1)}`);
    for (const attribute of [A.offset, A.consecutiveFailures, A.totalEvents, A.totalPages, A.totalBytes]) {
      e.setClause(`${e.name(attribute)} = if_not_exists(${e.name(attribute)}, ${e.value(0)})`);
    }
    e.setClause(`${e.name(A.createdAt)} = if_not_exists(${e.name(A.createdAt)}, ${e.value(iso)})`);
    e.set(A.updatedAt, iso);
    // Free (never taken or released), ours already, or expired.
    const condition = `attribute_not_exists(${e.name(A.leaseOwner)}) OR ${e.name(A.leaseOwner)} = ${e.value(
      lease.owner,
    )} OR ${e.name(A.leaseExpiresAt)} <= ${e.value(now)}`;
    try {
      return await this.update(key, e, condition, 'acquireLease');
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async load(key: CheckpointKey): Promise<Checkpoint | undefined> {
    const action: DynamoDbAction = 'dynamodb:GetItem';
    try {
      const answer = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(key), ConsistentRead: true }),
      );
      return answer.Item === undefined ? undefined : parseCheckpointItem(this.tableName, answer.Item, key);
    } catch (error) {
      throw storeError(this.tableName, error, action, key);
    }
  }

  async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate): Promise<Checkpoint> {
    const e = new Expression();
    e.set(A.cursor, JSON.stringify(update.cursor));
    e.set(A.offset, update.offset);
    e.set(A.totalEvents, update.totals.events);
    e.set(A.totalPages, update.totals.pages);
    e.set(A.totalBytes, update.totals.bytes);
    if (update.newestEventTime !== undefined) e.set(A.newestEventTime, update.newestEventTime);
    if (update.notBefore === undefined) e.remove(A.notBefore);
    else e.set(A.notBefore, update.notBefore);
    if (update.succeededAt !== undefined) {
      e.set(A.lastSuccessAt, new Date(update.succeededAt).toISOString());
      e.set(A.consecutiveFailures, 0);
    }
    const cursor = JSON.stringify(update.cursor);
    return this.conditionalWrite(key, token, e, update.at, 'commit', (current) => {
      return (
        JSON.stringify(current.cursor) === cursor &&
        current.offset === update.offset &&
        current.totals.events === update.totals.events &&
        current.lease?.owner === token.owner
      );
    });
  }

  async recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate): Promise<Checkpoint> {
    const e = new Expression();
    e.set(A.lastError, update.error);
    e.set(A.consecutiveFailures, update.consecutiveFailures);
    return this.conditionalWrite(key, token, e, update.at, 'recordFailure', (current) => {
      return (
        current.consecutiveFailures === update.consecutiveFailures &&
        current.lastError?.at === update.error.at &&
        current.lastError?.message === update.error.message &&
        current.lease?.owner === token.owner
      );
    });
  }

  async releaseLease(key: CheckpointKey, token: LeaseToken, now: number): Promise<void> {
    const e = new Expression();
    e.remove(A.leaseOwner);
    e.remove(A.leaseExpiresAt);
    await this.conditionalWrite(key, token, e, now, 'releaseLease', (current) => current.lease === undefined);
  }

  async list(instance: string): Promise<Checkpoint[]> {
    const action: DynamoDbAction = 'dynamodb:Query';
    const checkpoints: Checkpoint[] = [];
    let startKey: Record<string, unknown> | undefined;
    // One instance has at most a dozen streams: one page in practice; the bound guards a bad table.
    for (let page = 0; page < 100; page += 1) {
      let answer: QueryCommandOutput;
      try {
        answer = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#instance = :instance',
            ExpressionAttributeNames: { '#instance': A.instance },
            ExpressionAttributeValues: { ':instance': instance },
            ConsistentRead: true,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw storeError(this.tableName, error, action, undefined, instance);
      }
      for (const item of answer.Items ?? []) checkpoints.push(parseCheckpointItem(this.tableName, item));
      startKey = answer.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return checkpoints.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  async reset(key: CheckpointKey, options: ResetOptions): Promise<Checkpoint | undefined> {
    const action: DynamoDbAction = 'dynamodb:DeleteItem';
    const e = new Expression();
    const condition = options.force
      ? undefined
      : `attribute_not_exists(${e.name(A.leaseOwner)}) OR ${e.name(A.leaseExpiresAt)} <= ${e.value(options.now)}`;
    try {
      const answer = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(key),
          ReturnValues: 'ALL_OLD',
          ...(condition === undefined
            ? {}
            : {
                ConditionExpression: condition,
                ExpressionAttributeNames: e.names,
                ExpressionAttributeValues: e.values,
              }),
        }),
      );
      return answer.Attributes === undefined
        ? undefined
        : parseCheckpointItem(this.tableName, answer.Attributes, key);
    } catch (error) {
      if (isConditionFailure(error)) {
        throw checkpointConflict(
          key,
          'reset',
          'a run holds an unexpired lease (wait for it, or force the reset)',
          error,
        );
      }
      throw storeError(this.tableName, error, action, key);
    }
  }

  /** Closes the SDK client's sockets if this store built it. */
  close(): void {
    this.ownedClient?.destroy();
  }

  /** A write conditional on version and lease owner that bumps the version. */
  private async conditionalWrite(
    key: CheckpointKey,
    token: LeaseToken,
    e: Expression,
    at: number,
    operation: string,
    isOurs: (current: Checkpoint) => boolean,
  ): Promise<Checkpoint> {
    e.set(A.version, token.version + 1);
    e.set(A.updatedAt, new Date(at).toISOString());
    const condition = `${e.name(A.version)} = ${e.value(token.version)} AND ${e.name(A.leaseOwner)} = ${e.value(
      token.owner,
    )}`;
    try {
      return await this.update(key, e, condition, operation);
    } catch (error) {
      if (isConditionFailure(error)) {
        // The SDK retries a write whose answer was lost; if the first attempt applied, the retry
        // fails its own condition. Our write is recognisable: the next version, stamped with our
        // time and holding what we wrote (no one else writes under our token).
        const current = await this.load(key).catch(() => undefined);
        if (
          current !== undefined &&
          current.version === token.version + 1 &&
          current.updatedAt === new Date(at).toISOString() &&
          isOurs(current)
        ) {
          return current;
        }
        throw checkpointConflict(
          key,
          operation,
          `expected version ${token.version} leased to "${token.owner}", but the item changed, lost that lease or was reset`,
          error,
        );
      }
      throw error;
    }
  }

  /** UpdateItem returning the whole new item. Condition failures pass through untouched for the caller. */
  private async update(
    key: CheckpointKey,
    e: Expression,
    condition: string,
    operation: string,
  ): Promise<Checkpoint> {
    let attributes: Record<string, unknown> | undefined;
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(key),
          UpdateExpression: e.updateExpression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: e.names,
          ExpressionAttributeValues: e.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      attributes = answer.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      throw storeError(this.tableName, error, 'dynamodb:UpdateItem', key, undefined, operation);
    }
    if (attributes === undefined) {
      throw new ProtocolError(
        `DynamoDB ${operation} on "${this.tableName}" for instance "${key.instance}", stream "${key.stream}" returned no item.`,
        'Check that the endpoint is DynamoDB (or dynalite) and report this as a collector bug if it is.',
        { stream: key.stream, endpoint: `dynamodb:UpdateItem ${this.tableName}` },
      );
    }
    return parseCheckpointItem(this.tableName, attributes, key);
  }

  private key(key: CheckpointKey): Record<string, string> {
    return { [A.instance]: key.instance, [A.stream]: key.stream };
  }
}
