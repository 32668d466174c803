import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The SDK client for the checkpoint table, as the store, the push ledger and the drain use it: a few
 * attempts, a short timeout per request (each call reads or writes one small item or page).
 */
export function checkpointTableClient(
  options: {
    /** Default: the SDK's (AWS_REGION inside Lambda). */
    region?: string;
    /** Endpoint override (dynalite, tests). Default: the SDK's (honours AWS_ENDPOINT_URL_DYNAMODB). */
    endpoint?: string;
    /** Default: the SDK's provider chain (the function's role inside Lambda). */
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    /** Per-request timeout; default 5000 ms. */
    requestTimeoutMs?: number;
    /** SDK attempts per call including the first; default 3. */
    maxAttempts?: number;
  } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 5000, connectionTimeout: 2000 },
  });
}
