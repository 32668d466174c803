/** Empty, or known values (event types, streams), comma-separated, no space around the commas. */
export function listPattern(values: readonly string[]): string {
  const one = `(${values.join('|')})`;
  return `^$|^${one}(,${one})*$`;
}
