/**
 * The local file destination (`--sink-format file`, `--sink-url file:///abs/dir`, command line only):
 * per stream and UTC day of the event's time, `dir/<stream>/<YYYY-MM-DD>.ndjson`, the envelopes appended
 * and fsynced (and the directory too when a file is new) before the batch counts as delivered, so a
 * crash after the checkpoint moved cannot take back what the checkpoint promises. What a Sumo Logic
 * local file source, or any log shipper, reads. `--retention-days N` (default 7) removes day files older
 * than N days (by their name), checked at most once an hour.
 */
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '../core/envelope';
import type { CallBudget, Clock, SinkResult } from '../core/ports';
import { systemClock } from '../core/ports';
import { type ConfigProblem, SinkRejectedError, TransientError } from '../errors';
import type { Destination, ProbeResult } from './destination';
import { DEFAULT_RETENTION_DAYS, envelopeJson } from './format';
import { failed, passed } from './probe';

const SWEEP_INTERVAL_MS = 3_600_000;
const DAY_FILE = /^(\d{4}-\d\d-\d\d)\.ndjson$/;

/** `file:///absolute/dir` to the directory; every problem pushed, the URL never echoed. */
export function parseFileUrl(raw: string, field: string, problems: ConfigProblem[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    problems.push({ field, problem: 'is not a file URL; expected file:///absolute/directory' });
    return undefined;
  }
  if (
    url.protocol !== 'file:' ||
    (url.host !== '' && url.host !== 'localhost') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    problems.push({ field, problem: 'is not a local file URL; expected file:///absolute/directory' });
    return undefined;
  }
  const dir = fileURLToPath(url);
  if (!path.isAbsolute(dir) || dir === path.parse(dir).root) {
    problems.push({ field, problem: 'must name an absolute directory other than the root' });
    return undefined;
  }
  return dir;
}

export class FileDestination implements Destination {
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly dir: string,
    private readonly retentionDays: number = DEFAULT_RETENTION_DAYS,
    private readonly clock: Clock = systemClock,
  ) {}

  sizeOf(envelope: Envelope): number {
    return Buffer.byteLength(envelopeJson(envelope)) + 1;
  }

  async send(batch: readonly Envelope[], _budget: CallBudget): Promise<SinkResult> {
    const byFile = new Map<string, string[]>();
    for (const envelope of batch) {
      const file = this.fileFor(envelope);
      const lines = byFile.get(file) ?? [];
      lines.push(`${envelopeJson(envelope)}\n`);
      byFile.set(file, lines);
    }
    let bytes = 0;
    for (const [file, lines] of byFile) {
      const text = lines.join('');
      try {
        await appendDurably(file, text);
      } catch (error) {
        throw this.failure(error, batch.length, file);
      }
      bytes += Buffer.byteLength(text);
    }
    await this.sweep();
    return { bytes };
  }

  async probe(_budget: CallBudget): Promise<ProbeResult> {
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(path.join(this.dir, '.mimecast-collector-probe'), 'w');
      await handle.close();
      await rm(path.join(this.dir, '.mimecast-collector-probe'), { force: true });
      return passed('OK (directory writable)');
    } catch (error) {
      return failed(
        'not writable',
        `${this.dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        'Create the directory or give this user write access to it.',
      );
    }
  }

  private fileFor(envelope: Envelope): string {
    const millis = Date.parse(envelope.time);
    const day = Number.isFinite(millis) ? new Date(millis).toISOString().slice(0, 10) : 'undated';
    // Stream ids are [a-z0-9-]; anything else would be a path trick.
    const stream = /^[a-z0-9][a-z0-9-]*$/.test(envelope.stream) ? envelope.stream : 'unknown';
    return path.join(this.dir, stream, `${day}.ndjson`);
  }

  /** Removes day files older than the retention, at most once an hour. */
  private async sweep(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    const oldest = new Date(now - this.retentionDays * 86_400_000).toISOString().slice(0, 10);
    for (const stream of await readdir(this.dir).catch(() => [] as string[])) {
      const streamDir = path.join(this.dir, stream);
      for (const name of await readdir(streamDir).catch(() => [] as string[])) {
        const day = DAY_FILE.exec(name)?.[1];
        if (day !== undefined && day < oldest) await rm(path.join(streamDir, name), { force: true });
      }
    }
  }

  private failure(error: unknown, events: number, file: string): Error {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const said = `Sink file at ${this.dir}: appending ${events} events to ${file} failed: ${code}`;
    const context = { endpoint: this.dir, codes: [code], cause: error };
    if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST'].includes(code)) {
      return new SinkRejectedError(
        said,
        'Give this user write access to the directory in --sink-url, and remove anything that is not a directory where a stream directory goes.',
        context,
      );
    }
    return new TransientError(
      said,
      'Free disk space or fix the file system; the batch is written again on the next run.',
      context,
    );
  }
}

/** Appends and fsyncs; a new file's directory is fsynced too, so the file's name survives a crash. */
async function appendDurably(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const handle = await open(file, 'a');
  let created: boolean;
  try {
    created = (await handle.stat()).size === 0;
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created) {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
