/**
 * What every command needs from the terminal, injectable so tests run commands in-process and read
 * exactly what a user would see.
 */
import { CollectorError, ConfigError, type ConfigProblem } from '../../lambda/errors';
import type { SecretRedactor } from '../../lambda/telemetry/redact';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** Asks for a value without echoing it; undefined when there is no terminal to ask on. */
  promptHidden?(question: string): Promise<string | undefined>;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  signal?: AbortSignal;
}

export type Command = (argv: string[], io: CliIO) => Promise<number>;

export const EXIT_OK = 0;
/** Something failed while running (a stream failed, a check did not pass). */
export const EXIT_FAILED = 1;
/** The command line itself was wrong. */
export const EXIT_USAGE = 2;

/** `io` with every line passed through `redactor` first: should a message ever quote a value, it is masked. */
export function redactingIO(io: CliIO, redactor: SecretRedactor): CliIO {
  return {
    ...io,
    out: (line) => io.out(redactor.redactText(line)),
    err: (line) => io.err(redactor.redactText(line)),
  };
}

/** One clear message for a failed command: no stack trace, every problem, and what to do. */
export function reportError(io: CliIO, error: unknown): number {
  if (error instanceof ConfigError) {
    io.err(`error: ${error.problems.length === 1 ? 'invalid input' : `${error.problems.length} problems`}:`);
    for (const p of error.problems) io.err(`  ${p.field}: ${p.problem}`);
    io.err(error.remedy);
    return EXIT_USAGE;
  }
  if (error instanceof CollectorError) {
    io.err(`error: ${error.message}`);
    io.err(`what to do: ${error.remedy}`);
    return EXIT_FAILED;
  }
  if (error instanceof AggregateError) {
    io.err(`error: ${error.message}`);
    return EXIT_FAILED;
  }
  io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_FAILED;
}

export function problem(field: string, text: string): ConfigProblem {
  return { field, problem: text };
}

/** Left-aligned text table for terminal output. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
