/**
 * The few CloudFormation intrinsic functions the stack's S3 pieces use (Ref, Fn::Split, Fn::Select,
 * Fn::Join, Fn::If), evaluated for given parameter values as CloudFormation would, and IAM's resource
 * globs: for tests that check what a template means for a deployment, not only how it is written.
 */
import type { Cfn } from './helpers';

/** CloudFormation's evaluation of the intrinsic functions the lake uses, for given parameter values. */
export function evaluate(
  value: Cfn,
  parameters: Record<string, string>,
  conditions: Record<string, boolean> = {},
): Cfn {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => evaluate(v, parameters, conditions));
  const [fn, args] = Object.entries<Cfn>(value)[0] ?? [];
  switch (fn) {
    case 'Ref': {
      if (args === 'AWS::Partition') return 'aws';
      if (args === 'AWS::NoValue') return undefined;
      if (!(args in parameters)) throw new Error(`no value for ${args}`);
      return parameters[args];
    }
    case 'Fn::Split':
      return String(evaluate(args[1], parameters, conditions)).split(args[0]);
    case 'Fn::Select': {
      const list = evaluate(args[1], parameters, conditions) as unknown[];
      if (args[0] >= list.length) throw new Error('Fn::Select cannot select nonexistent value');
      return list[args[0]];
    }
    case 'Fn::Join':
      return (evaluate(args[1], parameters, conditions) as string[]).join(args[0]);
    case 'Fn::If':
      return evaluate(conditions[args[0]] ? args[1] : args[2], parameters, conditions);
    default:
      // A property whose value is AWS::NoValue is left out, as CloudFormation does.
      return Object.fromEntries(
        Object.entries<Cfn>(value)
          .map(([k, v]) => [k, evaluate(v, parameters, conditions)])
          .filter(([, v]) => v !== undefined),
      );
  }
}

/** A glob of IAM's kind (`*` any run of characters) as a RegExp. */
export const iamGlob = (resource: string) =>
  new RegExp(`^${resource.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/**
 * EventBridge's matching of an event against a pattern, for the parts the stack's rules use: a field's
 * list of allowed values (exact strings, or `{ prefix }`), and nested objects. Every field of the
 * pattern must be in the event and match; fields the pattern leaves out match anything.
 */
export function matchesEventPattern(pattern: Cfn, event: Cfn): boolean {
  return Object.entries<Cfn>(pattern).every(([field, wanted]) => {
    const value = event?.[field];
    if (Array.isArray(wanted)) {
      return wanted.some((allowed) =>
        typeof allowed === 'object' && allowed !== null && 'prefix' in allowed
          ? typeof value === 'string' && value.startsWith(allowed.prefix)
          : value === allowed,
      );
    }
    return typeof value === 'object' && value !== null && matchesEventPattern(wanted, value);
  });
}
