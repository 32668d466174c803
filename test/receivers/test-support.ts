/** What the receivers' own tests share: raw HTTP over one agent, envelopes, receivers stopped after each test. */
import { Agent, request } from 'undici';
import type { Envelope } from '../../lambda/core/envelope';
import { type Receiver, type ReceiverOptions, startReceiver } from '.';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // JSON.parse's own result type: tests read the product's answer shape directly.
  json: () => ReturnType<typeof JSON.parse>;
}

/** Registers jest hooks: one keep-alive agent, and receivers started with `start` stopped after each test. */
export function receiverTestKit() {
  const agent = new Agent({ keepAliveTimeout: 1_000 });
  const running: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });
  afterAll(() => agent.close());

  return {
    agent,
    /** Stops `thing` after the test. */
    track<T extends { stop(): Promise<void> }>(thing: T): T {
      running.push(thing);
      return thing;
    },
    async start(options: ReceiverOptions): Promise<Receiver> {
      const receiver = await startReceiver(options);
      running.push(receiver);
      return receiver;
    },
    async send(
      url: string,
      body: string | Buffer | undefined,
      headers: Record<string, string> = {},
      method: 'POST' | 'PUT' | 'GET' = 'POST',
    ): Promise<Answer> {
      const response = await request(url, {
        method,
        body,
        headers,
        dispatcher: agent,
        signal: AbortSignal.timeout(5_000),
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
    },
  };
}

export function envelope(n: number, stream = 'siem', event: unknown = { n }): Envelope {
  return {
    id: `id-${n}`,
    stream: stream as Envelope['stream'],
    logType: 'receipt',
    time: '2024-06-05T11:50:06.389Z',
    instance: 'test',
    event,
  };
}
