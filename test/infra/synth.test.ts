/**
 * A real synthesis with esbuild bundling on, as `cdk synth` does it: the function asset is the
 * bundled handler (cdk.out/asset.<hash>/index.js), self-contained and loadable.
 * The test that invokes it against loopback parts builds on synthesizeBundled() (helpers.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { HANDLER_EXPORT } from '../../lib/constructs/collector-function';
import { type BundledSynth, type Cfn, synthesizeBundled } from './helpers';

let synth: BundledSynth;

beforeAll(() => {
  synth = synthesizeBundled('acme');
}, 120_000);

test('the asset holds the minified handler and its source map', () => {
  expect(fs.existsSync(synth.handlerPath)).toBe(true);
  expect(fs.existsSync(`${synth.handlerPath}.map`)).toBe(true);
  const code = fs.readFileSync(synth.handlerPath, 'utf8');
  expect(code.length).toBeGreaterThan(10_000);
  // Minified: very long lines (newlines survive only inside template literals and legal comments).
  expect(code.length / code.split('\n').length).toBeGreaterThan(1_000);
  const map = JSON.parse(fs.readFileSync(`${synth.handlerPath}.map`, 'utf8'));
  expect(map.sources.some((s: string) => s.endsWith('lambda/handler.ts'))).toBe(true);
  expect(map.sourcesContent).toBeUndefined();
});

test('the bundle is self-contained: no AWS SDK, undici or project module left to the runtime', () => {
  const code = fs.readFileSync(synth.handlerPath, 'utf8');
  // Real require calls; `[require("…")]` only occurs inside an SDK error message about the optional CRT signer.
  const required = [...code.matchAll(/(?<!\[)require\("([^"]+)"\)/g)].map((m) => m[1]);
  // `node:` ids are built-ins by definition (some, like node:sqlite, exist only with the prefix).
  const external = required.filter(
    (r) => !r.startsWith('node:') && !builtinModules.includes(r.split('/')[0]),
  );
  expect([...new Set(external)]).toEqual([]);
  // And it loads on its own, far from the repository's node_modules.
  const isolated = fs.mkdtempSync(path.join(os.tmpdir(), 'mimecast-collector-asset-'));
  try {
    fs.copyFileSync(synth.handlerPath, path.join(isolated, 'index.js'));
    const loaded = spawnSync(process.execPath, ['-e', 'console.log(typeof require("./index.js").handler)'], {
      cwd: isolated,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('function');
  } finally {
    fs.rmSync(isolated, { recursive: true, force: true });
  }
});

test('the bundle loads and exports the handler named in the template', () => {
  expect(synth.handlerExport).toBe(HANDLER_EXPORT);
  // Loading runs module scope only: the handler builds its clients on first invocation.
  const mod = require(synth.handlerPath);
  expect(typeof mod[synth.handlerExport]).toBe('function');
});

test('environment() gives the literal variables plus overrides for the references', () => {
  const env = synth.environment({
    SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf',
  });
  expect(env.COLLECTOR_INSTANCE).toBe('acme');
  expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
  expect(env.SECRET_ARN).toMatch(/^arn:aws:secretsmanager:/);
  expect(env.SINK_URL).toBeUndefined();
});

test('the Event Push drain function deploys the same asset as the collector, with the same handler and environment', () => {
  const functions = Object.values<Cfn>(synth.template.Resources).filter(
    (r) => r.Type === 'AWS::Lambda::Function',
  );
  const collector = functions.find((r) => r.Condition === undefined);
  const drain = functions.find((r) => r.Condition === 'DrainsPushBucket');
  expect(drain.Properties.Code).toEqual(collector.Properties.Code);
  expect(drain.Properties.Handler).toBe(collector.Properties.Handler);
  expect(drain.Properties.Environment).toEqual(collector.Properties.Environment);
});
