/** The embedded local store: dynalite in-process on 127.0.0.1, persisted in a state folder. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../../lambda/errors';
import { LOCAL_TABLE_NAME, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { T0 } from '../kit/clock';

let stateDir: string;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'collector-state-'));
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const key = { instance: 'laptop', stream: 'siem' as const };

describe('openLocalCheckpointStore', () => {
  it('keeps checkpoints across close and reopen', async () => {
    const first = await openLocalCheckpointStore({ stateDir });
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.tableName).toBe(LOCAL_TABLE_NAME);
    const leased = (await first.store.acquireLease(key, { owner: 'cli-1', expiresAt: T0 + 60_000 }, T0))!;
    const committed = await first.store.commitProgress(
      key,
      { owner: 'cli-1', version: leased.version },
      {
        cursor: { token: 'next-file' },
        offset: 12,
        totals: { events: 12, pages: 1, bytes: 3400 },
        newestEventTime: '2024-06-05T11:30:00.000Z',
        succeededAt: T0 + 1,
        at: T0 + 1,
      },
    );
    await first.store.releaseLease(key, { owner: 'cli-1', version: committed.version }, T0 + 2);
    await first.close();
    await first.close(); // idempotent

    const second = await openLocalCheckpointStore({ stateDir });
    try {
      const reloaded = await second.store.load(key);
      expect(reloaded).toMatchObject({
        version: committed.version + 1,
        cursor: { token: 'next-file' },
        offset: 12,
        totals: { events: 12, pages: 1, bytes: 3400 },
        newestEventTime: '2024-06-05T11:30:00.000Z',
      });
      expect(reloaded?.lease).toBeUndefined();
      expect(await second.store.list('laptop')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('refuses a state folder another open store is using, naming the folder', async () => {
    const first = await openLocalCheckpointStore({ stateDir });
    try {
      const refused = openLocalCheckpointStore({ stateDir });
      await expect(refused).rejects.toBeInstanceOf(ConfigError);
      await expect(refused).rejects.toThrow(/in use by this process/);
      // The first one still works.
      expect(await first.store.acquireLease(key, { owner: 'a', expiresAt: T0 + 1 }, T0)).not.toBeNull();
    } finally {
      await first.close();
    }
    // Closing frees the folder.
    const again = await openLocalCheckpointStore({ stateDir });
    await again.close();
  });

  it('takes over a lock file left by a process that no longer exists', async () => {
    // Pid 2^22+ is above Linux's pid_max default, so no live process has it.
    await writeFile(join(stateDir, 'dynamodb.lock'), '4194999');
    const store = await openLocalCheckpointStore({ stateDir });
    expect(await readFile(join(stateDir, 'dynamodb.lock'), 'utf8')).toBe(String(process.pid));
    await store.close();
  });

  it('refuses an existing table with another key schema', async () => {
    const first = await openLocalCheckpointStore({ stateDir, tableName: 'checkpoints' });
    const client = new DynamoDBClient({
      endpoint: first.endpoint,
      region: first.region,
      credentials: first.credentials,
    });
    await client.send(
      new CreateTableCommand({
        TableName: 'wrong-keys',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    client.destroy();
    await first.close();
    await expect(openLocalCheckpointStore({ stateDir, tableName: 'wrong-keys' })).rejects.toThrow(
      /"wrong-keys" has keys id\/\?, expected instance\/stream/,
    );
    // The failed open released the folder.
    const again = await openLocalCheckpointStore({ stateDir, tableName: 'checkpoints' });
    await again.close();
  });

  it('runs in memory without a state folder', async () => {
    const first = await openLocalCheckpointStore();
    await first.store.acquireLease(key, { owner: 'a', expiresAt: T0 + 1 }, T0);
    await first.close();
    const second = await openLocalCheckpointStore();
    expect(await second.store.load(key)).toBeUndefined();
    await second.close();
  });
});
