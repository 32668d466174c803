/** `receive`'s input problems, reported together in the words the user wrote; the token never from a flag. */
import { receiveCommand } from '../../bin/cli/receive';
import { captureIO } from '../cli/cli-io';

it('reports a missing PUSH_TOKEN, a bad --listen and a bad --sink-url at once', async () => {
  const io = captureIO({});
  const code = await receiveCommand(['--listen', 'nowhere', '--sink-url', 'ftp://x'], io);
  expect(code).toBe(2);
  const text = io.text();
  expect(text).toMatch(/PUSH_TOKEN: is not set/);
  expect(text).toMatch(/--listen: must be HOST:PORT/);
  expect(text).toMatch(/--sink-url/);
});

it('refuses a short token, and has no flag that takes one', async () => {
  const io = captureIO({ PUSH_TOKEN: 'tiny' });
  expect(
    await receiveCommand(['--listen', '127.0.0.1:0', '--sink-url', 'http://127.0.0.1:9/ingest'], io),
  ).toBe(2);
  expect(io.text()).toMatch(/PUSH_TOKEN: must be 16 to 4096 characters/);
  expect(io.text()).not.toContain('tiny');
  const withFlag = captureIO({ PUSH_TOKEN: 'a'.repeat(20) });
  expect(
    await receiveCommand(
      ['--listen', '127.0.0.1:0', '--sink-url', 'http://127.0.0.1:9/i', '--token', 'x'],
      withFlag,
    ),
  ).toBe(2);
});
