/**
 * `mimecast-collector status`: where each stream of one collector instance stands, read from the
 * checkpoints (the embedded store of `run`, or the stack's DynamoDB table).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Checkpoint } from '../../lambda/core/checkpoint';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import { validateInstanceId, validateTableName } from '../../lambda/settings';
import {
  type CommandDeclaration,
  type FlagDeclaration,
  type FlagValues,
  helpText,
  parseFlags,
} from './flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, reportError, table } from './io';
import { DEFAULT_RUN_INSTANCE } from './run-flags';
import { DEFAULT_STATE_DIR, type OpenedStore, openStore } from './store';

/** The store and instance flags `status` and `reset` share. */
export const STORE_FLAGS: readonly FlagDeclaration[] = [
  {
    name: 'state-dir',
    value: 'DIR',
    description: 'folder of the embedded checkpoint store of `run`, e.g. ./.state',
    defaultNote: DEFAULT_STATE_DIR,
    conflicts: ['table'],
  },
  {
    name: 'table',
    value: 'NAME',
    description:
      "the stack's DynamoDB table instead (stack output TableName), e.g. mimecast-collector-prod-CheckpointTable-1A2B3C (AWS credentials from the environment)",
  },
  {
    name: 'region',
    value: 'REGION',
    description: 'AWS region of --table, e.g. eu-west-1',
    defaultNote: 'AWS_REGION',
  },
  {
    name: 'instance',
    value: 'ID',
    description: 'collector instance, e.g. prod',
    default: DEFAULT_RUN_INSTANCE,
  },
];

export const STATUS_COMMAND: CommandDeclaration = {
  name: 'status',
  summary: `Shows where each stream of one collector instance stands, from its checkpoints: cursor position,
newest event delivered and lag, last success, last error and failures in a row, the lease (which run
is collecting it right now) and running totals. Read-only.`,
  flags: [...STORE_FLAGS, { name: 'json', description: 'machine-readable output: one JSON document' }],
  epilogue: `Exit code: 0 when no stream is failing, 1 when a stream's last attempt failed (or the store cannot be
read), 2 for bad input.

Examples:
  npx mimecast-collector status                       # after \`run\` on this machine
  npx mimecast-collector status --table mimecast-collector-prod-CheckpointTable-1A2B3C --region eu-west-1 --instance prod --json
`,
};

export const STATUS_HELP = helpText(STATUS_COMMAND);

// ---------------------------------------------------------------------------------------------
// Shared with `reset`: where the checkpoints are.

/** The store flags' values (FlagValues of STORE_FLAGS). */
export type StoreFlags = FlagValues;

const textOf = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);

export interface StoreChoice {
  instance: string;
  table?: string;
  region?: string;
  stateDir?: string;
}

/** Checks the store and instance flags, collecting problems into `problems`. */
export function storeChoice(flags: StoreFlags, problems: ConfigProblem[]): StoreChoice | undefined {
  const [table, region, stateDir] = [textOf(flags.table), textOf(flags.region), textOf(flags['state-dir'])];
  const instance = validateInstanceId(textOf(flags.instance) ?? DEFAULT_RUN_INSTANCE);
  if (!instance.ok) problems.push({ field: '--instance', problem: instance.problem });
  if (table !== undefined) {
    const checked = validateTableName(table);
    if (!checked.ok) problems.push({ field: '--table', problem: checked.problem });
  } else if (region !== undefined) {
    problems.push({ field: '--region', problem: 'is only used with --table' });
  }
  if (!instance.ok) return undefined;
  return table !== undefined
    ? { instance: instance.value, table, ...(region ? { region } : {}) }
    : { instance: instance.value, stateDir: stateDir ?? DEFAULT_STATE_DIR };
}

/** Runs `work` on the opened store and closes it; a failure to open or in `work` is reported. */
export async function withChosenStore(
  io: CliIO,
  choice: StoreChoice,
  work: (opened: OpenedStore) => Promise<number>,
): Promise<number> {
  let opened: OpenedStore;
  try {
    opened = await openChosenStore(choice);
  } catch (error) {
    return reportError(io, error);
  }
  try {
    return await work(opened);
  } catch (error) {
    return reportError(io, error);
  } finally {
    await opened.close();
  }
}

/**
 * Opens the store. A state folder that does not exist is reported, not created: these commands only
 * look at what `run` left behind.
 */
export async function openChosenStore(choice: StoreChoice): Promise<OpenedStore> {
  if (choice.stateDir !== undefined) {
    const dir = path.resolve(choice.stateDir);
    if (!existsSync(path.join(dir, 'dynamodb'))) {
      throw new ConfigError(
        'command line',
        [
          {
            field: '--state-dir',
            problem: `${dir} holds no checkpoint store: nothing has run with this folder`,
          },
        ],
        'Pass the --state-dir that `run` used, or --table with --region for the deployed stack.',
      );
    }
    return openStore({ stateDir: dir });
  }
  return openStore({ table: choice.table, region: choice.region });
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Seconds as a short duration: 45s, 12m, 3.5h, 2.1d. */
export function duration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return 'never';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return `${iso} (${duration((now - at) / 1000)} ago)`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The cursor in a few words. Cursors are opaque to the engine; these are the shapes the Mimecast
 * client writes (lambda/mimecast/streams/*), and anything else is shown as short JSON.
 */
export function cursorSummary(checkpoint: Pick<Checkpoint, 'cursor' | 'offset'>): string {
  const c = checkpoint.cursor;
  if (c === undefined) return 'not seeded yet';
  const inPage = checkpoint.offset > 0 ? `; ${checkpoint.offset} events of the current page delivered` : '';
  // Time-window streams and threat feeds; an open end (null) is fixed at the next fetch.
  if (str(c.from) && (str(c.to) || c.to === null) && 'pageToken' in c) {
    const page = c.pageToken ? 'following page tokens' : 'first page';
    return `window ${c.from} → ${c.to ?? 'now − lateness margin'}, ${page}${inPage}`;
  }
  // siem on API 1.0.
  if ('token' in c && str(c.since)) {
    return `${c.token ? 'SIEM file token held' : 'no SIEM file token yet (starts at the oldest file Mimecast keeps)'}, events from ${c.since}${inPage}`;
  }
  // Awareness Training snapshots: when the next one is due, or how far the one in progress got.
  if (str(c.due) && 'snapshot' in c) {
    const snapshot = c.snapshot;
    if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) {
      return `caught up; next snapshot due ${c.due}`;
    }
    const page = snapshot.pageToken ? 'following page tokens' : 'first page';
    const campaign = snapshot.campaign;
    const where =
      campaign !== null && typeof campaign === 'object' && !Array.isArray(campaign)
        ? `, campaign ${String(campaign.id)}`
        : snapshot.after !== undefined && snapshot.after !== null
          ? `, after campaign ${String(snapshot.after)}`
          : '';
    return `snapshot of ${String(snapshot.at)} in progress${where}, ${page}${inPage}`;
  }
  // siem and siem-ci on API 2.0.
  if (str(c.since) && c.pages !== null && typeof c.pages === 'object' && Array.isArray(c.pending)) {
    const types = Object.keys(c.pages).length;
    return `batch listings since ${c.since}: ${types} event type${types === 1 ? '' : 's'} with a page token, ${c.pending.length} pending${inPage}`;
  }
  const json = JSON.stringify(c);
  return `${json.length > 80 ? `${json.slice(0, 77)}...` : json}${inPage}`;
}

function leaseText(checkpoint: Checkpoint, now: number): string {
  const lease = checkpoint.lease;
  if (lease === undefined) return 'free';
  const when = new Date(lease.expiresAt).toISOString();
  return lease.expiresAt > now
    ? `held by ${lease.owner} until ${when} (${duration((lease.expiresAt - now) / 1000)} left)`
    : `free (left by ${lease.owner}, expired ${when})`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function lagSeconds(checkpoint: Checkpoint, now: number): number | undefined {
  const newest =
    checkpoint.newestEventTime === undefined ? Number.NaN : Date.parse(checkpoint.newestEventTime);
  return Number.isNaN(newest) ? undefined : Math.max(0, (now - newest) / 1000);
}

/** The machine form (--json): the checkpoint plus the derived values the text shows. */
export function statusJson(checkpoint: Checkpoint, now: number): Record<string, unknown> {
  const lag = lagSeconds(checkpoint, now);
  return {
    stream: checkpoint.stream,
    version: checkpoint.version,
    cursor: checkpoint.cursor ?? null,
    cursorSummary: cursorSummary(checkpoint),
    offset: checkpoint.offset,
    newestEventTime: checkpoint.newestEventTime ?? null,
    lagSeconds: lag === undefined ? null : Math.round(lag),
    lastSuccessAt: checkpoint.lastSuccessAt ?? null,
    lastError: checkpoint.lastError ?? null,
    consecutiveFailures: checkpoint.consecutiveFailures,
    lease:
      checkpoint.lease === undefined
        ? null
        : {
            owner: checkpoint.lease.owner,
            expiresAt: new Date(checkpoint.lease.expiresAt).toISOString(),
            active: checkpoint.lease.expiresAt > now,
          },
    throttledUntil:
      checkpoint.notBefore !== undefined && checkpoint.notBefore > now
        ? new Date(checkpoint.notBefore).toISOString()
        : null,
    totals: checkpoint.totals,
    createdAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
  };
}

function printText(io: CliIO, checkpoints: Checkpoint[], now: number): void {
  for (const line of table(
    ['stream', 'lag', 'last success', 'failures', 'lease', 'events'],
    checkpoints.map((c) => {
      const lag = lagSeconds(c, now);
      const success = c.lastSuccessAt === undefined ? Number.NaN : Date.parse(c.lastSuccessAt);
      return [
        c.stream,
        lag === undefined ? '-' : duration(lag),
        Number.isNaN(success) ? 'never' : `${duration((now - success) / 1000)} ago`,
        String(c.consecutiveFailures),
        c.lease !== undefined && c.lease.expiresAt > now ? 'held' : 'free',
        String(c.totals.events),
      ];
    }),
  )) {
    io.out(line);
  }
  for (const c of checkpoints) {
    const lag = lagSeconds(c, now);
    io.out('');
    io.out(`${c.stream}`);
    io.out(`  cursor          ${cursorSummary(c)}`);
    io.out(
      `  newest event    ${c.newestEventTime === undefined ? 'none delivered yet' : `${c.newestEventTime}${lag === undefined ? '' : ` (lag ${duration(lag)})`}`}`,
    );
    io.out(`  last success    ${ago(c.lastSuccessAt, now)}`);
    if (c.lastError === undefined) {
      io.out('  last error      none');
    } else {
      io.out(`  last error      ${c.lastError.kind} at ${ago(c.lastError.at, now)}: ${c.lastError.message}`);
      if (c.lastError.remedy && c.consecutiveFailures > 0) io.out(`  what to do      ${c.lastError.remedy}`);
    }
    io.out(`  failures        ${c.consecutiveFailures} in a row`);
    io.out(`  lease           ${leaseText(c, now)}`);
    if (c.notBefore !== undefined && c.notBefore > now) {
      io.out(`  throttled       no Mimecast call before ${new Date(c.notBefore).toISOString()}`);
    }
    io.out(
      `  totals          ${c.totals.events} events, ${c.totals.pages} pages, ${bytes(c.totals.bytes)} sent`,
    );
  }
}

export async function statusCommand(argv: string[], io: CliIO): Promise<number> {
  let flags: FlagValues;
  let choice: StoreChoice;
  try {
    const parsed = parseFlags(STATUS_COMMAND, argv);
    if (parsed.help) {
      io.out(STATUS_HELP);
      return EXIT_OK;
    }
    flags = parsed.values;
    const problems: ConfigProblem[] = [...parsed.problems];
    const chosen = storeChoice(flags, problems);
    if (problems.length > 0 || chosen === undefined) {
      throw new ConfigError(
        'command line',
        problems,
        'Fix the listed flags; see `mimecast-collector status --help`.',
      );
    }
    choice = chosen;
  } catch (error) {
    return reportError(io, error);
  }

  return withChosenStore(io, choice, async (opened) => {
    const checkpoints = await opened.store.list(choice.instance);
    const now = Date.now();
    const failing = checkpoints.filter((c) => c.consecutiveFailures > 0);
    if (flags.json) {
      io.out(
        JSON.stringify(
          {
            instance: choice.instance,
            store: opened.description,
            now: new Date(now).toISOString(),
            streams: checkpoints.map((c) => statusJson(c, now)),
          },
          null,
          2,
        ),
      );
    } else if (checkpoints.length === 0) {
      const others = await opened.instances();
      io.out(
        others.length === 0
          ? `No checkpoints for instance "${choice.instance}" in ${opened.description}: no stream has been collected there yet.`
          : `No checkpoints for instance "${choice.instance}" in ${opened.description}. Instances with checkpoints there: ${others.join(', ')}; pass one with --instance.`,
      );
    } else {
      io.out(`Instance "${choice.instance}", ${opened.description}, at ${new Date(now).toISOString()}:`);
      io.out('');
      printText(io, checkpoints, now);
      io.out('');
      io.out(
        failing.length === 0
          ? 'No stream is failing.'
          : `${failing.length} stream${failing.length === 1 ? ' is' : 's are'} failing: ${failing.map((c) => c.stream).join(', ')}.`,
      );
    }
    return failing.length === 0 ? EXIT_OK : EXIT_FAILED;
  });
}
