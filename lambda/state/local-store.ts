/**
 * The embedded local checkpoint store: dynalite (a real DynamoDB implementation on LevelDB) started
 * in-process on 127.0.0.1, with the same DynamoDB adapter the Lambda uses pointed at it. The code
 * path a laptop runs is the one AWS runs; only the endpoint differs.
 *
 * Never imported by the Lambda handler: dynalite and LevelDB are for the command line and tests.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ConfigError, TransientError } from '../errors';
import { createDynamoDbCheckpointStore, type DynamoCheckpointStore } from './dynamodb-store';
import { CHECKPOINT_TABLE_KEYS } from './table';

export const LOCAL_TABLE_NAME = 'mimecast-collector-checkpoints';
/** Dynalite ignores region and signature, but the SDK needs both. Never real credentials. */
export const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalStoreOptions {
  /**
   * Folder that keeps the checkpoints across runs (LevelDB files under `dynamodb/`, plus a lock file).
   * Omitted: kept in memory and gone on close() (tests, dry runs).
   */
  stateDir?: string;
  tableName?: string;
  /** Bound on start-up: listening and the table becoming ACTIVE. Default 10 000 ms. */
  startupTimeoutMs?: number;
}

export interface LocalCheckpointStore {
  /** The same adapter as in AWS, pointed at the embedded endpoint. */
  store: DynamoCheckpointStore;
  /** `http://127.0.0.1:<port>`: other SDK clients (a second engine, tests) may use it too while open. */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  /** Absolute state folder, when persistent. */
  stateDir?: string;
  /** Stops the server, flushes LevelDB, frees the folder. Idempotent. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 10_000;

export async function openLocalCheckpointStore(
  options: LocalStoreOptions = {},
): Promise<LocalCheckpointStore> {
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const startupTimeoutMs = options.startupTimeoutMs ?? 10_000;
  const deadline = Date.now() + startupTimeoutMs;
  const stateDir = options.stateDir === undefined ? undefined : resolve(options.stateDir);

  let unlock: (() => Promise<void>) | undefined;
  let server: Server | undefined;
  let client: DynamoDBClient | undefined;
  const shutdown = async (): Promise<void> => {
    client?.destroy();
    if (server !== undefined) await closeServer(server);
    await unlock?.();
  };

  try {
    if (stateDir !== undefined) {
      await mkdir(stateDir, { recursive: true });
      // dynalite crashes the process if a second instance opens the same LevelDB folder: refuse first.
      unlock = await takeLock(join(stateDir, 'dynamodb.lock'), stateDir);
    }
    server = dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(stateDir === undefined ? {} : { path: join(stateDir, 'dynamodb') }),
    });
    const port = await listen(server, deadline);
    const endpoint = `http://127.0.0.1:${port}`;
    client = new DynamoDBClient({
      endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 2,
      requestHandler: { requestTimeout: 5000, connectionTimeout: 2000 },
    });
    await ensureTable(client, tableName, deadline);
    const store = createDynamoDbCheckpointStore({ tableName, client });
    let closing: Promise<void> | undefined;
    return {
      store,
      endpoint,
      region: LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      tableName,
      ...(stateDir === undefined ? {} : { stateDir }),
      close: () => {
        closing ??= shutdown();
        return closing;
      },
    };
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
}

function listen(server: Server, deadline: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(
      () => reject(startupTimeout('the embedded DynamoDB did not start listening')),
      Math.max(0, deadline - Date.now()),
    );
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new TransientError(
          'The embedded DynamoDB could not listen on 127.0.0.1.',
          'Check local firewall rules.',
          {
            cause: error,
          },
        ),
      );
    });
    server.listen(0, '127.0.0.1', () => {
      clearTimeout(timer);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/** Creates the table if missing (same key schema as the stack's) and waits, bounded, until it is ACTIVE. */
async function ensureTable(client: DynamoDBClient, tableName: string, deadline: number): Promise<void> {
  const { partitionKey, sortKey } = CHECKPOINT_TABLE_KEYS;
  while (Date.now() < deadline) {
    let table: TableDescription | undefined;
    try {
      table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) throw error;
      try {
        await client.send(
          new CreateTableCommand({
            TableName: tableName,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
              { AttributeName: sortKey.name, AttributeType: sortKey.type },
            ],
            KeySchema: [
              { AttributeName: partitionKey.name, KeyType: 'HASH' },
              { AttributeName: sortKey.name, KeyType: 'RANGE' },
            ],
          }),
        );
      } catch (createError) {
        if (!(createError instanceof Error && createError.name === 'ResourceInUseException'))
          throw createError;
      }
      continue;
    }
    const hash = table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = table?.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (hash !== partitionKey.name || range !== sortKey.name) {
      throw new ConfigError('local state', [
        {
          field: 'tableName',
          problem: `table "${tableName}" has keys ${hash ?? '?'}/${range ?? '?'}, expected ${partitionKey.name}/${sortKey.name}; use another table name or state folder`,
        },
      ]);
    }
    if (table?.TableStatus === 'ACTIVE') return;
    await new Promise((done) => setTimeout(done, 25));
  }
  throw startupTimeout(`table "${tableName}" did not become ACTIVE`);
}

/** An exclusive lock file holding our pid; a lock left by a dead process is taken over. */
async function takeLock(path: string, stateDir: string): Promise<() => Promise<void>> {
  let holder: number | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return async () => {
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    holder = Number.parseInt(text.trim(), 10);
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) break;
    await rm(path, { force: true });
  }
  throw new ConfigError('local state', [
    {
      field: 'stateDir',
      problem: `"${stateDir}" is in use by ${
        holder === process.pid ? 'this process' : `process ${holder ?? 'unknown'}`
      } (lock file ${path}); close that collector first, or delete the lock file if no collector runs`,
    },
  ]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Closes keep-alive sockets too (an idle SDK socket would hold server.close() open), bounded. */
function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((done, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new TransientError('The embedded DynamoDB did not close in time.', 'Run again; no data is lost.'),
        ),
      CLOSE_TIMEOUT_MS,
    );
    server.close((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else done();
    });
    server.closeAllConnections();
  });
}

function startupTimeout(what: string): TransientError {
  return new TransientError(
    `The embedded checkpoint store did not start in time: ${what}.`,
    'Run again; if it persists, check the local state folder is on a local, writable disk.',
  );
}
