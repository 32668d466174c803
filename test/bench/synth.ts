/**
 * Benchmark helper, run in its own process by run.ts: a real bundling synth of the stack (the same
 * `synthesizeBundled` the artifact tests use), so the benchmark measures the asset Lambda would run.
 * Kept out of the harness process so aws-cdk-lib never shares a heap or a core with the simulator and
 * receiver. The CDK removes its temporary assembly when this process exits, so the asset is copied
 * to `<destDir>` first. Prints one JSON line: where the copy is and the function's settings.
 *
 * Usage: tsx test/bench/synth.ts <destDir>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesizeBundled } from '../infra/helpers';

const destDir = process.argv[2];
if (!destDir) throw new Error('usage: synth.ts <destDir>');
const started = Date.now();
const synth = synthesizeBundled('bench');
const fn = Object.values<{ Type: string; Properties: { MemorySize: number } }>(synth.template.Resources).find(
  (r) => r.Type === 'AWS::Lambda::Function',
);
fs.mkdirSync(destDir, { recursive: true });
fs.cpSync(synth.assetDir, destDir, { recursive: true });
const handlerPath = path.join(destDir, path.basename(synth.handlerPath));
process.stdout.write(
  `${JSON.stringify({
    handlerPath,
    handlerExport: synth.handlerExport,
    bundleBytes: fs.statSync(handlerPath).size,
    mapBytes: fs.statSync(`${handlerPath}.map`).size,
    environment: synth.environment(),
    memorySizeMb: fn?.Properties.MemorySize,
    synthMs: Date.now() - started,
  })}\n`,
);
