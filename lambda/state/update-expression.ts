/**
 * DynamoDB update expressions with a placeholder for every name and value: `cursor` and `offset` are
 * reserved words, so no attribute name ever appears in an expression as it is.
 */
/** Builds update expressions with a placeholder for every name and value. */
export class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  set(attribute: string, value: unknown): void {
    this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
  }

  setClause(clause: string): void {
    this.sets.push(clause);
  }

  remove(attribute: string): void {
    this.removes.push(this.name(attribute));
  }

  updateExpression(): string {
    const parts: string[] = [];
    if (this.sets.length > 0) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length > 0) parts.push(`REMOVE ${this.removes.join(', ')}`);
    return parts.join(' ');
  }
}
