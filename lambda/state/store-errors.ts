/** What a DynamoDB failure means to the collector: the typed error, its wording and remedy. */
import type { CheckpointKey } from '../core/checkpoint';
import { CollectorError, PermissionError, RequestError, TransientError } from '../errors';
import type { DynamoDbAction } from './table';

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** An SDK error as the collector's own: what failed, on which table and stream, and what to do. */
export function storeError(
  tableName: string,
  error: unknown,
  action: DynamoDbAction,
  key?: CheckpointKey,
  instance?: string,
  operation?: string,
): CollectorError {
  if (error instanceof CollectorError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  const where = key
    ? ` for instance "${key.instance}", stream "${key.stream}"`
    : instance === undefined
      ? ''
      : ` for instance "${instance}"`;
  const what = `DynamoDB ${operation ?? action.replace('dynamodb:', '')} on table "${tableName}"${where}`;
  const context = {
    stream: key?.stream,
    endpoint: `${action} ${tableName}`,
    ...(status === undefined ? {} : { status }),
    cause: error,
  };
  switch (name) {
    case 'ResourceNotFoundException':
      return new RequestError(
        `${what} failed: the table does not exist.`,
        'Check the checkpoint table name and region; the stack creates the table, so redeploy it if the table was deleted.',
        context,
      );
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
      return new PermissionError(
        `${what} was refused (${name}).`,
        `Grant ${action} on the checkpoint table to the caller (the stack grants it to the function) and check the AWS credentials.`,
        { ...context, requiredPermission: action },
      );
    case 'ValidationException':
    case 'SerializationException':
      return new RequestError(
        `${what} was rejected as invalid (${name}).`,
        'Report this as a collector bug, with this log line.',
        context,
      );
    default:
      return new TransientError(
        `${what} failed (${name}).`,
        'Nothing to do if it is rare: the next tick retries. If it persists, check DynamoDB health, throttling and network access.',
        context,
      );
  }
}
