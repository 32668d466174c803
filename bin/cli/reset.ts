/**
 * `mimecast-collector reset`: deletes one stream's checkpoint, the operator's way out of a cursor
 * Mimecast no longer accepts (an expired SIEM token) or a stream that must start over.
 */
import { type Checkpoint, leaseAvailable } from '../../lambda/core/checkpoint';
import { isStreamId, STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import { CheckpointConflictError, ConfigError, type ConfigProblem } from '../../lambda/errors';
import { type CommandDeclaration, type FlagValues, helpText, parseFlags } from './flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, reportError } from './io';
import {
  cursorSummary,
  duration,
  STORE_FLAGS,
  type StoreChoice,
  storeChoice,
  withChosenStore,
} from './status';

export const RESET_COMMAND: CommandDeclaration = {
  name: 'reset',
  usage: '--stream ID [options]',
  summary: `Deletes one stream's checkpoint. The next run starts that stream again from the configured collection
start (\`run --start\` locally, the stack parameter CollectionStartTs in AWS; now when none is set), and
forwards again what lies after it. Events sent again keep their ids, so the SIEM can drop repeats.
- siem on API 1.0 has no start time at Mimecast: it re-reads every file Mimecast still keeps, up to
  7 days back, and forwards those events not older than the collection start.
- siem on API 2.0 lists batch files again from the start (at most the last 7 days).
- The other streams ask for their time window again from the start (audit: at most 60 days back).

A stream being collected right now (its lease is held and not expired) is not reset unless --force.`,
  flags: [
    {
      name: 'stream',
      value: 'ID',
      description: 'the stream to reset, e.g. siem',
      choices: STREAM_IDS,
      required: true,
    },
    ...STORE_FLAGS,
    {
      name: 'force',
      description:
        "reset even while a run holds the stream; that run's next checkpoint write then fails and it stops the stream for this tick (it may have forwarded its batch already)",
    },
  ],
  epilogue: `Exit code: 0 when the checkpoint is gone (or there was none), 1 when refused or failed, 2 for bad input.

Example:
  npx mimecast-collector reset --stream siem --instance prod --table mimecast-collector-prod-CheckpointTable-1A2B3C --region eu-west-1
`,
};

export const RESET_HELP = helpText(RESET_COMMAND);

/** What the restart means for this stream, in one sentence. */
function consequence(stream: StreamId): string {
  if (stream === 'siem') {
    return 'With API 1.0 it re-reads every SIEM file Mimecast still keeps (up to 7 days back) and forwards the events not older than the collection start; with API 2.0 it lists the batch files again from the start (at most 7 days back).';
  }
  return 'It asks Mimecast for its time window again from the collection start (within what Mimecast keeps).';
}

function describe(checkpoint: Checkpoint): string {
  return `cursor ${cursorSummary(checkpoint)}; newest event delivered ${checkpoint.newestEventTime ?? 'none'}; ${checkpoint.totals.events} events forwarded so far`;
}

function refusal(io: CliIO, stream: StreamId, owner: string, expiresAt: number, now: number): number {
  io.err(
    `error: stream ${stream} is being collected right now by ${owner} (lease until ${new Date(expiresAt).toISOString()}, ${duration((expiresAt - now) / 1000)} left); nothing was reset.`,
  );
  io.err(
    'what to do: wait until that run ends (the lease is released at its end, or expires), then run reset again; or pass --force to reset anyway (that run then stops the stream at its next checkpoint write).',
  );
  return EXIT_FAILED;
}

export async function resetCommand(argv: string[], io: CliIO): Promise<number> {
  let flags: FlagValues;
  let choice: StoreChoice;
  let stream: StreamId;
  try {
    const parsed = parseFlags(RESET_COMMAND, argv);
    if (parsed.help) {
      io.out(RESET_HELP);
      return EXIT_OK;
    }
    flags = parsed.values;
    const problems: ConfigProblem[] = [...parsed.problems];
    if (typeof flags.stream !== 'string') {
      problems.push({ field: '--stream', problem: `is required: one of ${STREAM_IDS.join(', ')}` });
    } else if (!isStreamId(flags.stream)) {
      problems.push({
        field: '--stream',
        problem: `"${flags.stream.slice(0, 40)}" is not a stream; expected one of ${STREAM_IDS.join(', ')}`,
      });
    }
    const chosen = storeChoice(flags, problems);
    if (
      problems.length > 0 ||
      chosen === undefined ||
      typeof flags.stream !== 'string' ||
      !isStreamId(flags.stream)
    ) {
      throw new ConfigError(
        'command line',
        problems,
        'Fix the listed flags; see `mimecast-collector reset --help`.',
      );
    }
    choice = chosen;
    stream = flags.stream;
  } catch (error) {
    return reportError(io, error);
  }

  return withChosenStore(io, choice, async (opened) => {
    const key = { instance: choice.instance, stream };
    const current = await opened.store.load(key);
    if (current === undefined) {
      const others = (await opened.store.list(choice.instance)).map((c) => c.stream);
      io.out(
        `Stream ${stream} of instance "${choice.instance}" has no checkpoint in ${opened.description}; nothing to reset.${others.length > 0 ? ` Streams with a checkpoint: ${others.join(', ')}.` : ''}`,
      );
      return EXIT_OK;
    }
    const now = Date.now();
    const lease = current.lease;
    const held = lease !== undefined && !leaseAvailable(lease, '', now);
    if (held && !flags.force) return refusal(io, stream, lease.owner, lease.expiresAt, now);

    io.out(`Resetting stream ${stream} of instance "${choice.instance}" in ${opened.description}.`);
    io.out(`  now: ${describe(current)}`);
    io.out(
      '  next run: starts this stream again from the configured collection start (run --start, or the stack parameter CollectionStartTs; now when none is set).',
    );
    io.out(`  ${consequence(stream)} Events sent again keep their ids, so the SIEM can drop repeats.`);
    if (held)
      io.out(`  --force: ${lease.owner} holds the stream; its next checkpoint write will fail and it stops.`);

    let deleted: Checkpoint | undefined;
    try {
      deleted = await opened.store.reset(key, { now, force: flags.force === true });
    } catch (error) {
      // A run took the lease between the read above and the delete.
      if (error instanceof CheckpointConflictError) {
        const again = await opened.store.load(key);
        if (again?.lease !== undefined)
          return refusal(io, stream, again.lease.owner, again.lease.expiresAt, Date.now());
      }
      throw error;
    }
    io.out(
      deleted === undefined
        ? `The checkpoint was already gone (another reset?); stream ${stream} starts again from the collection start.`
        : `Done: the checkpoint of ${stream} is deleted (it was at version ${deleted.version}).`,
    );
    return EXIT_OK;
  });
}
