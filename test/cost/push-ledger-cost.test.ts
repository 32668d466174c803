/**
 * What the push ledger costs, measured on the items the DynamoDB adapter really writes (dynalite,
 * real SDK): 20 000 pushed events in requests of 500 over two hours of event time, then the pull's
 * reads of the same buckets. Item sizes follow DynamoDB's rules (attribute names plus values; a
 * number as about one byte per two digits plus one), writes cost 1 WCU per started KB of each item,
 * an eventually consistent Query costs 0.5 RCU per started 4 KB of the items it reads. The figures
 * scaled to a million events are those docs/PUSH-GAP-FILL.md states; this test keeps them true.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LEDGER_BUCKET_MS } from '../../lambda/core/push-ledger';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';

const EVENTS = 20_000;
const PUSH_BATCH = 500;
const T0 = Date.parse('2026-11-21T09:40:00.000Z');
const SPAN_MS = 2 * 3_600_000;
const PER_MILLION = 1_000_000 / EVENTS;

let local: LocalCheckpointStore;
beforeAll(async () => {
  local = await openLocalCheckpointStore();
});
afterAll(async () => {
  await local.close();
});

/** DynamoDB's size of an item: each attribute's name plus its value. */
function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (typeof value === 'string') size += Buffer.byteLength(value);
    else if (typeof value === 'number') size += Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
    else if (value instanceof Uint8Array) size += value.byteLength;
    else throw new Error(`unexpected attribute ${name}`);
  }
  return size;
}

test('ledger cost per million events: bytes and WCU written, RCU read by the pull', async () => {
  const ledger = new DynamoPushLedger({
    tableName: local.tableName,
    instance: 'cost',
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
    now: () => T0 + SPAN_MS,
  });
  for (let first = 0; first < EVENTS; first += PUSH_BATCH) {
    const entries = Array.from({ length: PUSH_BATCH }, (_, i) => {
      const n = first + i;
      return {
        id: n.toString(16).padStart(32, '0'),
        time: new Date(T0 + (n * SPAN_MS) / EVENTS).toISOString(),
      };
    });
    await ledger.record('siem', entries);
  }
  ledger.close();

  const client = new DynamoDBClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
  });
  const document = DynamoDBDocumentClient.from(client);
  const answer = await document.send(
    new QueryCommand({
      TableName: local.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'instance' },
      ExpressionAttributeValues: { ':pk': 'pushed#cost#siem' },
    }),
  );
  client.destroy();
  const items = answer.Items ?? [];
  expect(answer.LastEvaluatedKey).toBeUndefined();

  const sizes = items.map(itemSize);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const wcu = sizes.reduce((sum, size) => sum + Math.ceil(size / 1024), 0);
  // The pull reads each bucket once per tick: per bucket, the items filed under it.
  const byBucket = new Map<string, number>();
  items.forEach((item, i) => {
    const bucket = String(item.stream).slice(0, 24);
    byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + sizes[i]!);
  });
  const rcu = [...byBucket.values()].reduce((sum, size) => sum + Math.ceil(size / 4096) * 0.5, 0);

  const perMillion = {
    items: Math.round(items.length * PER_MILLION),
    megabytes: Math.round((bytes * PER_MILLION) / 1e5) / 10,
    wcu: Math.round(wcu * PER_MILLION),
    rcuPerPullTick: Math.round(rcu * PER_MILLION),
  };
  // 40 requests, three hourly buckets: two requests cross a bucket edge and write two items each.
  expect(items.length).toBe(EVENTS / PUSH_BATCH + 2);
  expect(byBucket.size).toBe(
    Math.ceil((T0 + SPAN_MS) / LEDGER_BUCKET_MS) - Math.floor(T0 / LEDGER_BUCKET_MS),
  );
  // The figures docs/PUSH-GAP-FILL.md states.
  expect(perMillion.items).toBe(2100);
  expect(perMillion.megabytes).toBeGreaterThanOrEqual(8.2);
  expect(perMillion.megabytes).toBeLessThanOrEqual(8.4);
  expect(perMillion.wcu).toBeGreaterThanOrEqual(10_000);
  expect(perMillion.wcu).toBeLessThanOrEqual(10_600);
  expect(perMillion.rcuPerPullTick).toBeLessThanOrEqual(1_050);
  // One item per event would cost a million WCU: the packed ledger costs about 1 %.
  expect(perMillion.wcu / 1_000_000).toBeLessThan(0.011);
});
