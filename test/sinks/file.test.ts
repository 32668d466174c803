/** The file destination: day files per stream, appended and fsynced, retention by file name, typed failures. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SinkRejectedError } from '../../lambda/errors';
import { createDestination } from '../../lambda/sinks';
import { budget, envelope, envelopes, rejectionOf } from './fixtures';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'file-sink-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const destination = (retentionDays?: number, now = Date.UTC(2024, 5, 6)) =>
  createDestination(
    {
      sinkFormat: 'file',
      sinkUrl: pathToFileURL(dir).href,
      ...(retentionDays === undefined ? {} : { retentionDays }),
    },
    { clock: { now: () => now } },
  );

test('appends each stream to its UTC day file, batch after batch', async () => {
  const sink = destination();
  const siem = envelopes(3);
  const nextDay = { ...envelope(7), time: '2024-06-06T00:00:01.000Z' };
  await sink.send([...siem, nextDay, ...envelopes(2, 'audit')], budget(5_000));
  await sink.send([envelope(4)], budget(5_000));
  const read = async (stream: string, day: string) =>
    (await readFile(path.join(dir, stream, `${day}.ndjson`), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
  expect(await read('siem', '2024-06-05')).toEqual([...siem, envelope(4)]);
  expect(await read('siem', '2024-06-06')).toEqual([nextDay]);
  expect(await read('audit', '2024-06-05')).toEqual(envelopes(2, 'audit'));
});

test('--retention-days removes older day files of every stream, keeps the rest', async () => {
  await mkdir(path.join(dir, 'audit'), { recursive: true });
  await writeFile(path.join(dir, 'audit', '2024-05-01.ndjson'), '{}\n');
  await writeFile(path.join(dir, 'audit', '2024-06-01.ndjson'), '{}\n');
  await writeFile(path.join(dir, 'audit', 'notes.txt'), 'kept');
  await destination(7).send([envelope(1)], budget(5_000));
  expect((await readdir(path.join(dir, 'audit'))).sort()).toEqual(['2024-06-01.ndjson', 'notes.txt']);
});

test('a stream directory that cannot be made refuses the batch (nothing acknowledged); verify says so', async () => {
  // A file where the stream's directory must go: mkdir fails (ENOTDIR/EEXIST), for root too.
  await writeFile(path.join(dir, 'siem'), 'in the way');
  const error = await rejectionOf(destination().send([envelope(1)], budget(5_000)));
  expect(error).toBeInstanceOf(SinkRejectedError);
  expect(error.message).toContain('siem');
  const blocked = createDestination({
    sinkFormat: 'file',
    sinkUrl: pathToFileURL(path.join(dir, 'siem')).href,
  });
  expect(await blocked.probe(budget(5_000))).toMatchObject({ ok: false, result: 'not writable' });
});

test('only absolute local directories', () => {
  expect(() => createDestination({ sinkFormat: 'file', sinkUrl: 'file://server/share' })).toThrow(
    /local file URL/,
  );
  expect(() => createDestination({ sinkFormat: 'file', sinkUrl: 'file:///' })).toThrow(/other than the root/);
});
