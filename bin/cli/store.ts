/**
 * Where the command line keeps checkpoints: the embedded store (dynalite, persisted in a local
 * folder) by default, or a real DynamoDB table with --table. Both go through the same adapter.
 */
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { CheckpointStore } from '../../lambda/core/checkpoint';
import type { PushLedger } from '../../lambda/core/push-ledger';
import { createDynamoDbCheckpointStore } from '../../lambda/state/dynamodb-store';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';
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
  /** The push ledger of `instance` in the same table (docs/PUSH-GAP-FILL.md); closed with the store. */
  pushLedger(instance: string): PushLedger;
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
    const ledgers: DynamoPushLedger[] = [];
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
      pushLedger: (instance) => {
        const ledger = new DynamoPushLedger({ tableName, instance, ...region });
        ledgers.push(ledger);
        return ledger;
      },
      close: async () => {
        for (const ledger of ledgers) ledger.close();
        store.close();
      },
    };
  }
  const stateDir = path.resolve(flags.stateDir ?? DEFAULT_STATE_DIR);
  const local = await openLocalCheckpointStore({ stateDir });
  const ledgers: DynamoPushLedger[] = [];
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
    pushLedger: (instance) => {
      const { endpoint, region, credentials, tableName } = local;
      const ledger = new DynamoPushLedger({ tableName, instance, endpoint, region, credentials });
      ledgers.push(ledger);
      return ledger;
    },
    close: async () => {
      for (const ledger of ledgers) ledger.close();
      await local.close();
    },
  };
}
