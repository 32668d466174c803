/**
 * Captures what the process writes to stdout and stderr, the way Powertools' own tests assert on
 * emitted output: the Lambda runtime ships exactly these bytes to CloudWatch Logs.
 */

export interface CapturedOutput {
  /** Every complete line written so far, stdout and stderr interleaved in order. */
  lines(): string[];
  /** The lines that parse as JSON objects. */
  json(): Record<string, unknown>[];
  /** Everything written, as one text (what a leak scan reads). */
  text(): string;
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
  return {
    lines,
    json: () =>
      lines().flatMap((line) => {
        try {
          const value: unknown = JSON.parse(line);
          return value !== null && typeof value === 'object' && !Array.isArray(value)
            ? [value as Record<string, unknown>]
            : [];
        } catch {
          return [];
        }
      }),
    text: () => chunks.join(''),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
