/**
 * Where the command line keeps checkpoints: the embedded store (dynalite, persisted in a local
 * folder) by default, or a real DynamoDB table with --table. Both go through the same adapter.
 */
import path from 'node:path';
import type { CheckpointStore } from '../../lambda/core/checkpoint';
import { createDynamoDbCheckpointStore } from '../../lambda/state/dynamodb-store';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';

export const DEFAULT_STATE_DIR = '.state';

export interface OpenedStore {
  store: CheckpointStore;
  /** Where it is, for messages. */
  description: string;
  close(): Promise<void>;
}

export async function openStore(flags: {
  table?: string;
  stateDir?: string;
  region?: string;
}): Promise<OpenedStore> {
  if (flags.table) {
    const store = createDynamoDbCheckpointStore({
      tableName: flags.table,
      ...(flags.region ? { region: flags.region } : {}),
    });
    return { store, description: `DynamoDB table ${flags.table}`, close: async () => store.close() };
  }
  const stateDir = path.resolve(flags.stateDir ?? DEFAULT_STATE_DIR);
  const local = await openLocalCheckpointStore({ stateDir });
  return { store: local.store, description: `local state folder ${stateDir}`, close: () => local.close() };
}
