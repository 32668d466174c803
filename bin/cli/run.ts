/**
 * `mimecast-collector run`: the same tick the Lambda runs, on this machine, with checkpoints in a
 * local folder (embedded DynamoDB) or a real table.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../../lambda/core/ports';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import {
  type CollectorSettings,
  parseCollectorSettings,
  SETTING_CARRIERS,
  SETTINGS_FLAG_NAMES,
  type SettingsInput,
  V2_GLOBAL_BASE_URL,
} from '../../lambda/settings';
import { s3OptionsFromEnv } from '../../lambda/sinks';
import { redactUrl } from '../../lambda/sinks/endpoint';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { collectTick, type TickOutcome } from '../../lambda/tick';
import { credentialsFromEnv } from './credentials';
import { type FlagValues, helpText, parseFlags } from './flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, reportError, table } from './io';
import { RUN_COMMAND } from './run-flags';
import { DEFAULT_STATE_DIR, openStore } from './store';

export const RUN_HELP = helpText(RUN_COMMAND);

function seconds(flag: string, text: string | undefined, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError('command line', [
      { field: flag, problem: `must be a whole number of seconds from 1 to ${max}` },
    ]);
  }
  return value;
}

/**
 * The engine's log on stderr, secrets redacted: warnings always; the rest with --verbose (a failed
 * stream is reported once, by the summary line after the tick).
 */
export function terminalLog(io: CliIO, verbose: boolean, redactor: SecretRedactor): Log {
  const write = (level: string, message: string, attributes?: Record<string, unknown>) => {
    const stream = typeof attributes?.stream === 'string' ? `[${attributes.stream}] ` : '';
    const rest = attributes === undefined ? '' : ` ${JSON.stringify(attributes)}`;
    io.err(redactor.redactText(`${level} ${stream}${message}${rest}`));
  };
  const log: Log = {
    debug: (m, a) => verbose && write('debug', m, a),
    info: (m, a) => verbose && write('info', m, a),
    warn: (m, a) => write('warn', m, a),
    error: (m, a) => verbose && write('error', m, a),
    // The terminal shows the stream prefix from the line's own attributes; a child adds its keys to them.
    child: (keys) => withKeys(log, keys),
  };
  return log;
}

function withKeys(log: Log, keys: Record<string, unknown>): Log {
  const merged = (a?: Record<string, unknown>) => ({ ...keys, ...a });
  return {
    debug: (m, a) => log.debug(m, merged(a)),
    info: (m, a) => log.info(m, merged(a)),
    warn: (m, a) => log.warn(m, merged(a)),
    error: (m, a) => log.error(m, merged(a)),
    child: (more) => withKeys(log, { ...keys, ...more }),
  };
}

function lag(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

function summary(io: CliIO, outcome: TickOutcome): void {
  io.out('');
  for (const line of table(
    ['stream', 'outcome', 'events', 'pages', 'bytes sent', 'lag'],
    outcome.streams.map((s) => [
      s.stream,
      s.outcome,
      String(s.events),
      String(s.pages),
      String(s.bytes),
      lag(s.lagSeconds),
    ]),
  )) {
    io.out(line);
  }
  for (const s of outcome.streams.filter((x) => x.outcome === 'failed')) {
    const error = s.error ?? {};
    io.err(
      `${s.stream}: failed: ${String(error.message ?? 'unknown error')}${error.remedy ? ` — ${String(error.remedy)}` : ''}`,
    );
  }
}

/** What `run` runs with: the settings, the credentials, and its own timing. */
interface RunPlan {
  settings: CollectorSettings;
  credentials: ReturnType<typeof credentialsFromEnv>;
  intervalSeconds: number;
  tickSeconds: number;
}

/**
 * The flags and the credential variables into a plan, every problem reported at once. The API
 * version and the Mimecast host default from the credentials: while those are missing, only the
 * credentials are reported, not the two flags the user need not give.
 */
function plan(values: FlagValues, conflicts: ConfigProblem[], env: CliIO['env']): RunPlan {
  const text = (name: string) => {
    const value = values[name];
    // A switch that carries a setting (--hec-ack) is that setting's `true`.
    return typeof value === 'string' ? value : value === true ? 'true' : undefined;
  };
  const problems: ConfigProblem[] = [...conflicts];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const creds = attempt(() => credentialsFromEnv(env));
  const apiVersion = text('api-version') ?? (creds ? String(creds.mimecast.apiVersion) : undefined);
  const input: SettingsInput = Object.fromEntries(
    Object.entries(SETTING_CARRIERS).map(([setting, { flag }]) => [setting, text(flag.slice(2))]),
  );
  input.apiVersion = apiVersion;
  input.mimecastBaseUrl = text('mimecast-url') ?? (apiVersion === '2' ? V2_GLOBAL_BASE_URL : undefined);
  const settings = attempt(() => {
    try {
      return parseCollectorSettings(input, SETTINGS_FLAG_NAMES, 'command line');
    } catch (error) {
      if (!(error instanceof ConfigError) || apiVersion !== undefined) throw error;
      const defaulted = [SETTINGS_FLAG_NAMES.apiVersion, SETTINGS_FLAG_NAMES.mimecastBaseUrl];
      throw new ConfigError(
        'command line',
        error.problems.filter((p) => !defaulted.includes(p.field)),
      );
    }
  });
  const intervalSeconds = attempt(() => seconds('--interval', text('interval'), 86_400));
  const tickSeconds = attempt(() => seconds('--tick-seconds', text('tick-seconds'), 86_400));
  if (creds && settings && creds.mimecast.apiVersion !== settings.apiVersion) {
    problems.push({
      field: '--api-version',
      problem: `is ${settings.apiVersion}, but the environment holds API ${creds.mimecast.apiVersion}.0 credentials`,
    });
  }
  if (
    problems.length > 0 ||
    !creds ||
    !settings ||
    intervalSeconds === undefined ||
    tickSeconds === undefined
  ) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags or environment variables; see `mimecast-collector run --help`.',
    );
  }
  return { settings, credentials: creds, intervalSeconds, tickSeconds };
}

/**
 * The run's closing lines, as the demo ends: what was forwarded per stream over the whole run, how
 * the last tick ended and its largest lag, and where to look next.
 */
function closing(io: CliIO, delivered: Map<string, number>, last: TickOutcome, statusCommand: string): void {
  const total = [...delivered.values()].reduce((sum, n) => sum + n, 0);
  const perStream = last.streams.map((s) => `${s.stream} ${delivered.get(s.stream) ?? 0}`).join(', ');
  const failed = last.streams.filter((s) => s.outcome === 'failed').map((s) => s.stream);
  const lags = last.streams.map((s) => s.lagSeconds).filter((x): x is number => x !== undefined);
  io.out('');
  io.out(`This run forwarded ${total} events (${perStream}).`);
  io.out(
    `Last tick: ${failed.length === 0 ? 'every stream ended without error' : `${failed.join(', ')} failed (see above)`}; largest lag ${lag(lags.length > 0 ? Math.max(...lags) : undefined)}.`,
  );
  io.out(`Checkpoints: ${statusCommand}`);
  io.out('Run the same command again: it resumes from the checkpoints and forwards nothing twice.');
}

export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  let flags: FlagValues;
  let settings: CollectorSettings;
  let credentials: RunPlan['credentials'];
  let intervalSeconds: number;
  let tickSeconds: number;
  try {
    const parsed = parseFlags(RUN_COMMAND, argv);
    if (parsed.help) {
      io.out(RUN_HELP);
      return EXIT_OK;
    }
    flags = parsed.values;
    ({ settings, credentials, intervalSeconds, tickSeconds } = plan(parsed.values, parsed.problems, io.env));
  } catch (error) {
    return reportError(io, error);
  }
  const stateDir = typeof flags['state-dir'] === 'string' ? flags['state-dir'] : undefined;
  const tableName = typeof flags.table === 'string' ? flags.table : undefined;
  const region = typeof flags.region === 'string' ? flags.region : undefined;

  const redactor = new SecretRedactor();
  const log = terminalLog(io, flags.verbose === true, redactor);
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore({ table: tableName, stateDir, region });
  } catch (error) {
    return reportError(io, error);
  }
  io.out(
    // Without the query: some receivers take a token there (Splunk's `?token=`).
    `Collecting ${settings.streams.join(', ')} from ${settings.mimecastBaseUrl} (API ${settings.apiVersion}.0) into ${redactUrl(new URL(settings.sinkUrl))} (${settings.sinkFormat}); checkpoints in ${opened.description}.`,
  );

  // Push-primary streams read the ledger `receive --push-primary` and `drain --push-primary` write into the same state (docs/PUSH-GAP-FILL.md).
  const pushLedger =
    settings.pushPrimaryStreams.length === 0 ? undefined : opened.pushLedger(settings.instance);
  const delivered = new Map<string, number>();
  let last: TickOutcome | undefined;
  let exitCode = EXIT_OK;
  try {
    for (let tickNumber = 1; ; tickNumber++) {
      const started = Date.now();
      const { outcome } = await collectTick({
        config: settings,
        adapters: {
          log,
          store: opened.store,
          credentials: { get: async () => credentials, invalidate: () => {} },
          registerSecrets: (values) => redactor.register(values),
          // s3: endpoint, region and keys from this shell's environment, as the AWS CLI takes them.
          s3: s3OptionsFromEnv(io.env),
          ...(pushLedger === undefined ? {} : { pushLedger }),
          onDelivered: (stream, batch) => {
            const total = (delivered.get(stream) ?? 0) + batch.length;
            delivered.set(stream, total);
            const newest = Math.max(...batch.map((e) => Date.parse(e.time)));
            const lagSeconds = Number.isFinite(newest) ? (Date.now() - newest) / 1000 : undefined;
            io.out(`  ${stream}: +${batch.length} events (${total} this run), lag ${lag(lagSeconds)}`);
          },
        },
        owner: `cli-${randomUUID()}`,
        deadline: started + tickSeconds * 1000,
        signal: io.signal,
      });
      summary(io, outcome);
      last = outcome;
      exitCode = outcome.ok ? EXIT_OK : EXIT_FAILED;
      if (flags.once || io.signal?.aborted) break;
      // More is waiting when a stream stopped on its budget: go again at once; otherwise wait.
      const moreWaiting = outcome.streams.some((s) => s.outcome === 'budget-exhausted');
      if (flags['until-caught-up'] && !moreWaiting) break;
      if (!moreWaiting) {
        io.out(`Tick ${tickNumber} done; next in ${intervalSeconds}s (Ctrl-C stops).`);
        try {
          await sleep(intervalSeconds * 1000, undefined, { signal: io.signal });
        } catch {
          break;
        }
      }
      if (io.signal?.aborted) break;
    }
  } catch (error) {
    exitCode = reportError(io, error);
  } finally {
    await opened.close();
  }
  if (last !== undefined) {
    const where = tableName
      ? `--table ${tableName}${region ? ` --region ${region}` : ''}`
      : `--state-dir ${stateDir ?? DEFAULT_STATE_DIR}`;
    closing(io, delivered, last, `npx mimecast-collector status ${where} --instance ${settings.instance}`);
  }
  return exitCode;
}
