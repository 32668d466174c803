/**
 * The checkpoint table: one item per (collector instance, stream) holding the cursor, version,
 * lease and health counters (docs/ARCHITECTURE.md, "Checkpoint item").
 *
 * TableV2 with the AWS-managed key: a customer-managed key on TableV2 fails in an
 * environment-agnostic stack (toolchain.md), and the table holds no secrets: cursors and counters
 * only. It also keeps the function's KMS permissions down to the two conditioned Decrypt grants.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CHECKPOINT_TABLE_KEYS, TTL_ATTRIBUTE } from '../../lambda/state/table';

/** Key names as the checkpoint store reads and writes them (lambda/state/table.ts); both are strings. */
const { partitionKey, sortKey } = CHECKPOINT_TABLE_KEYS;

export class CheckpointTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // No physical name (instances never collide). Retained and protected: losing the checkpoints
    // would make every stream start again from CollectionStartTs and flood the SIEM with repeats.
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: partitionKey.name, type: dynamodb.AttributeType.STRING },
      sortKey: { name: sortKey.name, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Only the S3 drain's done records carry it (lambda/state/drain-ledger.ts): checkpoints never expire.
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
  }
}
