import { excerpt } from '../classify';
import { DecodeError } from './errors';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

// Outside a string, only quotes and brackets matter.
const STRUCTURE = /["{}[\]]/g;

/** Whether the backslashes right before `end` (none before `from`) are an odd run: the character at `end` is escaped. */
function oddBackslashesBefore(text: string, end: number, from: number): boolean {
  let j = end - 1;
  while (j >= from && text.charCodeAt(j) === BACKSLASH) j -= 1;
  return (end - 1 - j) % 2 === 1;
}

/**
 * Index of the next quote or bracket at or after `from` (`n` when none). Between two strings there is
 * usually a single `:` or `,`, so a few characters are looked at directly before the regex is asked.
 */
function nextStructural(text: string, from: number, n: number): number {
  const direct = Math.min(n, from + 16);
  for (let j = from; j < direct; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE || c === OPEN_BRACE || c === CLOSE_BRACE || c === OPEN_BRACKET || c === CLOSE_BRACKET) {
      return j;
    }
  }
  if (direct === n) return n;
  STRUCTURE.lastIndex = direct;
  return STRUCTURE.exec(text) === null ? n : STRUCTURE.lastIndex - 1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

type Mode = 'skeleton' | 'array' | 'element';

/**
 * Streams one JSON document whose top-level object holds a large array under `key`
 * (`{"type":"MTA","data":[{...},{...}]}`): each element is parsed and handed out as soon as it is
 * complete, so memory is bounded by the largest element, not the document. Everything else (the
 * "skeleton", with that array left empty) is kept and parsed at the end, which also validates the
 * document's overall syntax. No streaming JSON parser is installed; this scanner only finds element
 * boundaries (strings, escapes, nesting) and leaves parsing to JSON.parse. Each element is handed out
 * with its own text (valid JSON, as JSON.parse just proved), so a caller can keep the bytes.
 */
export class JsonArraySplitter {
  private mode: Mode = 'skeleton';
  private readonly skeleton: string[] = [];
  private skeletonChars = 0;
  private depth = 0;
  private topIsObject = false;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  private inKey = false;
  private keyStart = 0;
  private keyParts: string[] = [];
  private lastKey: string | undefined;
  private awaitingValue = false;
  private found = false;
  // Inside the target array.
  private elementParts: string[] = [];
  private elementChars = 0;
  private elementDepth = 0;
  private elementKind: 'container' | 'string' | 'scalar' = 'container';
  private elements = 0;
  private sawComma = false;

  constructor(
    private readonly key: string,
    private readonly onElement: (value: unknown, index: number, text: string) => void,
    private readonly maxElementChars: number,
    private readonly maxSkeletonChars = 1024 * 1024,
  ) {}

  /** Whether the top-level object had `key` holding an array. */
  get foundArray(): boolean {
    return this.found;
  }

  write(text: string): void {
    let segmentStart = 0;
    let i = 0;
    const n = text.length;
    this.keyStart = 0; // a key split across chunks continues at the start of this one
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.mode === 'skeleton') {
        if (this.inString) {
          if (this.escaped) {
            this.escaped = false;
          } else if (c === BACKSLASH) {
            this.escaped = true;
          } else if (c === QUOTE) {
            this.inString = false;
            if (this.inKey) {
              this.keyParts.push(text.slice(this.keyStart, i + 1));
              this.lastKey = parseKey(this.keyParts.join(''));
              this.keyParts = [];
              this.inKey = false;
            }
          }
          i += 1;
          continue;
        }
        if (this.awaitingValue && !isSpace(c)) {
          this.awaitingValue = false;
          if (c === OPEN_BRACKET) {
            // The target array: keep `[` in the skeleton, then hand elements out instead of keeping them.
            this.appendSkeleton(text.slice(segmentStart, i + 1));
            this.depth += 1;
            this.found = true;
            this.mode = 'array';
            i += 1;
            segmentStart = i;
            continue;
          }
        }
        if (c === QUOTE) {
          this.inString = true;
          if (this.depth === 1 && this.topIsObject && this.expectKey) {
            this.expectKey = false;
            this.inKey = true;
            this.keyStart = i;
          }
        } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          this.depth += 1;
          if (this.depth === 1) {
            this.topIsObject = c === OPEN_BRACE;
            this.expectKey = this.topIsObject;
          }
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          this.depth -= 1;
        } else if (this.depth === 1 && this.topIsObject) {
          if (c === COMMA) {
            this.expectKey = true;
          } else if (c === COLON) {
            this.awaitingValue = !this.found && this.lastKey === this.key;
          }
        }
        i += 1;
        continue;
      }

      if (this.mode === 'array') {
        if (isSpace(c)) {
          i += 1;
          continue;
        }
        if (c === COMMA) {
          if (this.elements === 0 || this.sawComma) {
            throw new DecodeError(
              `Misplaced comma in the "${this.key}" array`,
              excerpt(text.slice(i, i + 200)),
            );
          }
          this.sawComma = true;
          i += 1;
          continue;
        }
        if (c === CLOSE_BRACKET) {
          if (this.sawComma) {
            throw new DecodeError(
              `Trailing comma in the "${this.key}" array`,
              excerpt(text.slice(i, i + 200)),
            );
          }
          this.mode = 'skeleton';
          segmentStart = i;
          continue; // the `]` goes to the skeleton
        }
        if (this.elements > 0 && !this.sawComma) {
          throw new DecodeError(
            `Missing comma between elements of the "${this.key}" array`,
            excerpt(text.slice(i, i + 200)),
          );
        }
        this.sawComma = false;
        this.mode = 'element';
        this.elementParts = [];
        this.elementChars = 0;
        this.elementDepth = 0;
        this.elementKind =
          c === OPEN_BRACE || c === OPEN_BRACKET ? 'container' : c === QUOTE ? 'string' : 'scalar';
        segmentStart = i;
        if (this.elementKind === 'string') {
          this.inString = true;
          i += 1;
        }
        continue;
      }

      // mode === 'element': the hot path, so jump between significant characters instead of stepping.
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i += 1;
          continue;
        }
        // The closing quote is the next `"` after an even run of backslashes: found with indexOf (a
        // native scan) rather than a step or a regex match per character.
        let quote = text.indexOf('"', i);
        while (quote !== -1 && oddBackslashesBefore(text, quote, i)) {
          quote = text.indexOf('"', quote + 1);
        }
        if (quote === -1) {
          // The string goes on in the next chunk; a backslash ending this one escapes its first character.
          this.escaped = oddBackslashesBefore(text, n, i);
          i = n;
          continue;
        }
        this.inString = false;
        i = quote + 1;
        if (this.elementKind === 'string') {
          this.finishElement(text.slice(segmentStart, i));
          segmentStart = i;
        }
        continue;
      }
      if (this.elementKind === 'scalar') {
        if (c === COMMA || c === CLOSE_BRACKET || isSpace(c)) {
          this.finishElement(text.slice(segmentStart, i));
          segmentStart = i;
          continue; // the delimiter is the array's business
        }
        i += 1;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.elementDepth += 1;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.elementDepth -= 1;
        if (this.elementDepth === 0) {
          this.finishElement(text.slice(segmentStart, i + 1));
          i += 1;
          segmentStart = i;
          continue;
        }
      } else {
        i = nextStructural(text, i + 1, n);
        continue;
      }
      i += 1;
    }

    // Keep the unfinished tail of this chunk for the next one.
    const tail = text.slice(segmentStart);
    if (this.mode === 'skeleton') {
      if (this.inKey) {
        this.keyParts.push(text.slice(this.keyStart));
      }
      this.appendSkeleton(tail);
    } else if (this.mode === 'element') {
      this.elementParts.push(tail);
      this.elementChars += tail.length;
      if (this.elementChars > this.maxElementChars) {
        throw new DecodeError(
          `Element ${this.elements + 1} of the "${this.key}" array is longer than ${this.maxElementChars} characters`,
          excerpt(this.elementParts[0] ?? ''),
        );
      }
    }
  }

  /** Parses and returns the skeleton (the document with the array emptied). */
  end(): unknown {
    if (this.mode === 'element' && this.elementKind === 'scalar') {
      this.finishElement('');
    }
    if (this.mode !== 'skeleton') {
      throw new DecodeError(
        `Document ends inside the "${this.key}" array`,
        excerpt(this.elementParts.join('')),
      );
    }
    const text = this.skeleton.join('');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new DecodeError('Document is not valid JSON', excerpt(text), { cause: err });
    }
  }

  private finishElement(lastPart: string): void {
    this.elementParts.push(lastPart);
    const text = this.elementParts.join('');
    this.elementParts = [];
    this.elementChars = 0;
    this.mode = 'array';
    if (text.length > this.maxElementChars) {
      throw new DecodeError(
        `Element ${this.elements + 1} of the "${this.key}" array is longer than ${this.maxElementChars} characters`,
        excerpt(text),
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new DecodeError(
        `Element ${this.elements + 1} of the "${this.key}" array is not valid JSON`,
        excerpt(text),
        {
          cause: err,
        },
      );
    }
    this.onElement(value, this.elements, text);
    this.elements += 1;
  }

  private appendSkeleton(text: string): void {
    if (text === '') {
      return;
    }
    this.skeletonChars += text.length;
    if (this.skeletonChars > this.maxSkeletonChars) {
      throw new DecodeError(
        `Document has more than ${this.maxSkeletonChars} characters outside the "${this.key}" array`,
        excerpt(this.skeleton.join('')),
      );
    }
    this.skeleton.push(text);
  }
}

function parseKey(raw: string): string | undefined {
  try {
    const key = JSON.parse(raw);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
