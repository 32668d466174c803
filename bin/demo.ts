/**
 * `npm run demo`: the whole pipeline on this machine, with nothing but loopback.
 *
 * Starts the Mimecast simulator (a mixed tenant, every stream), a receiver that writes what it gets
 * to NDJSON files, and runs the real `run` command — same engine, same embedded checkpoint store a
 * user gets — until every stream is caught up: on API 2.0 (the default) every stream, siem-ci and the
 * Awareness Training snapshots included; on API 1.0 the streams it serves. Then it checks the files
 * against what the simulator holds, stream by stream. Run it again: it resumes from the checkpoints
 * and forwards nothing twice.
 *
 * The simulator's data is anchored to the first run's time (kept in the state folder), so every
 * later run serves the same tenant and the checkpoints stay meaningful.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isSnapshotStream, STREAM_IDS, type StreamId, streamsFor } from '../lambda/core/streams';
import { startReceiver } from '../test/receivers';
import { startSimulator } from '../test/simulator';
import { expectedEventId } from '../test/support/event-ids';
import { CREDENTIAL_ENV } from './cli/credentials';
import { processIO } from './cli/main';
import { runCommand } from './cli/run';

const HELP = `Usage: npm run demo [-- options]

Runs the collector end to end on loopback: Mimecast simulator → collector (embedded checkpoint
store) → a receiver writing NDJSON files. A second run resumes and forwards nothing twice.

Options:
  --dir DIR         where the state and the received files go        [demo-output]
  --api-version N   1 or 2: which Mimecast API the simulator speaks  [2]
  --events N        records per stream in the simulated tenant        [300]
  --fresh           forget earlier runs (delete DIR) first
  -h, --help        this text
`;

interface Anchor {
  rangeStart: string;
  rangeEnd: string;
  seed: number;
  apiVersion: 1 | 2;
  events: number;
}

function countLines(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

async function demo(): Promise<number> {
  // The SDK's notice about Node 20 support ending is for deployments, not for this loopback demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      'api-version': { type: 'string' },
      events: { type: 'string' },
      fresh: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = path.resolve(values.dir ?? 'demo-output');
  if (values.fresh) rmSync(dir, { recursive: true, force: true });
  const stateDir = path.join(dir, 'state');
  const receivedDir = path.join(dir, 'received');
  mkdirSync(receivedDir, { recursive: true });

  const anchorFile = path.join(dir, 'demo-tenant.json');
  const firstRun = !existsSync(anchorFile);
  const anchor: Anchor = firstRun
    ? {
        // One day of data ending 15 minutes ago: past the collector's 5-minute lateness margin.
        rangeStart: new Date(Date.now() - 24 * 3600_000 - 15 * 60_000).toISOString(),
        rangeEnd: new Date(Date.now() - 15 * 60_000).toISOString(),
        seed: 20261121,
        apiVersion: values['api-version'] === '1' ? 1 : 2,
        events: Number(values.events ?? 300),
      }
    : (JSON.parse(readFileSync(anchorFile, 'utf8')) as Anchor);
  if (!firstRun && values['api-version'] && Number(values['api-version']) !== anchor.apiVersion) {
    process.stderr.write(
      `error: ${dir} holds a demo on API ${anchor.apiVersion}.0; use --fresh to start over on API ${values['api-version']}.0.\n`,
    );
    return 2;
  }
  if (!Number.isInteger(anchor.events) || anchor.events < 1 || anchor.events > 100_000) {
    process.stderr.write('error: --events must be a whole number from 1 to 100000.\n');
    return 2;
  }
  writeFileSync(anchorFile, `${JSON.stringify(anchor, null, 2)}\n`);

  const simulator = await startSimulator({
    seed: anchor.seed,
    range: { start: new Date(anchor.rangeStart), end: new Date(anchor.rangeEnd) },
    events: Object.fromEntries(STREAM_IDS.map((s) => [s, anchor.events])) as Record<StreamId, number>,
  });
  const receiver = await startReceiver({ kind: 'ndjson', outputDir: receivedDir });
  const before = new Map(
    readdirSync(receivedDir)
      .filter((f) => f.endsWith('.ndjson'))
      .map((f) => [f, countLines(path.join(receivedDir, f))]),
  );

  const io = processIO();
  const credentials =
    anchor.apiVersion === 2
      ? {
          [CREDENTIAL_ENV.clientId]: simulator.credentials.v2.clientId,
          [CREDENTIAL_ENV.clientSecret]: simulator.credentials.v2.clientSecret,
        }
      : {
          [CREDENTIAL_ENV.appId]: simulator.credentials.v1.appId,
          [CREDENTIAL_ENV.appKey]: simulator.credentials.v1.appKey,
          [CREDENTIAL_ENV.accessKey]: simulator.credentials.v1.accessKey,
          [CREDENTIAL_ENV.secretKey]: simulator.credentials.v1.secretKey,
        };

  process.stdout.write(
    `${firstRun ? 'First run' : 'Resuming'}: Mimecast simulator (API ${anchor.apiVersion}.0) at ${simulator.url}, receiver at ${receiver.url}\n`,
  );
  let code: number;
  try {
    code = await runCommand(
      [
        '--until-caught-up',
        '--instance',
        'demo',
        '--api-version',
        String(anchor.apiVersion),
        '--mimecast-url',
        simulator.url,
        '--sink-url',
        receiver.url,
        '--state-dir',
        stateDir,
        '--start',
        anchor.rangeStart,
      ],
      { ...io, env: { ...credentials } },
    );

    // Check the files against the tenant, stream by stream: every record arrived, none twice. A
    // snapshot stream forwards its unchanged rows again with every snapshot (same id, the snapshot's
    // time): there, "twice" means twice within one snapshot.
    const streams = streamsFor(anchor.apiVersion);
    const delivered = new Map<StreamId, Map<string, number>>(streams.map((s) => [s, new Map()]));
    for (const file of readdirSync(receivedDir).filter((f) => f.endsWith('.ndjson'))) {
      for (const line of readFileSync(path.join(receivedDir, file), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const envelope = JSON.parse(line) as { id: string; stream: StreamId; time: string };
        const counts = delivered.get(envelope.stream);
        if (counts === undefined) continue;
        const key = isSnapshotStream(envelope.stream) ? `${envelope.id} ${envelope.time}` : envelope.id;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const rows = streams.map((stream) => {
      const counts = delivered.get(stream)!;
      const ids = new Set([...counts.keys()].map((key) => key.split(' ')[0]));
      // SIEM file records are identified by their own text, the rest by canonical JSON (docs/ARCHITECTURE.md).
      const truth = simulator
        .groundTruth(stream, anchor.apiVersion)
        .map((record) => expectedEventId(stream, record));
      return {
        stream,
        held: truth.length,
        received: ids.size,
        missing: truth.filter((id) => !ids.has(id)).length,
        twice: [...counts.values()].filter((n) => n > 1).length,
      };
    });
    const added = readdirSync(receivedDir)
      .filter((f) => f.endsWith('.ndjson'))
      .reduce((sum, f) => sum + countLines(path.join(receivedDir, f)) - (before.get(f) ?? 0), 0);
    const total = (key: 'held' | 'received' | 'missing' | 'twice') =>
      rows.reduce((sum, r) => sum + r[key], 0);
    const missing = total('missing');
    const duplicated = total('twice');

    process.stdout.write(`\nThis run forwarded ${added} events. Checked against the simulated tenant:\n\n`);
    const header = ['stream', 'held', 'received', 'missing', 'twice'];
    const cells = rows.map((r) => [
      r.stream,
      String(r.held),
      String(r.received),
      String(r.missing),
      String(r.twice),
    ]);
    cells.push([
      'all streams',
      String(total('held')),
      String(total('received')),
      String(missing),
      String(duplicated),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]) =>
      c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
    process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n\n`);
    process.stdout.write(
      `${missing} missing, ${duplicated} delivered twice${streams.some((s) => isSnapshotStream(s)) ? ' (awareness-*: a snapshot of the current state, forwarded once per interval)' : ''}.\n`,
    );
    process.stdout.write(`Received events: ${receivedDir}/<stream>.ndjson (one JSON envelope per line)\n`);
    process.stdout.write(
      `Checkpoints:     npx mimecast-collector status --state-dir ${stateDir} --instance demo\n`,
    );
    process.stdout.write(
      firstRun
        ? 'Run `npm run demo` again: it resumes from the checkpoints and forwards nothing twice.\n'
        : 'Start over with `npm run demo -- --fresh`.\n',
    );
    if (missing > 0 || duplicated > 0) code = 1;
  } finally {
    await receiver.stop();
    await simulator.stop();
  }
  return code;
}

demo().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
