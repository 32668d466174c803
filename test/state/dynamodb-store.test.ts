/**
 * The DynamoDB adapter through the real SDK client against dynalite on 127.0.0.1: the shared
 * checkpoint contract, plus what only DynamoDB can get wrong (reserved words, marshalling, errors).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PermissionError, ProtocolError, RequestError, TransientError } from '../../lambda/errors';
import { createDynamoDbCheckpointStore } from '../../lambda/state/dynamodb-store';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import {
  CHECKPOINT_ATTRIBUTES,
  CHECKPOINT_TABLE_KEYS,
  DYNAMODB_ACTIONS_BY_METHOD,
  DYNAMODB_ACTIONS_FOR_TICK,
  DYNAMODB_ACTIONS_USED,
} from '../../lambda/state/table';
import { describeCheckpointStoreContract } from '../core/support/checkpoint-store-contract';
import { T0 } from '../kit/clock';

let local: LocalCheckpointStore;
let counter = 0;

beforeAll(async () => {
  local = await openLocalCheckpointStore();
});

afterAll(async () => {
  await local.close();
});

describe('DynamoCheckpointStore on dynalite', () => {
  describeCheckpointStoreContract(() => {
    counter += 1;
    return { store: local.store, instance: `contract-${counter}` };
  });
});

describe('DynamoCheckpointStore specifics', () => {
  const raw = () =>
    new DynamoDBClient({
      endpoint: local.endpoint,
      region: local.region,
      credentials: local.credentials,
      maxAttempts: 1,
    });

  it('exports the table keys and the exact actions it uses', () => {
    expect(CHECKPOINT_TABLE_KEYS).toEqual({
      partitionKey: { name: 'instance', type: 'S' },
      sortKey: { name: 'stream', type: 'S' },
    });
    expect([...new Set(Object.values(DYNAMODB_ACTIONS_BY_METHOD).flat())].sort()).toEqual(
      [...DYNAMODB_ACTIONS_USED].sort(),
    );
    const tickMethods = ['acquireLease', 'commitProgress', 'recordFailure', 'releaseLease'] as const;
    expect([...new Set(tickMethods.flatMap((method) => DYNAMODB_ACTIONS_BY_METHOD[method]))].sort()).toEqual(
      [...DYNAMODB_ACTIONS_FOR_TICK].sort(),
    );
    expect(DYNAMODB_ACTIONS_FOR_TICK).toEqual(['dynamodb:UpdateItem', 'dynamodb:GetItem']);
  });

  it('stores the cursor as JSON text and the documented attribute names', async () => {
    const key = { instance: 'attrs', stream: 'siem' as const };
    const leased = (await local.store.acquireLease(key, { owner: 'o', expiresAt: T0 + 1000 }, T0))!;
    await local.store.commitProgress(
      key,
      { owner: 'o', version: leased.version },
      {
        cursor: { token: 'mc-siem-token' },
        offset: 2,
        totals: { events: 1, pages: 1, bytes: 5 },
        newestEventTime: '2024-06-05T11:00:00.000Z',
        notBefore: T0 + 500,
        succeededAt: T0,
        at: T0,
      },
    );
    const client = raw();
    const item = (
      await client.send(
        new GetItemCommand({
          TableName: local.tableName,
          Key: { instance: { S: 'attrs' }, stream: { S: 'siem' } },
        }),
      )
    ).Item!;
    client.destroy();
    expect(item.cursor).toEqual({ S: '{"token":"mc-siem-token"}' });
    expect(item.offset).toEqual({ N: '2' });
    expect(item.leaseOwner).toEqual({ S: 'o' });
    expect(
      Object.keys(item).every((name) => Object.values(CHECKPOINT_ATTRIBUTES).includes(name as never)),
    ).toBe(true);
  });

  it('names instance and stream when an item is malformed', async () => {
    const client = raw();
    await client.send(
      new PutItemCommand({
        TableName: local.tableName,
        Item: {
          instance: { S: 'broken' },
          stream: { S: 'dlp' },
          version: { N: '4' },
          cursor: { S: '[1,2' },
          offset: { N: '0' },
          consecutiveFailures: { N: '0' },
          totalEvents: { N: '0' },
          totalPages: { N: '0' },
          totalBytes: { N: '0' },
          createdAt: { S: 'x' },
          updatedAt: { S: 'x' },
        },
      }),
    );
    await client.send(
      new PutItemCommand({
        TableName: local.tableName,
        Item: { instance: { S: 'broken' }, stream: { S: 'audit' }, version: { S: 'four' } },
      }),
    );
    client.destroy();
    const bad = local.store.load({ instance: 'broken', stream: 'dlp' });
    await expect(bad).rejects.toBeInstanceOf(ProtocolError);
    await expect(bad).rejects.toThrow(/instance "broken", stream "dlp".*cursor is not a JSON object/);
    await expect(local.store.load({ instance: 'broken', stream: 'audit' })).rejects.toThrow(
      /stream "audit".*version/,
    );
  });

  it('maps a missing table to a RequestError and an unreachable endpoint to a TransientError, with cause', async () => {
    const missing = createDynamoDbCheckpointStore({
      tableName: 'no-such-table',
      endpoint: local.endpoint,
      region: local.region,
      credentials: local.credentials,
      maxAttempts: 1,
    });
    const key = { instance: 'x', stream: 'audit' as const };
    const error = await missing
      .acquireLease(key, { owner: 'o', expiresAt: T0 + 1 }, T0)
      .catch((e: unknown) => e);
    missing.close();
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).message).toMatch(
      /no-such-table.*instance "x", stream "audit".*does not exist/,
    );
    expect((error as RequestError).endpoint).toBe('dynamodb:UpdateItem no-such-table');
    expect((error as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });

    const unreachable = createDynamoDbCheckpointStore({
      tableName: local.tableName,
      endpoint: 'http://127.0.0.1:9',
      region: local.region,
      credentials: local.credentials,
      maxAttempts: 1,
      requestTimeoutMs: 1000,
    });
    const down = await unreachable.list('x').catch((e: unknown) => e);
    unreachable.close();
    expect(down).toBeInstanceOf(TransientError);
    expect((down as TransientError).message).toMatch(/Query on table .* for instance "x"/);
    expect((down as Error).cause).toBeDefined();
  });

  it("recognises its own write when DynamoDB's answer was lost and the SDK retried it", async () => {
    // A loopback proxy that forwards to dynalite but, when told, cuts the connection instead of
    // answering an UpdateItem that was applied: the SDK sees a reset and retries the same write.
    let dropNextUpdate = false;
    let dropped = 0;
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'x-amz-target', 'authorization', 'x-amz-date']) {
          const value = request.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        const answer = await fetch(local.endpoint, { method: 'POST', headers, body: Buffer.concat(chunks) });
        const body = Buffer.from(await answer.arrayBuffer());
        if (dropNextUpdate && headers['x-amz-target']?.endsWith('.UpdateItem')) {
          dropNextUpdate = false;
          dropped += 1;
          request.socket.destroy();
          return;
        }
        const crc = answer.headers.get('x-amz-crc32');
        response.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0',
          ...(crc === null ? {} : { 'x-amz-crc32': crc }),
        });
        response.end(body);
      });
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const store = createDynamoDbCheckpointStore({
      tableName: local.tableName,
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      region: local.region,
      credentials: local.credentials,
      maxAttempts: 3,
    });
    try {
      const key = { instance: 'lost-answer', stream: 'siem' as const };
      const leased = (await store.acquireLease(key, { owner: 'o', expiresAt: T0 + 60_000 }, T0))!;
      dropNextUpdate = true;
      const committed = await store.commitProgress(
        key,
        { owner: 'o', version: leased.version },
        {
          cursor: { token: 't2' },
          offset: 0,
          totals: { events: 3, pages: 1, bytes: 9 },
          succeededAt: T0 + 1,
          at: T0 + 1,
        },
      );
      expect(dropped).toBe(1);
      expect(committed).toMatchObject({ version: leased.version + 1, cursor: { token: 't2' } });

      dropNextUpdate = true;
      await store.releaseLease(key, { owner: 'o', version: committed.version }, T0 + 2);
      expect(dropped).toBe(2);
      expect((await store.load(key))?.lease).toBeUndefined();

      // A real conflict is still one: a stale token after all that.
      await expect(
        store.releaseLease(key, { owner: 'o', version: committed.version }, T0 + 3),
      ).rejects.toThrow(/lost its condition/);
    } finally {
      store.close();
      proxy.closeAllConnections();
      await new Promise((done) => proxy.close(done));
    }
  });

  it('maps an access denial to a PermissionError naming the action', async () => {
    // DynamoDB's wire answer to a role without the permission, from a loopback server.
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(
          JSON.stringify({
            __type: 'com.amazon.coral.service#AccessDeniedException',
            message: 'User is not authorized to perform: dynamodb:GetItem',
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const denying = createDynamoDbCheckpointStore({
      tableName: local.tableName,
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: local.region,
      credentials: local.credentials,
      maxAttempts: 1,
    });
    const error = await denying.load({ instance: 'x', stream: 'audit' }).catch((e: unknown) => e);
    denying.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    expect(error).toBeInstanceOf(PermissionError);
    expect((error as PermissionError).requiredPermission).toBe('dynamodb:GetItem');
    expect((error as PermissionError).status).toBe(400);
    expect((error as PermissionError).message).toMatch(/instance "x", stream "audit"/);
  });
});
