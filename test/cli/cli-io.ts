/** An in-process CliIO that records what a user would see, with scripted answers to hidden prompts. */
import type { CliIO } from '../../bin/cli/io';

export interface CapturedIO extends CliIO {
  outLines: string[];
  errLines: string[];
  /** Questions asked through promptHidden, in order. */
  questions: string[];
  /** stdout and stderr together. */
  text(): string;
}

/**
 * `answers`: what the "user" types for a question containing the key (e.g. the variable name);
 * undefined `answers` means there is no terminal (promptHidden answers undefined, like main.ts does).
 */
export function captureIO(
  env: Record<string, string | undefined>,
  answers?: Record<string, string>,
): CapturedIO {
  const outLines: string[] = [];
  const errLines: string[] = [];
  const questions: string[] = [];
  return {
    outLines,
    errLines,
    questions,
    env,
    out: (line) => outLines.push(...line.split('\n')),
    err: (line) => errLines.push(...line.split('\n')),
    promptHidden: async (question) => {
      questions.push(question);
      if (answers === undefined) return undefined;
      const key = Object.keys(answers).find((k) => question.includes(k));
      return key === undefined ? '' : answers[key];
    },
    text: () => [...outLines, ...errLines].join('\n'),
  };
}
