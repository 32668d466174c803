/**
 * The source handler invoked in this process the way Lambda invokes it: a scheduled event, a
 * context with a deadline, a fresh module scope per "cold start", and stdout captured (what the
 * runtime ships to CloudWatch Logs). Tests that run the bundled artifact use a child process instead.
 */
import type { TickOutcome } from '../../lambda/tick';
import { type CapturedOutput, captureOutput } from './capture-output';

export type Handler = (event: unknown, context: unknown) => Promise<TickOutcome>;

export const scheduledEvent = {
  version: '0',
  id: 'c5a4f5ea-0b42-4b6e-9a0b-1f8e0b6a2d11',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/mimecast-collector-test'],
  detail: {},
};

export function lambdaContext(remainingMs = 60_000) {
  const end = Date.now() + remainingMs;
  return { awsRequestId: `req-${Math.random()}`, getRemainingTimeInMillis: () => end - Date.now() };
}

/**
 * A fresh container: module-scope state (config, caches, clients) starts empty, as after a cold start.
 * Sets `env` on process.env (the caller restores it).
 */
export function coldStart(env: Record<string, string>): Handler {
  Object.assign(process.env, env);
  let handler: Handler | undefined;
  jest.isolateModules(() => {
    handler = require('../../lambda/handler').handler;
  });
  return handler!;
}

/** Invokes with stdout captured: what the Lambda runtime would ship to CloudWatch Logs. */
export async function invoke(
  handler: Handler,
  event: unknown = scheduledEvent,
): Promise<{ outcome?: TickOutcome; failure?: unknown; output: CapturedOutput }> {
  const output = captureOutput();
  try {
    return { outcome: await handler(event, lambdaContext()), output };
  } catch (failure) {
    return { failure, output };
  } finally {
    output.restore();
  }
}
