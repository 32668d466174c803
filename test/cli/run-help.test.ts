/** `run --help` states the late-data bound and what lowering its settings risks (issue 11, item 7). */
import { runCommand } from '../../bin/cli/run';
import { captureIO } from './cli-io';

test('run --help names --late-data-minutes, its default, and the risk of lowering it or --lateness', async () => {
  const io = captureIO({});
  expect(await runCommand(['--help'], io)).toBe(0);
  const help = io.outLines.join('\n');
  expect(help).toMatch(/--late-data-minutes N .*\n.*\(0 = never\)\s+\[60\]/);
  expect(help).toMatch(/max\(--late-data-minutes, --lateness\)/);
  expect(help).toMatch(/Lowering either one risks\s+missing events/);
});
