/**
 * Issue 5: never log a secret, a signature, a token or an Authorization header.
 *
 * Whole ticks run through the real Lambda handler (cold start, the stack's environment pointed at
 * the loopback world) and through the command line's `run`, for API 1.0 and 2.0 credentials,
 * KMS-wrapped and plain, into a Splunk HEC receiver and an NDJSON receiver that both require a
 * token, under Mimecast, receiver and secret faults. Everything a person could see afterwards is
 * gathered — every stdout/stderr line, the thrown error with its whole cause chain, the returned
 * outcome, the stored checkpoints, what the CLI printed — and scanned for every encoding of every
 * credential, plus the credentials that only exist on the wire (issued OAuth tokens, API 1.0
 * signatures, pre-signed URL signatures, the receivers' Authorization values).
 *
 * The telemetry SecretRedactor is replaced by a transparent one for these runs: it is defence in
 * depth, and this test proves the code never produces a secret in the first place.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../../bin/cli/io';
import type { Checkpoint } from '../../lambda/core/checkpoint';
import { ENV } from '../../lambda/env-names';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import type { SecretRedactor } from '../../lambda/telemetry/redact';
import type { TickOutcome } from '../../lambda/tick';
import { type Receiver, startReceiver } from '../receivers';
import { captureOutput } from '../support/capture-output';
import { scheduledEvent } from '../support/lambda';
import { startWorld, WORLD_SECRET_NAME, type World } from '../support/world';
import {
  type Evidence,
  errorEvidence,
  receiverWireSecrets,
  scanEvidence,
  simulatorWireSecrets,
  valueEvidence,
} from './evidence';
import {
  type Run,
  SCENARIOS,
  type Scenario,
  SINK_TOKENS,
  type SinkKind,
  STREAMS,
  WRONG_CLIENT_SECRET,
  WRONG_SECRET_KEY,
  WRONG_SINK_TOKEN,
} from './scenarios';

type Handler = (event: unknown, context: unknown) => Promise<TickOutcome>;
type RunCommand = (argv: string[], io: CliIO) => Promise<number>;

// ---------------------------------------------------------------------------------------------
// The code under test, loaded with a transparent redactor (see the file comment).

let transparentRedactorUses = 0;

function loadWithoutRedaction<T>(load: () => T): T {
  let loaded: T | undefined;
  jest.isolateModules(() => {
    jest.doMock('../../lambda/telemetry/redact', () => {
      const actual = jest.requireActual<typeof import('../../lambda/telemetry/redact')>(
        '../../lambda/telemetry/redact',
      );
      class TransparentRedactor extends actual.SecretRedactor {
        override register(): number {
          return 0;
        }
        override redactText(text: string): string {
          transparentRedactorUses += 1;
          return text;
        }
        override readonly replacer: SecretRedactor['replacer'] = (_key, value) => {
          transparentRedactorUses += 1;
          return value;
        };
      }
      return { ...actual, SecretRedactor: TransparentRedactor };
    });
    loaded = load();
  });
  return loaded as T;
}

/** A fresh container: module-scope state (config, caches, clients, token) starts empty. */
function coldStart(env: Record<string, string>): Handler {
  Object.assign(process.env, env);
  return loadWithoutRedaction(() => (require('../../lambda/handler') as { handler: Handler }).handler);
}

const runCommand: RunCommand = loadWithoutRedaction(
  () => (require('../../bin/cli/run') as { runCommand: RunCommand }).runCommand,
);

// ---------------------------------------------------------------------------------------------
// Fixtures.

/** Fetch budget = remaining - 10 s safety margin (core/limits.ts): short, so failing paths end quickly. */
const LAMBDA_REMAINING_MS = 12_500;
const CLI_TICK_SECONDS = '13';

interface Setup {
  worlds: Record<1 | 2, World>;
  receivers: Record<SinkKind, Receiver>;
}

// ---------------------------------------------------------------------------------------------
// Running a scenario and gathering what it shows.

interface Gathered {
  evidence: Evidence[];
  /** Secrets that exist only on this run's wire: issued tokens, signatures, Authorization values. */
  secrets: Record<string, string>;
  kinds: Set<string>;
  /** Lines the collector's logger wrote (the ones the transparent redactor saw). */
  logLines: number;
}

function kindsOfOutcome(outcome: TickOutcome | undefined, into: Set<string>): void {
  for (const s of outcome?.streams ?? []) {
    into.add(s.outcome);
    if (s.error && typeof s.error.kind === 'string') into.add(s.error.kind);
    for (const kind of Object.keys(s.mimecastErrors ?? {})) into.add(kind);
    if (s.throttledCalls > 0) into.add('throttled');
    if (s.sinkErrors > 0) into.add('sink');
  }
  if (outcome?.ok) into.add('ok');
}

function kindsOfError(error: unknown, into: Set<string>, depth = 0): void {
  if (depth > 4 || error === null || typeof error !== 'object') return;
  const kind = (error as { kind?: unknown }).kind;
  if (typeof kind === 'string') into.add(kind);
  if (error instanceof AggregateError) for (const e of error.errors) kindsOfError(e, into, depth + 1);
}

function kindsOfCheckpoints(checkpoints: readonly Checkpoint[], into: Set<string>): void {
  for (const c of checkpoints) if (c.lastError) into.add(c.lastError.kind);
}

function wireSecrets(run: Run): Record<string, string> {
  const out: Record<string, string> = {};
  simulatorWireSecrets(run.simulator.requests()).forEach((value, i) => {
    out[`mimecast wire credential #${i}`] = value;
  });
  receiverWireSecrets(run.receiver.requests()).forEach((value, i) => {
    out[`receiver Authorization value #${i}`] = value;
  });
  return out;
}

function lambdaContext() {
  const end = Date.now() + LAMBDA_REMAINING_MS;
  return { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => end - Date.now() };
}

async function invokeHandler(
  handler: Handler,
  label: string,
  evidence: Evidence[],
  kinds: Set<string>,
): Promise<number> {
  const output = captureOutput();
  try {
    const outcome = await handler(scheduledEvent, lambdaContext());
    evidence.push(...valueEvidence(outcome, `${label}: returned outcome`));
    kindsOfOutcome(outcome, kinds);
  } catch (failure) {
    evidence.push(...errorEvidence(failure, `${label}: thrown error`));
    kindsOfError(failure, kinds);
  } finally {
    output.restore();
  }
  output.lines().forEach((line, i) => {
    evidence.push({ where: `${label}: stdout/stderr line ${i + 1}`, text: line });
  });
  return output.json().filter((line) => typeof line.level === 'string').length;
}

async function runThroughHandler(scenario: Scenario, run: Run): Promise<Gathered> {
  const evidence: Evidence[] = [];
  const kinds = new Set<string>();
  run.world.aws.resetCalls();
  if (scenario.secretText) run.world.aws.putSecret(WORLD_SECRET_NAME, scenario.secretText(run));
  else {
    const doc = run.document();
    scenario.secret?.(doc, run);
    run.storeSecret(doc);
  }
  scenario.faults?.(run);

  const env = run.world.env({
    [ENV.instance]: run.instance,
    [ENV.streams]: STREAMS[scenario.api].join(','),
    [ENV.sinkUrl]: scenario.sinkUrl?.(run) ?? run.receiver.url,
    [ENV.sinkFormat]: scenario.sink,
    [ENV.batchMaxEvents]: '7',
  });
  const handler = coldStart(env);
  const [cold] = await Promise.all([
    invokeHandler(handler, 'cold tick', evidence, kinds),
    scenario.during?.(run) ?? Promise.resolve(),
  ]);
  let logLines = cold;
  if (scenario.beforeWarm) {
    scenario.beforeWarm(run);
    logLines += await invokeHandler(handler, 'warm tick', evidence, kinds);
  }

  const checkpoints = await run.world.dynamo.store.list(run.instance);
  evidence.push(...valueEvidence(checkpoints, 'stored checkpoints'));
  kindsOfCheckpoints(checkpoints, kinds);
  return { evidence, kinds, logLines, secrets: wireSecrets(run) };
}

function credentialEnv(run: Run, sinkToken: string): Record<string, string> {
  if (run.api === 2) {
    const c = run.simulator.credentials.v2;
    return { MIMECAST_CLIENT_ID: c.clientId, MIMECAST_CLIENT_SECRET: c.clientSecret, SINK_TOKEN: sinkToken };
  }
  const c = run.simulator.credentials.v1;
  return {
    MIMECAST_APP_ID: c.appId,
    MIMECAST_APP_KEY: c.appKey,
    MIMECAST_ACCESS_KEY: c.accessKey,
    MIMECAST_SECRET_KEY: c.secretKey,
    SINK_TOKEN: sinkToken,
  };
}

async function runThroughCli(scenario: Scenario, run: Run): Promise<Gathered> {
  const evidence: Evidence[] = [];
  const kinds = new Set<string>();
  const doc = run.document();
  scenario.secret?.(doc, run);
  scenario.faults?.(run);
  const stateDir = mkdtempSync(join(tmpdir(), 'leak-cli-'));
  const lines: string[] = [];
  const io: CliIO = {
    env: credentialEnv(run, String(doc.sinkToken)),
    out: (line) => lines.push(`out: ${line}`),
    err: (line) => lines.push(`err: ${line}`),
  };
  const start = run.world.env()[ENV.collectionStart] ?? '';
  const argv = [
    '--once',
    '--verbose',
    '--instance',
    run.instance,
    '--api-version',
    String(run.api),
    '--mimecast-url',
    run.simulator.url,
    '--streams',
    STREAMS[scenario.api].join(','),
    '--start',
    start,
    '--sink-url',
    scenario.sinkUrl?.(run) ?? run.receiver.url,
    '--sink-format',
    scenario.sink,
    '--batch-events',
    '7',
    '--tick-seconds',
    CLI_TICK_SECONDS,
    '--state-dir',
    stateDir,
  ];
  const output = captureOutput();
  let exitCode: number | undefined;
  try {
    exitCode = await runCommand(argv, io);
  } catch (thrown) {
    evidence.push(...errorEvidence(thrown, 'run command: thrown error'));
  } finally {
    output.restore();
  }
  try {
    lines.forEach((line, i) => {
      evidence.push({ where: `run command: printed line ${i + 1}`, text: line });
    });
    output.lines().forEach((line, i) => {
      evidence.push({ where: `run command: process stdout/stderr line ${i + 1}`, text: line });
    });
    const local = await openLocalCheckpointStore({ stateDir });
    try {
      const checkpoints = await local.store.list(run.instance);
      evidence.push(...valueEvidence(checkpoints, 'run command: stored checkpoints'));
      kindsOfCheckpoints(checkpoints, kinds);
    } finally {
      await local.close();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  if (exitCode === 0) kinds.add('ok');
  // The summary table: `<stream>  <outcome>  <events> ...`.
  for (const line of lines) {
    const row = /^out: \S+\s+(caught-up|budget-exhausted|throttled|waiting|lease-held|failed)\s/.exec(line);
    if (row?.[1]) kinds.add(row[1]);
  }
  // Failed streams are printed as `<stream>: failed: ...`; their kinds are in the checkpoints.
  expect(exitCode === 0 || exitCode === 1).toBe(true);
  const logLines = lines.filter((line) => /^err: (debug|info|warn|error) /.test(line)).length;
  return { evidence, kinds, logLines, secrets: wireSecrets(run) };
}

// ---------------------------------------------------------------------------------------------

describe('no secret, signature, token or Authorization header in anything a run shows', () => {
  let setup: Setup;
  let staticSecrets: Record<string, string>;
  const savedEnv = { ...process.env };
  let nextInstance = 0;

  beforeAll(async () => {
    // Backoff jitter at its floor: retried paths log and fail the same way, without seconds of sleep.
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const simulator = (seed: number) => ({
      seed,
      events: { audit: 12, siem: 12, 'ttp-url': 9 },
      siem: { v1EventsPerFile: 6, v2EventsPerFile: 6 },
      // Every scenario cold-starts and fetches a token: the default quota (20 per client) would throttle them.
      tokenRateLimit: { capacity: 1000, refillPerSecond: 100 },
    });
    const [w1, w2, hec, ndjson] = await Promise.all([
      startWorld({ apiVersion: 1, streams: STREAMS[1], simulator: simulator(51) }),
      startWorld({ apiVersion: 2, streams: STREAMS[2], simulator: simulator(52) }),
      startReceiver({ kind: 'splunk-hec', token: SINK_TOKENS['splunk-hec'] }),
      startReceiver({ kind: 'ndjson', token: SINK_TOKENS.ndjson }),
    ]);
    setup = { worlds: { 1: w1, 2: w2 }, receivers: { 'splunk-hec': hec, ndjson } };

    staticSecrets = {
      'sink token (HEC)': SINK_TOKENS['splunk-hec'],
      'sink token (NDJSON bearer)': SINK_TOKENS.ndjson,
      'wrong sink token': WRONG_SINK_TOKEN,
      'wrong client secret': WRONG_CLIENT_SECRET,
      'wrong secret key': WRONG_SECRET_KEY,
      'AWS secret access key': w1.aws.credentials.secretAccessKey,
    };
    for (const world of [w1, w2]) {
      const { v1, v2 } = world.simulator.credentials;
      const api = `API ${world.apiVersion} world`;
      // The application id and client id are identifiers rather than secrets in Mimecast's model, but
      // the collector keeps them in the secret beside the keys and has no reason to print them: a
      // leaked app id narrows an attacker's search, and a line that prints one is one edit away from
      // printing its neighbour. Treated as secrets here.
      Object.assign(staticSecrets, {
        [`${api}: appId`]: v1.appId,
        [`${api}: appKey`]: v1.appKey,
        [`${api}: accessKey`]: v1.accessKey,
        [`${api}: secretKey`]: v1.secretKey,
        [`${api}: clientId`]: v2.clientId,
        [`${api}: clientSecret`]: v2.clientSecret,
      });
    }
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    process.env = { ...savedEnv };
    await Promise.allSettled([
      setup?.worlds[1].stop(),
      setup?.worlds[2].stop(),
      setup?.receivers['splunk-hec'].stop(),
      setup?.receivers.ndjson.stop(),
    ]);
  });

  function prepare(scenario: Scenario): Run {
    const world = setup.worlds[scenario.api];
    const receiver = setup.receivers[scenario.sink];
    receiver.reset();
    world.simulator.clearFaults();
    world.simulator.clearRequests();
    nextInstance += 1;
    const instance = `leak-${nextInstance}`;
    const run: Run = {
      world,
      simulator: world.simulator,
      receiver,
      instance,
      api: scenario.api,
      document: () => {
        const creds = scenario.api === 2 ? world.simulator.credentials.v2 : world.simulator.credentials.v1;
        return { ...creds, sinkToken: SINK_TOKENS[scenario.sink] };
      },
      storeSecret: (doc) => {
        const stored: Record<string, string | number> = {};
        for (const [key, value] of Object.entries(doc)) {
          stored[key] =
            !scenario.wrap || key === 'apiVersion' || typeof value !== 'string' || value.startsWith('kms:')
              ? value
              : `kms:${world.aws.encrypt(value, { collector: instance })}`;
        }
        world.aws.putSecret(WORLD_SECRET_NAME, JSON.stringify(stored));
      },
    };
    return run;
  }

  function assertClean(scenario: Scenario, gathered: Gathered): void {
    const firedFault =
      gathered.evidence.length > 0 &&
      (scenario.faults === undefined ||
        setup.worlds[scenario.api].simulator.requests().some((r) => r.fault !== undefined) ||
        setup.receivers[scenario.sink].requests().some((r) => r.fault !== undefined));
    expect(firedFault).toBe(true);
    expect([...gathered.kinds]).toEqual(expect.arrayContaining(scenario.expect));

    const report = scanEvidence(gathered.evidence, { ...staticSecrets, ...gathered.secrets });
    expect(report.texts).toBeGreaterThan(3);
    expect(report.chars).toBeGreaterThan(500);
    if (report.problems.length > 0) {
      throw new Error(`${report.problems.length} leak(s):\n${report.problems.slice(0, 12).join('\n')}`);
    }
  }

  describe('Lambda handler', () => {
    afterEach(() => {
      process.env = { ...savedEnv };
    });

    it.each(SCENARIOS.map((s) => [label(s), s] as const))('%s', async (_name, scenario) => {
      const run = prepare(scenario);
      const before = transparentRedactorUses;
      const gathered = await runThroughHandler(scenario, run);
      expectUnredactedLogs(scenario, gathered, before);
      scenario.verify?.(run);
      if (scenario.api === 2 && scenario.expect.includes('ok')) {
        // The scan knew the OAuth tokens: at least one was issued and used.
        expect(Object.values(gathered.secrets).some((v) => /^Bearer /.test(v))).toBe(true);
      }
      if (scenario.api === 1 && !scenario.expect.includes('secret')) {
        expect(Object.values(gathered.secrets).some((v) => /^MC /.test(v))).toBe(true);
      }
      assertClean(scenario, gathered);
    });
  });

  describe('command line `run`', () => {
    const cliScenarios = SCENARIOS.filter((s) => s.cli);

    it.each(cliScenarios.map((s) => [cliLabel(s), s] as const))('%s', async (_name, scenario) => {
      const run = prepare(scenario);
      const before = transparentRedactorUses;
      const gathered = await runThroughCli(scenario, run);
      expectUnredactedLogs(scenario, gathered, before);
      assertClean(scenario, gathered);
    });
  });
});

/**
 * The collector logged (a failure before the first Mimecast call may log nothing: the error is
 * thrown), and its lines really went through the transparent redactor: the scan read them unredacted.
 */
function expectUnredactedLogs(scenario: Scenario, gathered: Gathered, usesBefore: number): void {
  if (!scenario.expect.includes('secret') && !scenario.expect.includes('config')) {
    expect(gathered.logLines).toBeGreaterThan(0);
  }
  if (gathered.logLines > 0) expect(transparentRedactorUses).toBeGreaterThan(usesBefore);
}

function label(s: Scenario): string {
  return `${s.name} [API ${s.api}.0, ${s.sink}, ${s.wrap ? 'KMS-wrapped' : 'plain'} secret fields]`;
}

function cliLabel(s: Scenario): string {
  return `${s.name} [API ${s.api}.0, ${s.sink}, credentials from the environment]`;
}
