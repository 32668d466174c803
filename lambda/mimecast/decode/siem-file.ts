import { excerpt } from '../classify';
import { DecodeError } from './errors';
import { JsonArraySplitter } from './json-array';
import { isPlainObject, KeyValueDecoder, Utf8Stream } from './lines';

/**
 * One API 1.0 SIEM log file's content, told apart by content: JSON (`{"type":"MTA","data":[...]}`)
 * or key_value (`datetime=...|key=value|...`). Records are handed out as they decode.
 */
export class SiemFileDecoder {
  private readonly utf8 = new Utf8Stream();
  private format: 'unknown' | 'json' | 'key_value' = 'unknown';
  private pending = '';
  private json: JsonArraySplitter | undefined;
  private keyValue: KeyValueDecoder | undefined;
  private skeletonValue: unknown;

  constructor(
    /** `text` is the record's own JSON text (JSON files); key_value records have none. */
    private readonly onRecord: (record: Record<string, unknown>, text?: string) => void,
    private readonly maxRecordChars: number,
  ) {}

  /** The JSON document without its `data` array (for `fail[]`), after end(); undefined for key_value. */
  get skeleton(): unknown {
    return this.skeletonValue;
  }

  write(bytes: Uint8Array): void {
    this.text(this.utf8.decode(bytes));
  }

  end(): void {
    this.text(this.utf8.flush());
    if (this.format === 'unknown') {
      if (this.pending.trim() !== '') {
        throw new DecodeError('SIEM file is neither JSON nor key_value', excerpt(this.pending));
      }
      return; // an empty file has no records
    }
    if (this.json) {
      this.skeletonValue = this.json.end();
      if (!this.json.foundArray || !isPlainObject(this.skeletonValue)) {
        throw new DecodeError(
          'SIEM JSON file without a top-level "data" array',
          excerpt(JSON.stringify(this.skeletonValue) ?? ''),
        );
      }
    }
    this.keyValue?.end();
  }

  private text(text: string): void {
    if (this.json) {
      this.json.write(text);
      return;
    }
    if (this.keyValue) {
      this.keyValue.write(text);
      return;
    }
    this.pending += text;
    const start = this.pending.trimStart();
    if (start.startsWith('{')) {
      this.format = 'json';
      this.json = new JsonArraySplitter(
        'data',
        (value, index, text) => {
          if (!isPlainObject(value)) {
            throw new DecodeError(
              `SIEM record ${index + 1} is not a JSON object`,
              excerpt(JSON.stringify(value) ?? ''),
            );
          }
          this.onRecord(value, text);
        },
        this.maxRecordChars,
      );
      this.json.write(start);
      this.pending = '';
    } else if (start.length >= 'datetime='.length) {
      if (!start.startsWith('datetime=')) {
        throw new DecodeError('SIEM file is neither JSON nor key_value', excerpt(start));
      }
      this.format = 'key_value';
      this.keyValue = new KeyValueDecoder((record) => this.onRecord(record), this.maxRecordChars);
      this.keyValue.write(start);
      this.pending = '';
    } else if (this.pending.length > this.maxRecordChars) {
      throw new DecodeError('SIEM file starts with a long blank run', excerpt(this.pending));
    }
  }
}
