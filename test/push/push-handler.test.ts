/**
 * The push function's handler invoked as Lambda invokes it behind a Function URL (payload format 2.0:
 * lower-case headers, base64 bodies), with the stack's environment pointed at loopback parts: the
 * secrets in the Secrets Manager/KMS stub, events into the NDJSON receiver.
 */

import type { FunctionUrlRequest, FunctionUrlResult } from '../../lambda/push-handler';
import { PUSH_TOKEN_SECRET_ENV } from '../../lambda/settings';
import { captureOutput } from '../support/capture-output';
import { lambdaContext } from '../support/lambda';
import { startWorld, type World } from '../support/world';
import { auditEvent, gzip, hecArray, ndjson, receiptEvent } from './fixtures';

const PUSH_TOKEN = 'push-0f1e2d3c4b5a69788796a5b4';
const TOKEN_SECRET = 'mimecast-collector/test/push-token';

type PushHandler = (request: FunctionUrlRequest, context: unknown) => Promise<FunctionUrlResult>;

function coldStartPush(env: Record<string, string>): PushHandler {
  Object.assign(process.env, env);
  let handler: PushHandler | undefined;
  jest.isolateModules(() => {
    handler = require('../../lambda/push-handler').handler;
  });
  return handler!;
}

function functionUrlEvent(
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): FunctionUrlRequest {
  const binary = typeof body !== 'string';
  return {
    version: '2.0',
    rawPath: '/services/collector/event',
    headers: {
      'content-type': 'application/json',
      authorization: `Splunk ${PUSH_TOKEN}`,
      host: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      ...headers,
    },
    // Function URLs base64-encode bodies that are not text, and often text too.
    body: binary ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: binary,
    requestContext: { http: { method: 'POST', path: '/services/collector/event' }, requestId: 'req-1' },
  };
}

let world: World;
const savedEnv = { ...process.env };
let handler: PushHandler;

beforeEach(async () => {
  world = await startWorld({ streams: ['siem', 'audit'] });
  await world.storeCredentials({ wrap: true });
  world.aws.putSecret(TOKEN_SECRET, PUSH_TOKEN);
  handler = coldStartPush(world.env({ [PUSH_TOKEN_SECRET_ENV]: world.aws.secretArn(TOKEN_SECRET) }));
});

afterEach(async () => {
  process.env = { ...savedEnv };
  await world.stop();
});

const answerOf = (result: FunctionUrlResult) => ({ status: result.statusCode, ...JSON.parse(result.body) });

it('a HEC array, NDJSON and a gzip body (base64): Success after the destination has every event', async () => {
  const events = [receiptEvent(1), auditEvent(1)];
  expect(answerOf(await handler(functionUrlEvent(hecArray(events)), lambdaContext()))).toEqual({
    status: 200,
    text: 'Success',
    code: 0,
  });
  const ndjsonEvent = functionUrlEvent(ndjson([receiptEvent(2)]), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  expect((await handler(ndjsonEvent, lambdaContext())).statusCode).toBe(200);
  expect(
    (await handler(functionUrlEvent(gzip(hecArray([receiptEvent(3)]))), lambdaContext())).statusCode,
  ).toBe(200);
  expect(world.receiver.received().map((e) => [e.stream, e.logType, e.instance])).toEqual([
    ['siem', 'receipt', 'test'],
    ['audit', 'authentication_logs', 'test'],
    ['siem', 'receipt', 'test'],
    ['siem', 'receipt', 'test'],
  ]);
});

it('a wrong or missing token: 403 / 401 with HEC codes; nothing forwarded, the token never logged', async () => {
  const output = captureOutput();
  const wrong = await handler(
    functionUrlEvent(hecArray([receiptEvent(1)]), { authorization: 'Bearer nope-nope-nope-nope' }),
    lambdaContext(),
  );
  expect(answerOf(wrong)).toMatchObject({ status: 403, code: 4 });
  const request = functionUrlEvent(hecArray([receiptEvent(1)]));
  delete request.headers?.authorization;
  expect(answerOf(await handler(request, lambdaContext()))).toMatchObject({ status: 401, code: 2 });
  output.restore();
  expect(world.receiver.received()).toEqual([]);
  expect(output.text()).toContain('Push refused: token');
  expect(output.text()).not.toContain(PUSH_TOKEN);
  expect(output.text()).not.toContain('nope-nope-nope-nope');
});

it('a malformed body: 400 code 6', async () => {
  expect(answerOf(await handler(functionUrlEvent('[{"event": {]'), lambdaContext()))).toMatchObject({
    status: 400,
    code: 6,
  });
});

it('a destination that is down: 503 code 9, nothing lost; pushed again, delivered with the same ids', async () => {
  world.receiver.inject(...Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 503 })));
  const events = [receiptEvent(1), receiptEvent(2)];
  const failed = await handler(functionUrlEvent(hecArray(events)), lambdaContext(3_500));
  expect(answerOf(failed)).toMatchObject({ status: 503, code: 9 });
  world.receiver.reset();
  expect((await handler(functionUrlEvent(hecArray(events)), lambdaContext())).statusCode).toBe(200);
  expect(world.receiver.received().map((e) => e.event)).toEqual(events);
}, 30_000);

it("the token secret still holding the stack's placeholder: 503, nothing forwarded", async () => {
  world.aws.putSecret(TOKEN_SECRET, '{"configured":false}');
  const fresh = coldStartPush({});
  const answer = await fresh(
    functionUrlEvent(hecArray([receiptEvent(1)]), { authorization: 'Splunk {"configured":false}' }),
    lambdaContext(),
  );
  expect(answer.statusCode).toBe(503);
  expect(world.receiver.received()).toEqual([]);
});

it('the token secret unreadable: 503 (Mimecast keeps the events), and the next push works once it is there', async () => {
  process.env[PUSH_TOKEN_SECRET_ENV] = world.aws.secretArn(TOKEN_SECRET).replace('push-token', 'missing');
  const broken = coldStartPush({});
  expect((await broken(functionUrlEvent(hecArray([receiptEvent(1)])), lambdaContext())).statusCode).toBe(503);
  expect(world.receiver.received()).toEqual([]);
});

it('metrics: events received and forwarded per stream, refusals by reason, destination failures (EMF on stdout)', async () => {
  const output = captureOutput();
  try {
    await handler(
      functionUrlEvent(hecArray([receiptEvent(1), receiptEvent(2), auditEvent(1)])),
      lambdaContext(),
    );
    await handler(
      functionUrlEvent(hecArray([receiptEvent(3)]), { authorization: 'Splunk wrong-wrong-wrong-wrong' }),
      lambdaContext(),
    );
    await handler(functionUrlEvent('[{"event": {]'), lambdaContext());
    world.receiver.inject(...Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 503 })));
    await handler(functionUrlEvent(hecArray([auditEvent(2)])), lambdaContext(3_500));
  } finally {
    output.restore();
  }
  const lines = output
    .json()
    .filter((l) => l._aws !== undefined)
    .map((l) => {
      const [definition] = (
        l._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics;
      return {
        dimensions: Object.fromEntries(definition!.Dimensions[0]!.map((d) => [d, l[d]])),
        metrics: Object.fromEntries(definition!.Metrics.map((m) => [m.Name, l[m.Name]])),
      };
    });
  const base = { service: 'mimecast-collector', Instance: 'test' };
  expect(lines).toEqual([
    // The good push: 3 events delivered, per stream received = forwarded.
    { dimensions: base, metrics: { PushEvents: 3 } },
    { dimensions: { ...base, Stream: 'siem' }, metrics: { PushEventsReceived: 2, PushEventsForwarded: 2 } },
    { dimensions: { ...base, Stream: 'audit' }, metrics: { PushEventsReceived: 1, PushEventsForwarded: 1 } },
    // The wrong token and the bad body: refused, nothing delivered.
    { dimensions: base, metrics: { PushEvents: 0 } },
    { dimensions: { ...base, Reason: 'token' }, metrics: { PushRequestsRefused: 1 } },
    { dimensions: base, metrics: { PushEvents: 0 } },
    { dimensions: { ...base, Reason: 'body' }, metrics: { PushRequestsRefused: 1 } },
    // The destination down: a failure, the event received and not forwarded.
    { dimensions: base, metrics: { PushEvents: 0, PushDestinationFailures: 1 } },
    { dimensions: { ...base, Stream: 'audit' }, metrics: { PushEventsReceived: 1, PushEventsForwarded: 0 } },
  ]);
}, 30_000);
