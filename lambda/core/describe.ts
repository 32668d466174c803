/** Log-safe description of any error: a CollectorError's own JSON, else name and message. */
import { CollectorError } from '../errors';

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof CollectorError) return error.toJSON();
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { value: String(error) };
}
