/**
 * The push ledger on DynamoDB through the real SDK against dynalite on 127.0.0.1: what push records
 * the pull finds, items split under the 400 KB limit, the TTL on every item, ledger items invisible
 * to the checkpoint listing, and (property) a lookup answers exactly the recorded ids of its range.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { LEDGER_BUCKET_MS, LedgerLookup, type PushedEntry } from '../../lambda/core/push-ledger';
import { TransientError } from '../../lambda/errors';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import {
  DynamoPushLedger,
  LEDGER_RETENTION_MS,
  MAX_DIGESTS_PER_ITEM,
} from '../../lambda/state/push-ledger-store';
import { PUSH_LEDGER_ATTRIBUTES } from '../../lambda/state/table';

const DYNAMODB_ITEM_LIMIT = 400 * 1024;
const T0 = Date.parse('2026-11-21T10:00:00.000Z');

let local: LocalCheckpointStore;
let counter = 0;
const nextName = (prefix: string) => {
  counter += 1;
  return `${prefix}-${counter}`;
};
const ledgers: DynamoPushLedger[] = [];

beforeAll(async () => {
  local = await openLocalCheckpointStore();
});

afterAll(async () => {
  for (const ledger of ledgers) ledger.close();
  await local.close();
});

function ledgerFor(instance = nextName('ledger')): DynamoPushLedger {
  const ledger = new DynamoPushLedger({
    tableName: local.tableName,
    instance,
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
    now: () => T0,
  });
  ledgers.push(ledger);
  return ledger;
}

const hexId = (n: number) => n.toString(16).padStart(32, '0');
const at = (ms: number) => new Date(ms).toISOString();

async function rawItems(instance: string, stream: string): Promise<Record<string, unknown>[]> {
  const client = new DynamoDBClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
  });
  try {
    const document = DynamoDBDocumentClient.from(client);
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < 100; page += 1) {
      const answer = await document.send(
        new QueryCommand({
          TableName: local.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'instance' },
          ExpressionAttributeValues: { ':pk': `pushed#${instance}#${stream}` },
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(answer.Items ?? []));
      startKey = answer.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return items;
  } finally {
    client.destroy();
  }
}

describe('DynamoPushLedger on dynalite', () => {
  it('answers which ids push recorded, per stream, and nothing for other streams', async () => {
    const ledger = ledgerFor();
    const pushed: PushedEntry[] = [0, 1, 2].map((n) => ({ id: hexId(n), time: at(T0 + n * 1000) }));
    await ledger.record('audit', pushed);
    const lookup = new LedgerLookup(ledger);
    const asked = [hexId(0), hexId(2), hexId(3)];
    const range = { from: T0, to: T0 + 3000 };
    expect([...(await lookup.delivered('audit', asked, range))].sort()).toEqual([hexId(0), hexId(2)]);
    expect(await new LedgerLookup(ledger).delivered('ttp-url', asked, range)).toEqual(new Set());
  });

  it('files ids by event time: a batch spanning two buckets finds ids of both', async () => {
    const ledger = ledgerFor();
    const early = { id: hexId(10), time: at(T0 + LEDGER_BUCKET_MS - 1) };
    const late = { id: hexId(11), time: at(T0 + LEDGER_BUCKET_MS) };
    await ledger.record('audit', [early, late]);
    const found = await new LedgerLookup(ledger).delivered('audit', [early.id, late.id], {
      from: T0 + LEDGER_BUCKET_MS - 1,
      to: T0 + LEDGER_BUCKET_MS,
    });
    expect([...found].sort()).toEqual([early.id, late.id]);
  });

  it('splits a large push into items under the 400 KB limit, each with a TTL after its bucket', async () => {
    const instance = nextName('split');
    const ledger = ledgerFor(instance);
    const total = MAX_DIGESTS_PER_ITEM * 2 + 5;
    const entries = Array.from({ length: total }, (_, n) => ({ id: hexId(n), time: at(T0 + (n % 3000)) }));
    await ledger.record('siem', entries);

    const items = await rawItems(instance, 'siem');
    expect(items).toHaveLength(3);
    const counts = items.map((item) => item[PUSH_LEDGER_ATTRIBUTES.count] as number).sort((a, b) => a - b);
    expect(counts).toEqual([5, MAX_DIGESTS_PER_ITEM, MAX_DIGESTS_PER_ITEM]);
    for (const item of items) {
      const size =
        JSON.stringify({ ...item, digests: undefined }).length + (item.digests as Uint8Array).byteLength;
      expect(size).toBeLessThan(DYNAMODB_ITEM_LIMIT);
      expect(item[PUSH_LEDGER_ATTRIBUTES.expiresAt]).toBe(
        (T0 + LEDGER_BUCKET_MS + LEDGER_RETENTION_MS) / 1000,
      );
    }
    const asked = [hexId(0), hexId(total - 1), hexId(total)];
    const found = await new LedgerLookup(ledger).delivered('siem', asked, { from: T0, to: T0 + 3000 });
    expect([...found].sort()).toEqual([hexId(0), hexId(total - 1)]);
  });

  it('keeps ledger items out of the checkpoint listing of the instance', async () => {
    const instance = nextName('listing');
    await ledgerFor(instance).record('audit', [{ id: hexId(1), time: at(T0) }]);
    expect(await local.store.list(instance)).toEqual([]);
  });

  it('reports an unreachable table as a typed, retryable error naming the stream', async () => {
    const ledger = new DynamoPushLedger({
      tableName: local.tableName,
      instance: 'down',
      endpoint: 'http://127.0.0.1:9',
      region: local.region,
      credentials: local.credentials,
    });
    ledgers.push(ledger);
    const failure = ledger.readBucket('audit', T0);
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toMatchObject({ stream: 'audit', retryable: true });
  });

  it('property: a lookup finds exactly the recorded ids among those whose times lie in its range', async () => {
    const universe = Array.from({ length: 60 }, (_, n) => ({
      id: hexId(1000 + n),
      // Spread over three hours, so lookups cross buckets.
      time: at(T0 + n * 3 * 60 * 1000 + n),
    }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: universe.length, maxLength: universe.length }),
        fc.integer({ min: 0, max: universe.length - 1 }),
        fc.integer({ min: 0, max: universe.length - 1 }),
        fc.integer({ min: 1, max: 4 }),
        async (recordedFlags, a, b, pushes) => {
          const ledger = ledgerFor();
          const recorded = universe.filter((_, n) => recordedFlags[n]);
          // Several push requests, as Event Push sends them.
          for (let p = 0; p < pushes; p += 1) {
            await ledger.record(
              'audit',
              recorded.filter((_, n) => n % pushes === p),
            );
          }
          const [low, high] = a <= b ? [a, b] : [b, a];
          const asked = universe.slice(low, high + 1);
          const range = { from: Date.parse(asked[0]!.time), to: Date.parse(asked[asked.length - 1]!.time) };
          const found = await new LedgerLookup(ledger).delivered(
            'audit',
            asked.map((e) => e.id),
            range,
          );
          const expected = asked.filter((e) => recorded.includes(e)).map((e) => e.id);
          expect([...found].sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 30 },
    );
  });
});
