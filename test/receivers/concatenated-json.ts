/** Splits HEC's "concatenated JSON objects" body (`{...}{...}` with optional whitespace) into objects. */

export type ParsedObjects = { objects: unknown[] } | { objects: unknown[]; invalidAt: number };

/**
 * Parses objects until the first one that is not valid JSON; `invalidAt` is its 0-based position.
 * Scanning tracks strings and escapes, so braces inside strings do not count.
 */
export function parseConcatenatedObjects(text: string): ParsedObjects {
  const objects: unknown[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) {
      i++;
    }
    if (i >= text.length) {
      break;
    }
    if (text[i] !== '{') {
      return { objects, invalidAt: objects.length };
    }
    const end = matchingBrace(text, i);
    if (end === undefined) {
      return { objects, invalidAt: objects.length };
    }
    try {
      objects.push(JSON.parse(text.slice(i, end + 1)));
    } catch {
      return { objects, invalidAt: objects.length };
    }
    i = end + 1;
  }
  return { objects };
}

function matchingBrace(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        return c === '}' ? i : undefined;
      }
    }
  }
  return undefined;
}
