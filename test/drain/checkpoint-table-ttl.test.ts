/** The checkpoint table expires drain records by the attribute the drain ledger writes. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TTL_ATTRIBUTE } from '../../lambda/state/table';
import { CheckpointTable } from '../../lib/constructs/checkpoint-table';

test('time to live is on the attribute drain records carry', () => {
  const stack = new Stack(new App(), 'TtlStack');
  new CheckpointTable(stack, 'Checkpoints');
  const template = Template.fromStack(stack);
  expect(TTL_ATTRIBUTE).toBe('expiresAt');
  template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
  });
});
