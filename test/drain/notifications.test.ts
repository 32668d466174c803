/** Which objects an invocation event names: direct S3 notifications, SQS-wrapped, EventBridge. */
import { decodeNotificationKey, isDrainEvent, objectsOfEvent } from '../../lambda/drain/notifications';
import { ProtocolError } from '../../lambda/errors';

function s3Record(key: string, eventName = 'ObjectCreated:Put', extra: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2026-12-06T04:00:00.000Z',
    eventName,
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'event-push',
      bucket: { name: 'push-bucket', arn: 'arn:aws:s3:::push-bucket' },
      object: { key, size: 120, eTag: '0123456789abcdef', sequencer: '00A1', ...extra },
    },
  };
}

describe('objectsOfEvent', () => {
  it('reads direct S3 notifications and decodes their keys (spaces as +, %2B a plus)', () => {
    const event = {
      Records: [s3Record('mimecast/2026/a+b%2Bc+%281%29.json', 'ObjectCreated:Put', { versionId: 'v1' })],
    };
    expect(isDrainEvent(event)).toBe(true);
    expect(objectsOfEvent(event)).toEqual([
      {
        bucket: 'push-bucket',
        key: 'mimecast/2026/a b+c (1).json',
        etag: '0123456789abcdef',
        versionId: 'v1',
        size: 120,
      },
    ]);
  });

  it('skips removals and keeps each object once', () => {
    const event = {
      Records: [
        s3Record('a.json'),
        s3Record('a.json'),
        s3Record('b.json', 'ObjectRemoved:Delete'),
        s3Record('c.json', 'ObjectCreated:CompleteMultipartUpload'),
      ],
    };
    expect(objectsOfEvent(event).map((o) => o.key)).toEqual(['a.json', 'c.json']);
  });

  it('reads S3 notifications inside SQS messages, and S3 test events as nothing', () => {
    const event = {
      Records: [
        {
          messageId: 'm1',
          eventSource: 'aws:sqs',
          body: JSON.stringify({ Records: [s3Record('q+1.json')] }),
        },
        {
          messageId: 'm2',
          eventSource: 'aws:sqs',
          body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'push-bucket' }),
        },
      ],
    };
    expect(isDrainEvent(event)).toBe(true);
    expect(objectsOfEvent(event).map((o) => o.key)).toEqual(['q 1.json']);
  });

  it('reads EventBridge "Object Created" events, directly or inside SQS', () => {
    const bridge = {
      version: '0',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: {
        version: '0',
        bucket: { name: 'push-bucket' },
        object: { key: 'eb/x+y.json', size: 5, etag: '"abc"', 'version-id': 'v9', sequencer: '1' },
        reason: 'PutObject',
      },
    };
    expect(isDrainEvent(bridge)).toBe(true);
    expect(objectsOfEvent(bridge)).toEqual([
      { bucket: 'push-bucket', key: 'eb/x y.json', etag: 'abc', versionId: 'v9', size: 5 },
    ]);
    expect(objectsOfEvent({ ...bridge, 'detail-type': 'Object Deleted' })).toEqual([]);
    const queued = { Records: [{ messageId: 'm', eventSource: 'aws:sqs', body: JSON.stringify(bridge) }] };
    expect(objectsOfEvent(queued).map((o) => o.key)).toEqual(['eb/x y.json']);
  });

  it('is not a drain event for a schedule tick or a Function URL request', () => {
    expect(isDrainEvent({ streams: ['audit'] })).toBe(false);
    expect(isDrainEvent({ version: '2.0', rawPath: '/', requestContext: { http: { method: 'POST' } } })).toBe(
      false,
    );
    expect(isDrainEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} })).toBe(false);
    expect(isDrainEvent(null)).toBe(false);
  });

  it('refuses bodies that are not notifications, naming what is wrong', () => {
    expect(() => objectsOfEvent({ nothing: true })).toThrow(ProtocolError);
    expect(() => objectsOfEvent({ Records: [{ eventName: 'ObjectCreated:Put', s3: {} }] })).toThrow(
      /no s3.bucket/,
    );
    expect(() => objectsOfEvent({ Records: [{ eventSource: 'aws:sqs', body: 'not json' }] })).toThrow(
      /SQS message body is not JSON/,
    );
    expect(() => decodeNotificationKey('bad%zz')).toThrow(/not valid URL encoding/);
  });
});
