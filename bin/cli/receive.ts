/**
 * `mimecast-collector receive`: the Event Push receiver on this machine (docs/PUSH.md), the same
 * `receivePush` the stack's Function URL runs, forwarding into the destination the flags name.
 * The token comes from PUSH_TOKEN (never a flag); the sink token from SINK_TOKEN, as for `run`.
 */

import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import { PUSH_LIMITS, type PushReceiverLimits } from '../../lambda/push';
import { PUSH_TOKEN_ENV, SINK_FORMATS, type SinkFormat, validatePushToken } from '../../lambda/settings';
import { createDestination, s3OptionsFromEnv } from '../../lambda/sinks';
import { redactUrl } from '../../lambda/sinks/endpoint';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { CREDENTIAL_ENV } from './credentials';
import { type CommandDeclaration, type FlagValues, helpText, parseFlags } from './flags';
import { flagName, flagText, PUSH_PRIMARY_FLAG, parseForwardingFlags } from './forwarding-flags';
import { type CliIO, EXIT_OK, reportError } from './io';
import { startPushServer } from './receive-server';
import { terminalLog } from './run';
import { DEFAULT_STATE_DIR, openStore } from './store';

/** Time one push may take to be forwarded before it is answered "busy" (Mimecast pushes it again). */
export const RECEIVE_FORWARD_MS = 30_000;

export const RECEIVE_COMMAND: CommandDeclaration = {
  name: 'receive',
  summary: `Receives Mimecast Event Push requests (HEC JSON array, NDJSON or webhook) over HTTP and forwards
each event, in the collector's envelope, to the destination; answers success only after the
destination acknowledged. Mimecast pushes only to HTTPS with a public certificate: put this behind
a TLS proxy, or test it locally.

The token comes from the environment, never from a flag:
  ${PUSH_TOKEN_ENV} (required: pushes must send Authorization: Splunk <token> or Bearer <token>)
  ${CREDENTIAL_ENV.sinkToken} (optional; sent as the destination's auth header)`,
  flags: [
    {
      name: 'listen',
      value: 'HOST:PORT',
      description: 'where to listen, e.g. 127.0.0.1:8088 (port 0: any free port)',
      required: true,
    },
    { name: flagName('sinkUrl'), value: 'URL', description: 'where events go', required: true },
    {
      name: flagName('sinkFormat'),
      value: 'FORMAT',
      description: 'how events are sent',
      choices: SINK_FORMATS,
      default: 'ndjson',
    },
    {
      name: flagName('hecAck'),
      description: "splunk-hec: wait for Splunk's indexer acknowledgement before answering the push",
    },
    {
      name: flagName('instance'),
      value: 'ID',
      description: 'collector instance the envelopes carry',
      default: 'local',
    },
    PUSH_PRIMARY_FLAG,
    {
      name: 'state-dir',
      value: 'DIR',
      description: 'with --push-primary: folder of the embedded store holding the push ledger',
      defaultNote: DEFAULT_STATE_DIR,
      conflicts: ['table'],
    },
    { name: 'table', value: 'NAME', description: 'with --push-primary: the DynamoDB table instead' },
    { name: 'region', value: 'REGION', description: 'AWS region of --table' },
    { name: flagName('batchMaxEvents'), value: 'N', description: 'events per batch sent' },
    { name: flagName('batchMaxBytes'), value: 'N', description: 'bytes per batch sent, before compression' },
    { name: 'verbose', description: 'print a line per push on stderr' },
  ],
  epilogue: `Example:
  export ${PUSH_TOKEN_ENV}=$(openssl rand -hex 24)
  npx mimecast-collector receive --listen 127.0.0.1:8088 \\
    --sink-format splunk-hec --sink-url https://splunk.example.com:8088/services/collector/event
`,
};

export const RECEIVE_HELP = helpText(RECEIVE_COMMAND);

interface ReceivePlan {
  host: string;
  port: number;
  token: string;
  sinkFormat: SinkFormat;
  sinkUrl: string;
  hecAck: boolean;
  instance: string;
  limits: PushReceiverLimits;
  /** With --push-primary: where the push ledger is. */
  ledgerStore?: { table?: string; stateDir?: string; region?: string };
}

function plan(values: FlagValues, conflicts: ConfigProblem[], env: CliIO['env']): ReceivePlan {
  const problems: ConfigProblem[] = [...conflicts];
  const text = (name: string) => flagText(values, name);
  const listen = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text('listen') ?? '');
  const port = listen ? Number(listen[2]) : Number.NaN;
  if (!listen || port > 65_535) {
    problems.push({ field: '--listen', problem: 'must be HOST:PORT, e.g. 127.0.0.1:8088' });
  }
  const token = validatePushToken(env[PUSH_TOKEN_ENV]);
  if (!token.ok) problems.push({ field: PUSH_TOKEN_ENV, problem: token.problem });
  const forwarding = parseForwardingFlags(values, problems);
  if (problems.length > 0 || !listen || !token.ok || forwarding === undefined) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags or environment variables; see `mimecast-collector receive --help`.',
    );
  }
  return {
    host: listen[1]!.replace(/^\[|\]$/g, ''),
    port,
    token: token.value,
    sinkFormat: forwarding.sinkFormat,
    sinkUrl: forwarding.sinkUrl,
    hecAck: forwarding.hecAck,
    instance: forwarding.instance,
    ...(forwarding.pushPrimaryStreams.length === 0
      ? {}
      : { ledgerStore: { table: text('table'), stateDir: text('state-dir'), region: text('region') } }),
    limits: {
      ...PUSH_LIMITS,
      batchMaxEvents: forwarding.batchMaxEvents,
      batchMaxBytes: forwarding.batchMaxBytes,
    },
  };
}

export async function receiveCommand(argv: string[], io: CliIO): Promise<number> {
  let receive: ReceivePlan;
  let verbose: boolean;
  try {
    const parsed = parseFlags(RECEIVE_COMMAND, argv);
    if (parsed.help) {
      io.out(RECEIVE_HELP);
      return EXIT_OK;
    }
    verbose = parsed.values.verbose === true;
    receive = plan(parsed.values, parsed.problems, io.env);
  } catch (error) {
    return reportError(io, error);
  }
  const sinkToken = io.env[CREDENTIAL_ENV.sinkToken];
  const redactor = new SecretRedactor();
  redactor.register([receive.token, ...(sinkToken ? [sinkToken] : [])]);
  const log = terminalLog(io, verbose, redactor);
  let server: Awaited<ReturnType<typeof startPushServer>>;
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    if (receive.ledgerStore !== undefined) store = await openStore(receive.ledgerStore);
    const destination = createDestination(
      { sinkFormat: receive.sinkFormat, sinkUrl: receive.sinkUrl, hecAck: receive.hecAck },
      { ...(sinkToken ? { token: sinkToken } : {}), log, s3: s3OptionsFromEnv(io.env) },
    );
    server = await startPushServer(receive.host, receive.port, {
      token: receive.token,
      destination,
      instance: receive.instance,
      limits: receive.limits,
      ...(store === undefined ? {} : { ledger: store.pushLedger(receive.instance) }),
      budget: () => ({
        signal: AbortSignal.timeout(RECEIVE_FORWARD_MS),
        deadline: Date.now() + RECEIVE_FORWARD_MS,
      }),
      clock: { now: () => Date.now() },
      log,
      onForwarded: (forwarded) => {
        const counts = Object.entries(forwarded.events).map(([stream, n]) => `${stream} +${n}`);
        io.out(
          `  push forwarded: ${counts.join(', ')} (${forwarded.batches} batches, ${forwarded.bytes} bytes)`,
        );
      },
    });
  } catch (error) {
    await store?.close();
    return reportError(io, error);
  }
  io.out(
    `Receiving Event Push on ${server.origin} into ${redactUrl(new URL(receive.sinkUrl))} (${receive.sinkFormat}); token from ${PUSH_TOKEN_ENV}${store === undefined ? '' : `; push ledger in ${store.description}`}. Ctrl-C stops.`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal === undefined || io.signal.aborted) {
      resolve();
      return;
    }
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  await store?.close();
  io.out('Receiver stopped.');
  return EXIT_OK;
}
