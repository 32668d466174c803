/**
 * cdk-nag AwsSolutions (v3 API): zero unacknowledged findings, and every acknowledgement is one
 * we meant, on the resource it concerns, with a reason.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { LAKE_OBJECTS_FINDING } from '../../lib/constructs/data-lake';
import { PUSH_OBJECTS_FINDING } from '../../lib/constructs/push-bucket';
import { buildStack, type Cfn } from './helpers';

const { app, stack } = buildStack('default');

function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries<Cfn>(m.data).map(([id, value]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason: typeof value === 'string' ? value : (value?.reason ?? JSON.stringify(value)),
        })),
      ),
  );
}

test('AwsSolutions: no unacknowledged finding', () => {
  const report = new AwsSolutionsChecks().validateScope(app);
  expect(report.violations).toEqual([]);
  expect(report.success).toBe(true);
});

test('exactly the expected acknowledgements, each with a real reason', () => {
  const acks = acknowledgements(stack);
  expect(acks.map(({ path, id }) => `${id} @ ${path}`).sort()).toEqual([
    // Only the object ARNs under the Event Push prefix and the IngestionUrl prefix, not the rule for
    // the whole policy.
    `${PUSH_OBJECTS_FINDING} @ MimecastCollector-default/Drain/ReadPolicy`,
    `${LAKE_OBJECTS_FINDING} @ MimecastCollector-default/Lake/WritePolicy`,
    'AwsSolutions-S1 @ MimecastCollector-default/Drain/Bucket',
    'AwsSolutions-S1 @ MimecastCollector-default/Lake/Bucket',
    'AwsSolutions-SMG4 @ MimecastCollector-default/Credentials/Secret',
    'AwsSolutions-SMG4 @ MimecastCollector-default/Push/Token',
    'AwsSolutions-SQS3 @ MimecastCollector-default/Collector/FailedTicks',
  ]);
  for (const ack of acks) expect(ack.reason.length).toBeGreaterThan(80);
});
