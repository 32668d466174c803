/**
 * `npm run bench`: the collector's throughput, CPU and memory against the transfer floor, the Lambda
 * asset's size and cold initialisation, and a cost model — measured in one run, on loopback.
 *
 * Processes (2 cores here):
 * - this process, the harness: the Mimecast simulator, the NDJSON receiver, the Secrets Manager/KMS
 *   stub and dynalite (behind a counting proxy). They live here for the whole run so the simulator's
 *   file cache stays warm across runs, and so that none of their CPU or memory is counted in a workload:
 *   the harness takes one core, the measured process the other.
 * - one fresh child per measured run: the synthesized Lambda asset invoked tick after tick
 *   (collector-worker.ts), or the floor (floor-worker.ts). Peak RSS and CPU are that child's alone.
 * - one child for the bundling synth (synth.ts), one per cold-start sample.
 *
 * Flags: --runs N (default 3; medians), --scale F (event counts × F, default 1), --workloads a,b,
 * --profile (also profile one collector run per workload with --cpu-prof, on an unminified bundle of
 * the same code, and print the hottest functions), --baseline <git ref | directory with lambda/> (also
 * run that version's handler, bundled with the asset's esbuild options, alternating with this tree's
 * runs so both meet the same load; adds a before/after table), --node-options "<flags>" (added to the
 * measured collector processes' NODE_OPTIONS, for experiments), --write-doc (rewrite the "Latest run"
 * section of docs/PERFORMANCE.md; without it nothing tracked is written), --help (options.ts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { buildSync, type Metafile } from 'esbuild';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import type { StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { startAwsStub } from '../aws-stub';
import { startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { countingDynamoProxy } from '../support/dynamo-proxy';
import { expectedEventId } from '../support/event-ids';
import type { FloorPlan, FloorRequest } from './floor-worker';
import { BENCH_HELP, type BenchOptions, parseBenchArgs } from './options';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'PERFORMANCE.md');
const SECRET_NAME = 'mimecast-collector/bench';
const CHILD_TIMEOUT_MS = 300_000;
const COLD_SAMPLES = 15;
/** USD, us-east-1 list prices (arm64 Lambda, DynamoDB on-demand, Secrets Manager, KMS). */
const PRICES = {
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
  secretsCall: 0.05 / 10_000,
  kmsCall: 0.03 / 10_000,
};
/** Lambda gives a function CPU in proportion to memory: one full vCPU at 1769 MB (AWS documentation). */
const MB_PER_VCPU = 1769;

// ---------------------------------------------------------------- options

interface Workload {
  id: string;
  title: string;
  stream: StreamId;
  api: 1 | 2;
  events: number;
}

// ---------------------------------------------------------------- small helpers

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const MB = 1024 * 1024;
const fmt = (n: number, digits = 1): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Runs `node <args>` with `env`; resolves with stdout (bounded) or rejects with stderr, within a time bound. */
function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs = CHILD_TIMEOUT_MS,
): Promise<{ stdout: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(process.execPath, args, {
      env,
      cwd: os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // The handler logs one JSON line per stream and tick; keep only a bounded tail of either stream.
    child.stdout?.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-64 * 1024);
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-64 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, wallMs: performance.now() - started });
      else reject(new Error(`node ${args[0]} exited ${code ?? signal}:\n${stderr}\n${stdout.slice(-2000)}`));
    });
  });
}

function bundleWorker(entry: string, outDir: string): string {
  const outfile = path.join(outDir, `${path.basename(entry, '.ts')}.js`);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** The gzip level whose output has the size the collector put on the wire (so the floor posts as many bytes). */
function gzipLevelOf(request: { body: string; wireBytes: number }): number {
  const plain = Buffer.from(request.body, 'utf8');
  for (const level of [6, 1, 2, 3, 4, 5, 7, 8, 9]) {
    if (gzipSync(plain, { level }).length === request.wireBytes) return level;
  }
  throw new Error(`no gzip level reproduces a ${request.wireBytes}-byte sink body`);
}

// ---------------------------------------------------------------- bundle analysis

interface BundleInfo {
  bytes: number;
  mapBytes: number;
  packages: { name: string; bytes: number }[];
}

/** The same esbuild options NodejsFunction uses for the asset, with a metafile: bytes per package. */
function analyseBundle(outDir: string, minify = true, root = ROOT): { info: BundleInfo; outfile: string } {
  const outfile = path.join(outDir, minify ? 'handler.min.js' : 'handler.js');
  const result = buildSync({
    entryPoints: [path.join(root, 'lambda', 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify,
    keepNames: !minify,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    outfile,
    absWorkingDir: root,
    logLevel: 'error',
  });
  const meta = result.metafile as Metafile;
  const output = meta.outputs[Object.keys(meta.outputs).find((k) => k.endsWith('.js'))!]!;
  const byPackage = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
    const at = file.lastIndexOf('node_modules/');
    const name =
      at === -1
        ? `(project) ${file.split('/').slice(0, 2).join('/')}`
        : /^(@[^/]+\/[^/]+|[^/]+)/.exec(file.slice(at + 'node_modules/'.length))![1]!;
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return {
    outfile,
    info: {
      bytes: fs.statSync(outfile).size,
      mapBytes: fs.statSync(`${outfile}.map`).size,
      packages: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    },
  };
}

// ---------------------------------------------------------------- cpu profile summary

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time per function of a .cpuprofile, hottest first. */
function summariseProfile(file: string, top = 18): { fn: string; selfPct: number }[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, t]) => ({ fn, selfPct: (100 * t) / total }));
}

// ---------------------------------------------------------------- results

interface MemoryProbe {
  label: string;
  events: number;
  decodedMb: number;
  batch: string;
  rssMb: number;
  heapMb: number;
  externalMb: number;
}

interface ColdSummary {
  initMs: number;
  loadMs: number;
  buildMs: number;
  sinceStartMs: number;
  processMs: number;
  rssMb: number;
  initNoSourceMapsMs: number;
}

interface CollectorResult {
  caughtUp: boolean;
  ticks: number;
  events: number;
  pages: number;
  sinkBytes: number;
  loadMs: number;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssBytes: number;
  peakHeapUsedBytes: number;
  peakHeapTotalBytes: number;
  peakExternalBytes: number;
  peakArrayBuffersBytes: number;
  idle: { wallMs: number; cpuMs: number; startedAt: number; endedAt: number };
}

interface FloorResult {
  requests: number;
  posts: number;
  readBytes: number;
  postedBytes: number;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssBytes: number;
  decodedBytes?: number;
}

interface RunRecord {
  collector: CollectorResult;
  floor: FloorResult;
  sinkRequests: number;
  sinkWireBytes: number;
  sinkPlainBytes: number;
  dynamo: Record<string, number>;
  idleDynamo: Record<string, number>;
  secretsCalls: number;
  kmsCalls: number;
  idsChecksum: string;
}

interface WorkloadSummary {
  workload: Workload;
  /** Events delivered per run (distinct records of the source). */
  events: number;
  runs: RunRecord[];
  decodedSourceBytes: number;
  wireSourceBytes: number;
  collector: { eps: number; mbps: number; cpuPerMillion: number; rssMb: number; wallS: number };
  floor: { eps: number; mbps: number; cpuPerMillion: number; rssMb: number; wallS: number };
  ratio: number;
  profile?: { fn: string; selfPct: number }[];
  /** The same workload with the baseline's handler (--baseline). */
  baseline?: WorkloadSummary;
}

function summarise(workload: Workload, runs: RunRecord[], decoded: number): WorkloadSummary {
  const events = runs[0]!.collector.events;
  const wire = runs[0]!.floor.readBytes;
  const c = (f: (r: RunRecord) => number) => median(runs.map(f));
  const collectorWall = c((r) => r.collector.wallMs) / 1000;
  const floorWall = c((r) => r.floor.wallMs) / 1000;
  const collectorCpu = c((r) => r.collector.cpuUserMs + r.collector.cpuSystemMs) / 1000;
  const floorCpu = c((r) => r.floor.cpuUserMs + r.floor.cpuSystemMs) / 1000;
  const collectorEps = median(runs.map((r) => r.collector.events / (r.collector.wallMs / 1000)));
  const floorEps = median(runs.map((r) => events / (r.floor.wallMs / 1000)));
  return {
    workload,
    events,
    runs,
    decodedSourceBytes: decoded,
    wireSourceBytes: wire,
    collector: {
      eps: collectorEps,
      mbps: decoded / MB / collectorWall,
      cpuPerMillion: (collectorCpu * 1e6) / events,
      rssMb: c((r) => r.collector.maxRssBytes) / MB,
      wallS: collectorWall,
    },
    floor: {
      eps: floorEps,
      mbps: decoded / MB / floorWall,
      cpuPerMillion: (floorCpu * 1e6) / events,
      rssMb: c((r) => r.floor.maxRssBytes) / MB,
      wallS: floorWall,
    },
    ratio: collectorEps / floorEps,
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `bench: ${error instanceof Error ? error.message : String(error)}\nSee \`npm run bench -- --help\`.\n`,
    );
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(BENCH_HELP);
    return;
  }
  const options = parsed;
  const benchStarted = performance.now();
  const loadAtStart = loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mimecast-bench-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [
    () => fs.rmSync(work, { recursive: true, force: true }),
  ];
  try {
    const scaled = (n: number) => Math.max(1000, Math.round(n * options.scale));
    const all: Workload[] = [
      {
        id: 'siem-v1',
        title: 'SIEM API 1.0: one zip file, JSON, one log type',
        stream: 'siem',
        api: 1,
        events: scaled(200_000),
      },
      {
        id: 'siem-v2',
        title: 'SIEM API 2.0: gzip NDJSON batch files of 2,000 events',
        stream: 'siem',
        api: 2,
        events: scaled(200_000),
      },
      {
        id: 'audit',
        title: 'audit (API 2.0): paged JSON, 500 per page',
        stream: 'audit',
        api: 2,
        events: scaled(150_000),
      },
    ];
    const workloads = options.workloads ? all.filter((w) => options.workloads!.includes(w.id)) : all;
    if (workloads.length === 0) throw new Error(`--workloads must name some of ${all.map((w) => w.id)}`);

    // 1. The asset, as `cdk synth` builds it, and what is in it.
    log('synthesizing the stack with bundling (real esbuild asset)…');
    const synthOut = await runNode(
      [
        path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        path.join(ROOT, 'test', 'bench', 'synth.ts'),
        path.join(work, 'asset'),
      ],
      { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() },
      180_000,
    );
    const synth = JSON.parse(synthOut.stdout.trim().split('\n').pop()!) as {
      handlerPath: string;
      bundleBytes: number;
      mapBytes: number;
      environment: Record<string, string>;
      memorySizeMb: number;
      synthMs: number;
    };
    const bundle = analyseBundle(work).info;
    log(`asset ${int(synth.bundleBytes)} bytes (metafile build ${int(bundle.bytes)})`);

    const collectorJs = bundleWorker(path.join(ROOT, 'test', 'bench', 'collector-worker.ts'), work);
    const floorJs = bundleWorker(path.join(ROOT, 'test', 'bench', 'floor-worker.ts'), work);
    const profileHandler = options.profile ? analyseBundle(work, false).outfile : undefined;

    // The baseline: the handler of a committed version, bundled with the asset's esbuild options, run
    // alternately with this tree's asset so both meet the same machine load.
    let baseline: { label: string; handlerPath: string; bundle: BundleInfo } | undefined;
    if (options.baseline !== undefined) {
      const tree = path.join(work, 'baseline');
      fs.mkdirSync(tree);
      let label: string;
      if (fs.existsSync(path.join(options.baseline, 'lambda', 'handler.ts'))) {
        // A directory holding another version's lambda/ (an experiment).
        fs.cpSync(path.join(options.baseline, 'lambda'), path.join(tree, 'lambda'), { recursive: true });
        label = `baseline ${options.baseline}`;
      } else {
        // A commit: read with `git archive` (nothing in the repository changes).
        const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', options.baseline], {
          encoding: 'utf8',
        }).trim();
        const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', commit, 'lambda'], {
          maxBuffer: 256 * MB,
        });
        execFileSync('tar', ['-x', '-C', tree], { input: archive });
        label = `baseline ${commit}`;
      }
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
      const out = path.join(work, 'baseline-out');
      fs.mkdirSync(out);
      const built = analyseBundle(out, true, tree);
      baseline = { label, handlerPath: built.outfile, bundle: built.info };
      log(`${label}: handler bundle ${int(built.info.bytes)} bytes`);
    }

    // 2. The world, in this process.
    const maxEvents = (stream: StreamId, api: 1 | 2) =>
      Math.max(0, ...workloads.filter((w) => w.stream === stream && w.api === api).map((w) => w.events));
    const simulatorWith = (siemEvents: number, auditEvents: number, v1EventsPerFile: number) =>
      startSimulator({
        seed: 8,
        events: { siem: Math.max(siemEvents, 1), audit: Math.max(auditEvents, 1) },
        siem: {
          v1FileFormat: 'json',
          v1LogTypes: ['receipt'],
          v1EventsPerFile: Math.max(v1EventsPerFile, 1),
          v2EventsPerFile: 2000,
          fileIntervalMs: 0,
        },
        tokenRateLimit: { capacity: 10_000, refillPerSecond: 100 },
        maxRecordedRequests: 200_000,
      });
    const simulator = await simulatorWith(
      Math.max(maxEvents('siem', 1), maxEvents('siem', 2)),
      maxEvents('audit', 2),
      maxEvents('siem', 1),
    );
    cleanups.push(() => simulator.stop());
    const receiver = await startReceiver({ kind: 'ndjson' });
    cleanups.push(() => receiver.stop());
    const aws = await startAwsStub({ secrets: { [SECRET_NAME]: '{"configured":false}' } });
    cleanups.push(() => aws.stop());
    const dynamo = await openLocalCheckpointStore({});
    cleanups.push(() => dynamo.close());
    const proxy = await countingDynamoProxy(dynamo.endpoint);
    cleanups.push(() => proxy.stop());

    const envFor = (
      instance: string,
      workload: Workload,
      sim: RunningSimulator = simulator,
    ): Record<string, string> => ({
      PATH: process.env.PATH ?? '',
      ...synth.environment,
      [ENV.instance]: instance,
      [ENV.apiVersion]: String(workload.api),
      [ENV.mimecastBaseUrl]: sim.url,
      [ENV.streams]: workload.stream,
      [ENV.collectionStart]: `${new Date(Date.now() - 26 * 3600_000).toISOString().slice(0, 19)}Z`,
      [ENV.sinkUrl]: receiver.url,
      [ENV.sinkFormat]: 'ndjson',
      [ENV.secretArn]: aws.secretArn(SECRET_NAME),
      [ENV.checkpointTable]: dynamo.tableName,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
      AWS_ENDPOINT_URL_KMS: aws.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
    });

    /** The secret as `configure` writes it: every field KMS-wrapped under the instance's context. */
    const storeCredentials = (instance: string, api: 1 | 2, sim: RunningSimulator) => {
      const creds = api === 2 ? sim.credentials.v2 : sim.credentials.v1;
      const doc: Record<string, string | number> = {};
      for (const [key, value] of Object.entries(creds)) {
        doc[key] =
          key === 'apiVersion' ? value : `kms:${aws.encrypt(String(value), { collector: instance })}`;
      }
      aws.putSecret(SECRET_NAME, JSON.stringify(doc));
    };

    /**
     * The ids every run must deliver, from the simulator's ground truth: one per distinct record (the
     * generator can repeat a record exactly; the collector drops such repeats by design).
     */
    const expectedCache = new Map<string, Set<string>>();
    /**
     * `bytes`: SIEM records identified by their text as the file holds it (this tree,
     * test/support/event-ids.ts); `canonical`: by canonical JSON, as a baseline from before that change
     * (README, upgrade notes) identifies them. Paged streams are the same under both.
     */
    const expectedIds = (
      workload: Workload,
      sim: RunningSimulator,
      rule: 'bytes' | 'canonical',
    ): Set<string> => {
      const cacheKey = `${workload.id} ${rule}`;
      let ids = expectedCache.get(cacheKey);
      if (!ids) {
        const records = sim.groundTruth(workload.stream, workload.api);
        const canonical = rule === 'canonical';
        if (workload.stream === 'siem' && workload.api === 1) {
          // One file holds every event, and the collector numbers identical records per file
          // (lambda/core/occurrences.ts): the n-th copy is an event of its own with its own id.
          const numbered = new OccurrenceIds(workload.stream);
          ids = new Set(
            records.map((r) => (canonical ? numbered.idOf(r) : numbered.idOfText(JSON.stringify(r)))),
          );
        } else {
          ids = new Set(records.map((r) => expectedEventId(workload.stream, r, { canonical })));
        }
        expectedCache.set(cacheKey, ids);
      }
      return ids;
    };

    let runCounter = 0;
    /** Collector runs started again after a transient failure (reported with the results). */
    const retried: string[] = [];
    /** One collector run, then the floor replaying exactly what it moved. */
    const measure = async (
      workload: Workload,
      mode: {
        decoded?: boolean;
        profileDir?: string;
        handlerPath?: string;
        sim?: RunningSimulator;
        env?: Record<string, string>;
      } = {},
    ): Promise<RunRecord & { decodedBytes?: number }> => {
      const sim = mode.sim ?? simulator;
      let instance = '';
      let dynamoFrom = 0;
      let resultPath = '';
      // A run whose stream failed for a transient reason (a loopback socket closed mid-answer) is started
      // again once with a fresh checkpoint; Lambda would resume it at the next tick. Bounded: two tries.
      for (let attempt = 1; ; attempt++) {
        runCounter += 1;
        instance = `bench-${workload.id}-${runCounter}`;
        storeCredentials(instance, workload.api, sim);
        receiver.reset();
        sim.clearRequests();
        aws.resetCalls();
        dynamoFrom = proxy.calls.length;
        resultPath = path.join(work, `collector-${runCounter}.json`);
        const nodeArgs = mode.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${mode.profileDir}`] : [];
        const env = { ...envFor(instance, workload, sim), ...mode.env };
        if (options.nodeOptions !== undefined)
          env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} ${options.nodeOptions}`.trim();
        try {
          await runNode(
            [
              ...nodeArgs,
              collectorJs,
              mode.profileDir ? profileHandler! : (mode.handlerPath ?? synth.handlerPath),
              resultPath,
            ],
            env,
          );
          break;
        } catch (error) {
          const message = String(error);
          if (attempt >= 2 || !message.includes('"kind":"transient"')) throw error;
          const reason = /"message":"([^"]{0,200})/.exec(message)?.[1] ?? 'transient failure';
          retried.push(`${workload.id}: ${reason}`);
          log(`${workload.id}: run failed (${reason}); starting it again`);
        }
      }
      const collector = JSON.parse(fs.readFileSync(resultPath, 'utf8')) as CollectorResult;
      const ingest = receiver.ingestRequests();
      const ids = receiver.ids();
      const known = (set: Set<string>) => ids.filter((id) => !set.has(id)).length;
      let expected = expectedIds(workload, sim, 'bytes');
      let missing = known(expected);
      if (missing > 0 && known(expectedIds(workload, sim, 'canonical')) === 0) {
        expected = expectedIds(workload, sim, 'canonical');
        missing = 0;
      }
      if (
        !collector.caughtUp ||
        collector.events !== expected.size ||
        ids.length !== expected.size ||
        new Set(ids).size !== ids.length ||
        missing > 0
      ) {
        throw new Error(
          `${workload.id}: delivered ${collector.events} events (caught up: ${collector.caughtUp}), receiver holds ` +
            `${ids.length} ids (${new Set(ids).size} distinct, ${missing} unknown); ground truth has ${expected.size} distinct events`,
        );
      }
      const idsChecksum = createHash('sha256')
        .update([...ids].sort().join('\n'))
        .digest('hex')
        .slice(0, 16);
      const dynamoCalls = proxy.calls.slice(dynamoFrom);
      const count = (calls: { op: string }[]) => {
        const counts: Record<string, number> = {};
        for (const { op } of calls) counts[op] = (counts[op] ?? 0) + 1;
        return counts;
      };
      const idleCalls = dynamoCalls.filter(
        (c) => c.at >= collector.idle.startedAt && c.at <= collector.idle.endedAt,
      );
      const awsCalls = aws.calls();

      // The floor: same Mimecast requests, same sink bodies (compressed here, before it starts).
      const recorded = sim.requests().filter((r) => r.status >= 200 && r.status < 300);
      const requests: FloorRequest[] = recorded
        .filter((r) => r.at <= collector.idle.startedAt)
        .map((r) => ({
          method: r.method,
          path: r.path,
          query: r.query,
          headers: Object.fromEntries(
            Object.entries(r.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
          ),
          body: r.body,
          api: r.api,
        }));
      const sent = ingest.filter((r) => r.receivedAt <= collector.idle.startedAt);
      const level = gzipLevelOf(sent[0]!);
      const bodies = sent.map((r) => gzipSync(Buffer.from(r.body, 'utf8'), { level }));
      const bodiesPath = path.join(work, `bodies-${runCounter}.bin`);
      fs.writeFileSync(bodiesPath, Buffer.concat(bodies));
      const plan: FloorPlan = {
        simUrl: sim.url,
        receiverUrl: receiver.url,
        v1Credentials: workload.api === 1 ? sim.credentials.v1 : undefined,
        requests,
        bodiesPath,
        bodySizes: bodies.map((b) => b.length),
      };
      const planPath = path.join(work, `plan-${runCounter}.json`);
      fs.writeFileSync(planPath, JSON.stringify(plan));
      receiver.reset();
      const floorPath = path.join(work, `floor-${runCounter}.json`);
      await runNode([floorJs, planPath, floorPath, ...(mode.decoded ? ['--decoded'] : [])], {
        PATH: process.env.PATH ?? '',
      });
      const floor = JSON.parse(fs.readFileSync(floorPath, 'utf8')) as FloorResult;
      receiver.reset();
      fs.rmSync(bodiesPath, { force: true });
      return {
        collector,
        floor,
        sinkRequests: bodies.length,
        sinkWireBytes: ingest.reduce((s, r) => s + r.wireBytes, 0),
        sinkPlainBytes: ingest.reduce((s, r) => s + Buffer.byteLength(r.body), 0),
        dynamo: count(dynamoCalls.filter((c) => c.at < collector.idle.startedAt)),
        idleDynamo: count(idleCalls),
        secretsCalls: awsCalls.filter((c) => c.service === 'secretsmanager').length,
        kmsCalls: awsCalls.filter((c) => c.service === 'kms').length,
        idsChecksum,
        decodedBytes: floor.decodedBytes,
      };
    };

    // 3. Workloads: one unmeasured warm-up (fills the simulator's file cache, sizes the source), then N runs.
    const summaries: WorkloadSummary[] = [];
    for (const workload of workloads) {
      log(`${workload.id}: warm-up run (${int(workload.events)} events)…`);
      const warm = await measure(workload, { decoded: true });
      const decoded = warm.decodedBytes ?? 0;
      log(
        `${workload.id}: source ${fmt(decoded / MB)} MB decoded, ${fmt(warm.floor.readBytes / MB)} MB on the wire`,
      );
      const runs: RunRecord[] = [];
      const baselineRuns: RunRecord[] = [];
      for (let i = 0; i < options.runs; i++) {
        const variants = baseline ? [undefined, baseline.handlerPath] : [undefined];
        // Alternate which goes first, so neither always follows the other.
        if (i % 2 === 1) variants.reverse();
        for (const handlerPath of variants) {
          const run = await measure(workload, { handlerPath });
          // Every run of one handler delivers the same ids; a baseline may identify SIEM records by
          // another rule (README, upgrade notes), so its runs are compared with its own first run.
          const reference = handlerPath === undefined ? warm.idsChecksum : baselineRuns[0]?.idsChecksum;
          if (reference !== undefined && run.idsChecksum !== reference)
            throw new Error(`${workload.id}: event ids differ between runs`);
          (handlerPath === undefined ? runs : baselineRuns).push(run);
          log(
            `${workload.id} run ${i + 1}/${options.runs}${handlerPath === undefined ? '' : ` (${baseline!.label})`}: ` +
              `collector ${fmt(run.collector.wallMs / 1000, 2)} s, ` +
              `${int(run.collector.events / (run.collector.wallMs / 1000))} ev/s, peak RSS ${fmt(run.collector.maxRssBytes / MB)} MB ` +
              `(heap ${fmt(run.collector.peakHeapUsedBytes / MB)} used / ${fmt(run.collector.peakHeapTotalBytes / MB)} total, external ${fmt(run.collector.peakExternalBytes / MB)}); ` +
              `floor ${fmt(run.floor.wallMs / 1000, 2)} s`,
          );
        }
      }
      const summary = summarise(workload, runs, decoded);
      if (baseline) summary.baseline = summarise(workload, baselineRuns, decoded);
      if (options.profile) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mimecast-bench-profile-${workload.id}-`));
        await measure(workload, { profileDir: dir });
        const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (file) {
          summary.profile = summariseProfile(path.join(dir, file));
          log(`${workload.id}: profile in ${path.join(dir, file)}`);
        }
      }
      summaries.push(summary);
    }

    // 4. Memory against file size and batch size: one collector run each, the SIEM 1.0 file workload.
    const memory: MemoryProbe[] = [];
    const v1 = summaries.find((x) => x.workload.id === 'siem-v1');
    if (v1 !== undefined) {
      const probe = async (
        label: string,
        workload: Workload,
        sim: RunningSimulator,
        env?: Record<string, string>,
      ) => {
        const run = await measure(workload, { sim, env, decoded: true });
        memory.push({
          label,
          events: run.collector.events,
          decodedMb: (run.decodedBytes ?? 0) / MB,
          batch:
            env?.[ENV.batchMaxEvents] === undefined
              ? '5,000 (default)'
              : int(Number(env[ENV.batchMaxEvents])),
          rssMb: run.collector.maxRssBytes / MB,
          heapMb: run.collector.peakHeapUsedBytes / MB,
          externalMb: run.collector.peakExternalBytes / MB,
        });
        log(`memory: ${label}: peak RSS ${fmt(run.collector.maxRssBytes / MB)} MB`);
      };
      memory.push({
        label: 'the workload above (median)',
        events: v1.events,
        decodedMb: v1.decodedSourceBytes / MB,
        batch: '5,000 (default)',
        rssMb: v1.collector.rssMb,
        heapMb: median(v1.runs.map((r) => r.collector.peakHeapUsedBytes)) / MB,
        externalMb: median(v1.runs.map((r) => r.collector.peakExternalBytes)) / MB,
      });
      await probe('same file, batches of 1,000 events', v1.workload, simulator, {
        [ENV.batchMaxEvents]: '1000',
      });
      for (const [factor, label, id] of [
        [1 / 4, 'a file a quarter the size', 'siem-v1-quarter'],
        [2, 'a file twice the size', 'siem-v1-double'],
      ] as const) {
        const events = Math.round(v1.workload.events * factor);
        const sized = await simulatorWith(events, 1, events);
        try {
          await probe(label, { ...v1.workload, id, events }, sized);
        } finally {
          await sized.stop();
        }
      }
    }

    // 5. Cold initialisation of the asset: fresh processes, the stack's NODE_OPTIONS included.
    log(`cold initialisation: ${COLD_SAMPLES} fresh processes…`);
    const coldRunner = (handlerPath: string) => `
      const { performance } = require('node:perf_hooks');
      const t0 = performance.now();
      const mod = require(${JSON.stringify(handlerPath)});
      const t1 = performance.now();
      // An unknown stream fails in collectTick right after the container's adapters are built, before any call.
      mod.handler({ streams: ['none'] }, { awsRequestId: 'cold', getRemainingTimeInMillis: () => 60000 })
        .then(() => { throw new Error('expected a ConfigError'); }, (e) => {
          if (e.kind !== 'config') throw e;
          const t2 = performance.now();
          process.stdout.write(JSON.stringify({ loadMs: t1 - t0, buildMs: t2 - t1, sinceStartMs: t2, rss: process.memoryUsage().rss }) + '\\n');
          process.exit(0);
        });`;
    const coldEnv = envFor('bench-cold', workloads[0]!);
    const coldStart = async (handlerPath: string): Promise<ColdSummary> => {
      const cold: {
        loadMs: number;
        buildMs: number;
        sinceStartMs: number;
        processMs: number;
        rss: number;
      }[] = [];
      const coldNoMaps: number[] = [];
      for (let i = 0; i < COLD_SAMPLES; i++) {
        const out = await runNode(['-e', coldRunner(handlerPath)], coldEnv, 30_000);
        cold.push({ ...JSON.parse(out.stdout.trim().split('\n').pop()!), processMs: out.wallMs });
        const plain = await runNode(
          ['-e', coldRunner(handlerPath)],
          { ...coldEnv, NODE_OPTIONS: '' },
          30_000,
        );
        const p = JSON.parse(plain.stdout.trim().split('\n').pop()!);
        coldNoMaps.push(p.loadMs + p.buildMs);
      }
      return {
        initMs: median(cold.map((c) => c.loadMs + c.buildMs)),
        loadMs: median(cold.map((c) => c.loadMs)),
        buildMs: median(cold.map((c) => c.buildMs)),
        sinceStartMs: median(cold.map((c) => c.sinceStartMs)),
        processMs: median(cold.map((c) => c.processMs)),
        rssMb: median(cold.map((c) => c.rss)) / MB,
        initNoSourceMapsMs: median(coldNoMaps),
      };
    };
    const coldSummary = await coldStart(synth.handlerPath);
    const baselineCold = baseline ? await coldStart(baseline.handlerPath) : undefined;

    const totalS = (performance.now() - benchStarted) / 1000;
    const report = renderReport({
      options,
      summaries,
      bundle,
      synth,
      cold: coldSummary,
      memory,
      retried,
      baseline: baseline
        ? { label: baseline.label, bundle: baseline.bundle, cold: baselineCold! }
        : undefined,
      totalS,
      load: `${loadAtStart} / ${loadavg()}`,
      args: process.argv.slice(2),
    });
    process.stdout.write(`${report}\n`);
    if (options.writeDoc) {
      writeDocSection(report);
      log(`results written to ${path.relative(ROOT, DOC)}`);
    }
    log(`done in ${fmt(totalS)} s`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`clean-up failed: ${String(error)}`);
      }
    }
  }
}

// ---------------------------------------------------------------- report

function machine(): string {
  const cpu =
    /model name\s*:\s*(.+)/.exec(
      fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '',
    )?.[1] ??
    os.cpus()[0]?.model ??
    'unknown';
  return `nproc ${os.availableParallelism()}, ${cpu.trim()}, ${fmt(os.totalmem() / 1024 ** 3)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

function renderReport(input: {
  options: BenchOptions;
  summaries: WorkloadSummary[];
  bundle: BundleInfo;
  synth: { bundleBytes: number; mapBytes: number; memorySizeMb: number };
  cold: ColdSummary;
  memory: MemoryProbe[];
  retried: string[];
  baseline?: { label: string; bundle: BundleInfo; cold: ColdSummary };
  totalS: number;
  load: string;
  args: string[];
}): string {
  const { summaries, synth, cold, bundle } = input;
  const lines: string[] = [];
  lines.push(`Measured ${new Date().toISOString().slice(0, 16)}Z on: ${machine()}.`);
  lines.push(
    `Command: \`npm run bench${input.args.length === 0 ? '' : ` -- ${input.args.join(' ')}`}\`; medians of ${input.options.runs} runs per workload; whole run ${fmt(input.totalS, 0)} s.`,
  );
  lines.push('');
  lines.push(
    '| workload | events | source MB (decoded / wire) | | events/s | MB/s | CPU s per M events | peak RSS MB | wall s |',
  );
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|---:|');
  for (const s of summaries) {
    const src = `${fmt(s.decodedSourceBytes / MB)} / ${fmt(s.wireSourceBytes / MB)}`;
    lines.push(
      `| ${s.workload.id} | ${int(s.events)} | ${src} | collector | ${int(s.collector.eps)} | ${fmt(s.collector.mbps)} | ${fmt(s.collector.cpuPerMillion)} | ${fmt(s.collector.rssMb)} | ${fmt(s.collector.wallS, 2)} |`,
    );
    lines.push(
      `| | | | floor | ${int(s.floor.eps)} | ${fmt(s.floor.mbps)} | ${fmt(s.floor.cpuPerMillion)} | ${fmt(s.floor.rssMb)} | ${fmt(s.floor.wallS, 2)} |`,
    );
    lines.push(`| | | | **collector ÷ floor** | **${fmt(s.ratio, 2)}** | | | | |`);
  }
  lines.push('');
  lines.push(
    `Event ids (sha256 of the sorted ids delivered, identical in every run of a workload): ${summaries
      .map((s) => `${s.workload.id} \`${s.runs[0]!.idsChecksum}\``)
      .join(', ')}. Load average at the start and end of the run: ${input.load}.`,
  );
  if (input.retried.length > 0) {
    lines.push('');
    lines.push(
      `Collector runs started again after a transient failure (not counted): ${input.retried.length} — ${input.retried.join('; ')}.`,
    );
  }
  lines.push('');
  lines.push(
    'MB/s is decoded source data (the JSON/NDJSON the collector parses) per second of wall time. ' +
      'CPU is user + system of the measuring process only; peak RSS is its `maxRSS`.',
  );
  lines.push('');
  lines.push(
    '| workload | pages | ticks | sink requests | sink MB (plain / gzip) | DynamoDB writes | writes per page | Secrets Manager calls | KMS calls |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of summaries) {
    const r = s.runs[0]!;
    const writes = (r.dynamo.UpdateItem ?? 0) + (r.dynamo.PutItem ?? 0) + (r.dynamo.DeleteItem ?? 0);
    lines.push(
      `| ${s.workload.id} | ${r.collector.pages} | ${r.collector.ticks} | ${r.sinkRequests} | ${fmt(r.sinkPlainBytes / MB)} / ${fmt(r.sinkWireBytes / MB)} | ${writes} | ${fmt(writes / Math.max(1, r.collector.pages), 2)} | ${r.secretsCalls} | ${r.kmsCalls} |`,
    );
  }
  if (input.memory.length > 0) {
    lines.push('');
    lines.push(
      'Peak memory of the collector process against file size and batch size (SIEM API 1.0, one zip file):',
    );
    lines.push('');
    lines.push(
      '| run | events in the file | file MB decoded | batch (events) | peak RSS MB | peak V8 heap used MB | peak external MB |',
    );
    lines.push('|---|---:|---:|---|---:|---:|---:|');
    for (const m of input.memory) {
      lines.push(
        `| ${m.label} | ${int(m.events)} | ${fmt(m.decodedMb)} | ${m.batch} | ${fmt(m.rssMb)} | ${fmt(m.heapMb)} | ${fmt(m.externalMb)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    `Lambda asset (real bundling synth): **${fmt(synth.bundleBytes / MB, 2)} MiB** (${int(synth.bundleBytes)} bytes; source map ${fmt(synth.mapBytes / MB, 2)} MiB, not loaded unless an error is mapped). ` +
      `Largest parts (esbuild metafile, same options): ${bundle.packages
        .slice(0, 8)
        .map((p) => `${p.name} ${int(p.bytes / 1024)} KiB`)
        .join(', ')}.`,
  );
  lines.push('');
  lines.push(
    `Cold initialisation, median of ${COLD_SAMPLES} fresh processes with the stack's environment (NODE_OPTIONS=--enable-source-maps): ` +
      `**${fmt(cold.initMs)} ms** to load the asset and build the adapters (load ${fmt(cold.loadMs)} ms + build ${fmt(cold.buildMs)} ms; ` +
      `${fmt(cold.initNoSourceMapsMs)} ms without --enable-source-maps); ${fmt(cold.sinceStartMs)} ms from process start; ` +
      `${fmt(cold.processMs)} ms spawn to exit; RSS ${fmt(cold.rssMb)} MB.`,
  );
  if (input.baseline !== undefined) {
    const b = input.baseline;
    lines.push('');
    lines.push(
      `Before / after: ${b.label} (its handler bundled with the asset's esbuild options) against this tree, ` +
        'runs alternated within this one run so both met the same machine load:',
    );
    lines.push('');
    lines.push(
      '| workload | events/s before → after | × | collector ÷ floor before → after | CPU s per M events before → after | peak RSS MB before → after |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const s of summaries) {
      const before = s.baseline!;
      lines.push(
        `| ${s.workload.id} | ${int(before.collector.eps)} → ${int(s.collector.eps)} | ${fmt(s.collector.eps / before.collector.eps, 2)} | ` +
          `${fmt(before.ratio, 2)} → ${fmt(s.ratio, 2)} | ${fmt(before.collector.cpuPerMillion)} → ${fmt(s.collector.cpuPerMillion)} | ` +
          `${fmt(before.collector.rssMb)} → ${fmt(s.collector.rssMb)} |`,
      );
    }
    lines.push(
      `| bundle | ${fmt(b.bundle.bytes / MB, 2)} MiB → ${fmt(synth.bundleBytes / MB, 2)} MiB | | | | |`,
    );
    lines.push(
      `| cold init (load + build adapters) | ${fmt(b.cold.initMs)} ms → ${fmt(cold.initMs)} ms | | | | |`,
    );
  }
  lines.push('');
  lines.push(...costModel(summaries, synth.memorySizeMb));
  const profiled = summaries.filter((s) => s.profile);
  if (profiled.length > 0) {
    lines.push('');
    lines.push('Hottest functions (self time, one profiled collector run per workload, unminified bundle):');
    for (const s of profiled) {
      lines.push('');
      lines.push(`- ${s.workload.id}: ${s.profile!.map((p) => `${p.fn} ${fmt(p.selfPct)}%`).join('; ')}`);
    }
  }
  return lines.join('\n');
}

function costModel(summaries: WorkloadSummary[], memoryMb: number): string[] {
  const gb = memoryMb / 1024;
  const vcpu = Math.min(1, memoryMb / MB_PER_VCPU);
  const lines: string[] = [];
  lines.push(
    `Cost per million events forwarded (function memory ${memoryMb} MB = ${fmt(gb, 2)} GB, ≈ ${fmt(vcpu, 2)} vCPU on Lambda; ` +
      'Lambda seconds estimated as max(measured wall, measured CPU ÷ vCPU share), assuming a Lambda arm64 core matches a core here):',
  );
  lines.push('');
  lines.push(
    '| workload | est. Lambda s / M | GB-s / M | Lambda USD / M | DynamoDB writes / M | DynamoDB USD / M | total USD / M |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  const perMillion: { id: string; usd: number; idle: RunRecord }[] = [];
  for (const s of summaries) {
    const r = s.runs[0]!;
    const seconds = Math.max(s.collector.wallS, (s.collector.cpuPerMillion * s.events) / 1e6 / vcpu);
    const perM = 1e6 / s.events;
    const lambdaS = seconds * perM;
    const gbs = lambdaS * gb;
    const lambdaUsd = gbs * PRICES.lambdaGbSecond + r.collector.ticks * perM * PRICES.lambdaRequest;
    const writes = ((r.dynamo.UpdateItem ?? 0) + (r.dynamo.PutItem ?? 0)) * perM;
    const dynamoUsd = writes * PRICES.dynamoWrite + (r.dynamo.GetItem ?? 0) * perM * PRICES.dynamoRead;
    perMillion.push({ id: s.workload.id, usd: lambdaUsd + dynamoUsd, idle: r });
    lines.push(
      `| ${s.workload.id} | ${fmt(lambdaS)} | ${fmt(gbs)} | ${fmt(lambdaUsd, 4)} | ${int(writes)} | ${fmt(dynamoUsd, 4)} | ${fmt(lambdaUsd + dynamoUsd, 4)} |`,
    );
  }
  // A tenant with 5 million events a day, a 5-minute schedule: the costliest workload's rate per event,
  // plus 288 ticks a day, each with the idle tick's measured cost and a fresh credentials read.
  const worst = perMillion.reduce((a, b) => (b.usd > a.usd ? b : a));
  const idle = worst.idle;
  const idleSeconds = Math.max(idle.collector.idle.wallMs / 1000, idle.collector.idle.cpuMs / 1000 / vcpu);
  const idleWrites = (idle.idleDynamo.UpdateItem ?? 0) + (idle.idleDynamo.PutItem ?? 0);
  const ticks = 288;
  const perTick =
    idleSeconds * gb * PRICES.lambdaGbSecond +
    PRICES.lambdaRequest +
    idleWrites * PRICES.dynamoWrite +
    idle.secretsCalls * PRICES.secretsCall +
    idle.kmsCalls * PRICES.kmsCall;
  const daily = 5 * worst.usd + ticks * perTick;
  lines.push('');
  lines.push(
    `Per tick, measured: one caught-up tick of the same stream took ${fmt(idle.collector.idle.wallMs)} ms wall and ${fmt(idle.collector.idle.cpuMs)} ms CPU, ` +
      `${idleWrites} DynamoDB writes; a tick that reads the credentials (the cache lasts 5 minutes, so with the 5-minute schedule assume every tick) ` +
      `makes ${idle.secretsCalls} Secrets Manager call(s) and ${idle.kmsCalls} KMS Decrypt calls (one per wrapped field).`,
  );
  lines.push('');
  lines.push(
    `A tenant with 5 million events a day at the costliest measured rate (${worst.id}) and a 5-minute schedule (${ticks} ticks): ` +
      `5 × ${fmt(worst.usd, 4)} + ${ticks} × ${fmt(perTick, 6)} = **USD ${fmt(daily, 3)} a day, about USD ${fmt(daily * 30, 2)} a month** ` +
      '(Lambda, DynamoDB, Secrets Manager and KMS calls; the fixed monthly items — metrics, alarms, keys, the secret — are in README.md).',
  );
  return lines;
}

const BEGIN = '<!-- bench:begin (written by `npm run bench`) -->';
const END = '<!-- bench:end -->';

function writeDocSection(report: string): void {
  const section = `${BEGIN}\n${report}\n${END}`;
  let doc = fs.existsSync(DOC)
    ? fs.readFileSync(DOC, 'utf8')
    : `# Performance\n\n## Latest run\n\n${BEGIN}\n${END}\n`;
  if (!doc.includes(BEGIN) || !doc.includes(END)) doc += `\n## Latest run\n\n${BEGIN}\n${END}\n`;
  doc = doc.slice(0, doc.indexOf(BEGIN)) + section + doc.slice(doc.indexOf(END) + END.length);
  fs.writeFileSync(DOC, doc);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
