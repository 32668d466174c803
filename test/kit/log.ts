/** The one recording Log of the tests: every line kept, children share the lines and add their keys. */
import type { Log } from '../../lambda/core/ports';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes?: Record<string, unknown>;
}

export class RecordingLog implements Log {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly keys: Record<string, unknown> = {},
  ) {}

  debug(message: string, attributes?: Record<string, unknown>): void {
    this.record('debug', message, attributes);
  }
  info(message: string, attributes?: Record<string, unknown>): void {
    this.record('info', message, attributes);
  }
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.record('warn', message, attributes);
  }
  error(message: string, attributes?: Record<string, unknown>): void {
    this.record('error', message, attributes);
  }
  child(keys: Record<string, string | number | boolean>): RecordingLog {
    return new RecordingLog(this.lines, { ...this.keys, ...keys });
  }
  find(level: LogLine['level'], fragment: string): LogLine[] {
    return this.lines.filter((line) => line.level === level && line.message.includes(fragment));
  }

  private record(level: LogLine['level'], message: string, attributes?: Record<string, unknown>): void {
    // A child's keys come first, as the engine's attribute spreads used to put them.
    const merged = Object.keys(this.keys).length === 0 ? attributes : { ...this.keys, ...attributes };
    this.lines.push({ level, message, attributes: merged });
  }
}
