/**
 * Where the command line keeps checkpoints: the embedded store (dynalite, persisted in a local
 * folder) by default, or a real DynamoDB table with --table. Both go through the same adapter.
 */
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { CheckpointStore } from '../../lambda/core/checkpoint';
import { createDynamoDbCheckpointStore } from '../../lambda/state/dynamodb-store';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { CHECKPOINT_TABLE_KEYS } from '../../lambda/state/table';

export const DEFAULT_STATE_DIR = '.state';

export interface OpenedStore {
  store: CheckpointStore;
  /** Where it is, for messages. */
  description: string;
  /**
   * The instances that have checkpoints here, for a message when the one asked for has none. A scan
   * of the key only, run by operator commands alone (the function's role has no Scan).
   */
  instances(): Promise<string[]>;
  close(): Promise<void>;
}

/** At most this many pages of keys: an operator's table holds a few dozen items. */
const MAX_SCAN_PAGES = 20;

async function scanInstances(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const name = CHECKPOINT_TABLE_KEYS.partitionKey.name;
  const found = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_SCAN_PAGES; page += 1) {
    const answer = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#instance',
        ExpressionAttributeNames: { '#instance': name },
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of answer.Items ?? []) if (typeof item[name] === 'string') found.add(item[name]);
    startKey = answer.LastEvaluatedKey;
    if (startKey === undefined) break;
  }
  return [...found].sort();
}

export async function openStore(flags: {
  table?: string;
  stateDir?: string;
  region?: string;
}): Promise<OpenedStore> {
  if (flags.table) {
    const tableName = flags.table;
    const region = flags.region ? { region: flags.region } : {};
    const store = createDynamoDbCheckpointStore({ tableName, ...region });
    return {
      store,
      description: `DynamoDB table ${tableName}`,
      instances: async () => {
        const client = new DynamoDBClient({ ...region, maxAttempts: 2 });
        try {
          return await scanInstances(client, tableName);
        } finally {
          client.destroy();
        }
      },
      close: async () => store.close(),
    };
  }
  const stateDir = path.resolve(flags.stateDir ?? DEFAULT_STATE_DIR);
  const local = await openLocalCheckpointStore({ stateDir });
  return {
    store: local.store,
    description: `local state folder ${stateDir}`,
    instances: async () => {
      const { endpoint, region, credentials } = local;
      const client = new DynamoDBClient({ endpoint, region, credentials, maxAttempts: 1 });
      try {
        return await scanInstances(client, local.tableName);
      } finally {
        client.destroy();
      }
    },
    close: () => local.close(),
  };
}
