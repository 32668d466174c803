/**
 * Benchmark worker, one fresh process per measured run (run.ts bundles this file with esbuild and
 * starts it with plain `node`, so no TypeScript loader sits in the measured process).
 *
 * It loads the synthesized Lambda asset and invokes its handler the way Lambda does, tick after tick in
 * one warm container, until every stream reports caught-up. Everything the function talks to runs in the
 * harness process, reached through the environment the stack sets (endpoints overridden to loopback).
 *
 * Measured here, per process: wall time and CPU (process.cpuUsage) of the ticks only, and the peak
 * resident set of the whole process (process.resourceUsage().maxRSS), which includes loading the bundle.
 *
 * Usage: node collector-worker.js <handlerPath> <resultPath>
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

interface StreamOutcome {
  stream: string;
  outcome: string;
  events: number;
  pages: number;
  bytes: number;
  error?: unknown;
}
interface TickOutcome {
  ok: boolean;
  streams: StreamOutcome[];
}
type Handler = (
  event: Record<string, unknown>,
  context: { awsRequestId: string; getRemainingTimeInMillis(): number },
) => Promise<TickOutcome>;

/** The stack's function timeout (lib/defaults.ts): each tick gets what a real invocation gets. */
const TICK_BUDGET_MS = 270_000;
/** Bounds: a workload that does not catch up within these is a failed run, not an endless one. */
const MAX_TICKS = 200;
const MAX_WALL_MS = 240_000;

async function main(): Promise<void> {
  const [handlerPath, resultPath] = process.argv.slice(2);
  if (!handlerPath || !resultPath) throw new Error('usage: collector-worker <handlerPath> <resultPath>');
  const loadStart = performance.now();
  // biome-ignore lint/suspicious/noExplicitAny: the asset is plain CommonJS without types.
  const handler = (require(handlerPath) as any).handler as Handler;
  const loadMs = performance.now() - loadStart;

  // Where the memory goes, sampled: V8 heap, and memory outside it (Buffers, zlib).
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  };
  const sampler = setInterval(sample, 50);
  sampler.unref();

  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  let ticks = 0;
  let events = 0;
  let pages = 0;
  let sinkBytes = 0;
  let caughtUp = false;
  while (ticks < MAX_TICKS && performance.now() - wallStart < MAX_WALL_MS) {
    const deadline = Date.now() + TICK_BUDGET_MS;
    const outcome = await handler(
      { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
      { awsRequestId: `bench-tick-${ticks + 1}`, getRemainingTimeInMillis: () => deadline - Date.now() },
    );
    ticks += 1;
    for (const s of outcome.streams) {
      events += s.events;
      pages += s.pages;
      sinkBytes += s.bytes;
      if (s.outcome === 'failed') {
        throw new Error(`stream ${s.stream} failed in tick ${ticks}: ${JSON.stringify(s.error)}`);
      }
    }
    if (outcome.streams.every((s) => s.outcome === 'caught-up')) {
      caughtUp = true;
      break;
    }
  }
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  const usage = process.resourceUsage();
  clearInterval(sampler);
  sample();

  // One more tick with nothing new: what every scheduled tick costs once caught up (not in the figures above).
  const idleCpu = process.cpuUsage();
  const idleStartedAt = Date.now();
  const idleStart = performance.now();
  const idleDeadline = Date.now() + TICK_BUDGET_MS;
  const idleOutcome = await handler(
    { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
    { awsRequestId: 'bench-idle-tick', getRemainingTimeInMillis: () => idleDeadline - Date.now() },
  );
  const idle = {
    wallMs: performance.now() - idleStart,
    cpuMs: (process.cpuUsage(idleCpu).user + process.cpuUsage(idleCpu).system) / 1000,
    startedAt: idleStartedAt,
    endedAt: Date.now(),
    events: idleOutcome.streams.reduce((sum, s) => sum + s.events, 0),
  };
  writeFileSync(
    resultPath,
    JSON.stringify({
      caughtUp,
      ticks,
      events,
      pages,
      sinkBytes,
      loadMs,
      wallMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      maxRssBytes: usage.maxRSS * 1024,
      peakHeapUsedBytes: peak.heapUsed,
      peakHeapTotalBytes: peak.heapTotal,
      peakExternalBytes: peak.external,
      peakArrayBuffersBytes: peak.arrayBuffers,
      idle,
    }),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `collector worker failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
