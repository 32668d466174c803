/** `npm run bench -- --help` prints help and runs nothing; only --write-doc rewrites a tracked file (issue 12). */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseBenchArgs } from './options';

const ROOT = path.join(__dirname, '../..');

test('a default run writes no tracked file; --write-doc asks for the doc', () => {
  expect(parseBenchArgs([])).toMatchObject({ runs: 3, scale: 1, writeDoc: false, profile: false });
  expect(parseBenchArgs(['--write-doc'])).toMatchObject({ writeDoc: true });
  expect(parseBenchArgs(['--no-doc'])).toMatchObject({ writeDoc: false });
  expect(parseBenchArgs(['--runs', '1', '--scale', '0.05'])).toMatchObject({ runs: 1, scale: 0.05 });
  expect(parseBenchArgs(['-h'])).toBe('help');
  expect(() => parseBenchArgs(['--runs', '10'])).toThrow('--runs must be 1..9');
  expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/--frobnicate/);
});

test('npm run bench -- --help prints the options and exits at once, writing nothing', () => {
  const doc = path.join(ROOT, 'docs', 'PERFORMANCE.md');
  const before = statSync(doc).mtimeMs;
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'test/bench/run.ts'), '--help'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Usage: npm run bench -- \[options\]/);
  expect(result.stdout).toMatch(/--write-doc\s+rewrite the "Latest run" section of docs\/PERFORMANCE.md/);
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(statSync(doc).mtimeMs).toBe(before);
});
