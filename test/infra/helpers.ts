/**
 * Helpers for the stack tests, and for the test that invokes the bundled handler against
 * loopback parts (synthesizeBundled).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MimecastCollectorStack, type MimecastCollectorStackProps } from '../../lib/collector-stack';
import { stackNameFor } from '../../lib/defaults';

const ROOT = path.resolve(__dirname, '..', '..');

/** CloudFormation JSON as the tests read it. */
// biome-ignore lint/suspicious/noExplicitAny: a synthesized template is untyped JSON that tests index into freely.
export type Cfn = any;

/**
 * The feature flags of cdk.json. A `new App()` in a test does not read cdk.json (only the CLI
 * does), so without these the tests would check a template the CLI never produces.
 */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'),
).context;

export interface BuiltStack {
  app: App;
  stack: MimecastCollectorStack;
  template: Template;
}

/** An app with cdk.json's flags; bundling skipped unless asked for (esbuild is then not run). */
export function testApp(options: { bundling?: boolean; outdir?: string } = {}): App {
  return new App({
    outdir: options.outdir,
    context: { ...CDK_JSON_CONTEXT, ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
}

/** Adds one collector stack to `app` (a fresh one by default) and synthesizes its template. */
export function buildStack(
  instance = 'default',
  options: { app?: App; props?: Partial<MimecastCollectorStackProps> } = {},
): BuiltStack {
  const app = options.app ?? testApp();
  const stack = new MimecastCollectorStack(app, stackNameFor(instance), { instance, ...options.props });
  return { app, stack, template: Template.fromStack(stack) };
}

export interface BundledSynth {
  /** The cloud assembly directory (a temporary cdk.out; removed after the test file by jest-autoclean). */
  assemblyDir: string;
  /** The synthesized CloudFormation template, as JSON. */
  template: Record<string, Cfn>;
  /** The function's asset directory, `<assemblyDir>/asset.<hash>`. */
  assetDir: string;
  /** The bundled handler, `<assetDir>/index.js`: `require(handlerPath).handler(event, context)`. */
  handlerPath: string;
  /** The handler's export name. */
  handlerExport: string;
  /**
   * The function's environment with every literal value; values that are CloudFormation references
   * (parameters, secret ARN, table name) are replaced by `overrides` or left out. Set these on
   * process.env before requiring the handler, pointing at the loopback parts.
   */
  environment(overrides?: Record<string, string>): Record<string, string>;
}

/**
 * A real synthesis with esbuild bundling on (as `cdk synth` does): returns the template and the
 * path of the bundled handler. Slow (esbuild), so call it once per test file.
 */
export function synthesizeBundled(instance = 'default'): BundledSynth {
  const app = testApp({ bundling: true });
  const stack = new MimecastCollectorStack(app, stackNameFor(instance), { instance });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const template = artifact.template as Record<string, Cfn>;
  // The scheduled collector function (Event Push's functions carry the conditions of their parameters).
  const fn = Object.values<Cfn>(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Condition === undefined,
  );
  const s3Key: string = fn.Properties.Code.S3Key;
  const assetDir = path.join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`);
  const [, handlerExport] = (fn.Properties.Handler as string).split('.');
  const variables: Record<string, unknown> = fn.Properties.Environment.Variables;
  return {
    assemblyDir: assembly.directory,
    template,
    assetDir,
    handlerPath: path.join(assetDir, 'index.js'),
    handlerExport,
    environment(overrides = {}) {
      const literal = Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
      return { ...literal, ...overrides };
    },
  };
}

/** What one invocation of the bundled handler printed, and how its process ended. */
export interface BundleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bundled handler once in a fresh Node process with exactly `env`, like a Lambda cold start
 * with `event` (default: a scheduled tick). Prints `OUTCOME <json>` or `FAILED <message>` after the
 * handler's own output.
 */
export function invokeBundle(
  handlerPath: string,
  env: Record<string, string>,
  event: unknown = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
): Promise<BundleRun> {
  const runner = `
    const { handler } = require(${JSON.stringify(handlerPath)});
    const end = Date.now() + 60000;
    const context = { awsRequestId: 'bundle-' + process.pid, getRemainingTimeInMillis: () => end - Date.now() };
    handler(${JSON.stringify(event)}, context).then(
      (outcome) => { process.stdout.write('OUTCOME ' + JSON.stringify(outcome) + '\\n'); },
      (error) => { process.stdout.write('FAILED ' + error.message + '\\n'); process.exitCode = 1; },
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', runner], { env, cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
