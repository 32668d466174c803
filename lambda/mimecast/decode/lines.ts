import { excerpt } from '../classify';
import { DecodeError } from './errors';

/** Splits streamed text into lines (`\n` or `\r\n`), across chunk boundaries, each at most `maxLineChars`. */
export class LineSplitter {
  private partial = '';
  private lineNo = 0;

  constructor(
    private readonly onLine: (line: string, lineNo: number) => void,
    private readonly maxLineChars: number,
  ) {}

  write(text: string): void {
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) {
        break;
      }
      const piece = text.slice(start, newline);
      const line = this.partial === '' ? piece : this.partial + piece;
      this.partial = '';
      this.emit(line);
      start = newline + 1;
    }
    if (start < text.length) {
      this.partial += text.slice(start);
      if (this.partial.length > this.maxLineChars) {
        throw new DecodeError(
          `Line ${this.lineNo + 1} is longer than ${this.maxLineChars} characters`,
          excerpt(this.partial),
        );
      }
    }
  }

  end(): void {
    if (this.partial !== '') {
      const line = this.partial;
      this.partial = '';
      this.emit(line);
    }
  }

  private emit(raw: string): void {
    this.lineNo += 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > this.maxLineChars) {
      throw new DecodeError(
        `Line ${this.lineNo} is longer than ${this.maxLineChars} characters`,
        excerpt(line),
      );
    }
    this.onLine(line, this.lineNo);
  }
}

/** Streamed UTF-8 bytes to text; a character split across chunks is kept for the next one. */
export class Utf8Stream {
  private readonly decoder = new TextDecoder('utf-8');

  decode(bytes: Uint8Array): string {
    return this.decoder.decode(bytes, { stream: true });
  }

  flush(): string {
    return this.decoder.decode();
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** NDJSON: one JSON object per non-blank line, handed out parsed and with its own text (the line). */
export class NdjsonDecoder {
  private readonly utf8 = new Utf8Stream();
  private readonly lines: LineSplitter;

  constructor(onRecord: (record: Record<string, unknown>, text: string) => void, maxLineChars: number) {
    this.lines = new LineSplitter((line, lineNo) => {
      if (line.trim() === '') {
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new DecodeError(`NDJSON line ${lineNo} is not valid JSON`, excerpt(line), { cause: err });
      }
      if (!isPlainObject(value)) {
        throw new DecodeError(`NDJSON line ${lineNo} is not a JSON object`, excerpt(line));
      }
      onRecord(value, line);
    }, maxLineChars);
  }

  push(bytes: Uint8Array): void {
    this.lines.write(this.utf8.decode(bytes));
  }

  end(): void {
    this.lines.write(this.utf8.flush());
    this.lines.end();
  }
}

/**
 * Mimecast key_value SIEM files: every record starts with `datetime=`, fields are `key=value` joined by
 * `|`. A line that does not start with `datetime=` continues the previous record (a value with a line
 * break); a `|`-piece without `=` continues the previous value (a value with a `|`), as Sentinel's parser reads them.
 */
export class KeyValueDecoder {
  private readonly lines: LineSplitter;
  private current: string | undefined;

  constructor(
    private readonly onRecord: (record: Record<string, string>) => void,
    maxRecordChars: number,
  ) {
    this.lines = new LineSplitter((line) => {
      if (line.startsWith('datetime=')) {
        this.flushRecord();
        this.current = line;
      } else if (line.trim() === '') {
        return;
      } else if (this.current === undefined) {
        throw new DecodeError('key_value text does not start with a datetime= record', excerpt(line));
      } else {
        this.current += `\n${line}`;
        if (this.current.length > maxRecordChars) {
          throw new DecodeError(
            `key_value record longer than ${maxRecordChars} characters`,
            excerpt(this.current),
          );
        }
      }
    }, maxRecordChars);
  }

  write(text: string): void {
    this.lines.write(text);
  }

  end(): void {
    this.lines.end();
    this.flushRecord();
  }

  private flushRecord(): void {
    if (this.current === undefined) {
      return;
    }
    // A Map, then fromEntries: a field named `__proto__` stays a plain field.
    const fields = new Map<string, string>();
    let lastKey: string | undefined;
    for (const part of this.current.split('|')) {
      const eq = part.indexOf('=');
      if (eq > 0) {
        lastKey = part.slice(0, eq);
        fields.set(lastKey, part.slice(eq + 1));
      } else if (lastKey !== undefined) {
        fields.set(lastKey, `${fields.get(lastKey)}|${part}`);
      }
    }
    this.current = undefined;
    this.onRecord(Object.fromEntries(fields));
  }
}
