/**
 * Each command's flags, declared once: name, value, description, default, allowed values and
 * conflicts. commander parses the command line and writes the help from the declarations; conflicts
 * are checked here so they are reported together with every other problem.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';

export interface FlagDeclaration {
  /** Without the dashes: `sink-url`. */
  name: string;
  /** One-letter alias (`h`). */
  short?: string;
  /** What the value is called in the help (`URL`, `N`); none for a switch. */
  value?: string;
  description: string;
  /** Used when the flag is not given, and shown in the help. */
  default?: string;
  /** Shown in the help as the default when it is worked out at run time (`from the credentials`). */
  defaultNote?: string;
  /** Shown in the help; the setting's own check refuses anything else, with the other problems. */
  choices?: readonly string[];
  /** Flags that must not be given with this one. */
  conflicts?: readonly string[];
  required?: boolean;
}

export type FlagValues = Record<string, string | boolean | undefined>;

export interface CommandDeclaration {
  name: string;
  /** First lines of the help: what the command does. */
  summary: string;
  /** The usage line after the command name. */
  usage?: string;
  flags: readonly FlagDeclaration[];
  /** Text after the options: notes, exit codes, examples. */
  epilogue?: string;
}

const HELP: FlagDeclaration = { name: 'help', short: 'h', description: 'this text' };

/** The note shown in brackets after a flag's description: required, or its default. */
function bracket(flag: FlagDeclaration): string {
  if (flag.required) return '[required]';
  const shown = flag.default ?? flag.defaultNote;
  return shown === undefined ? '' : `[${shown}]`;
}

function program(declaration: CommandDeclaration): Command {
  const command = new Command(`mimecast-collector ${declaration.name}`)
    .usage(declaration.usage ?? '[options]')
    .description(declaration.summary)
    .helpOption(false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: () => {},
      writeErr: () => {},
      getOutHelpWidth: () => 110,
    });
  command.configureHelp({
    optionTerm: (option: Option) =>
      `${option.short ? `${option.short}, ` : ''}${option.long ?? ''}${
        option.required || option.optional ? ` ${option.flags.replace(/^.*[<[](.*)[>\]]$/, '$1')}` : ''
      }`,
    optionDescription: (option: Option) => {
      const flag = [...declaration.flags, HELP].find((f) => `--${f.name}` === option.long);
      const choices = flag?.choices ? ` (${flag.choices.join(' | ')})` : '';
      const note = flag ? bracket(flag) : '';
      return `${option.description}${choices}${note ? `  ${note}` : ''}`;
    },
    sortOptions: false,
  });
  for (const flag of [...declaration.flags, HELP]) {
    const term = `${flag.short ? `-${flag.short}, ` : ''}--${flag.name}${flag.value ? ` <${flag.value}>` : ''}`;
    command.addOption(new Option(term, flag.description));
  }
  return command;
}

/** The help of a command, as `--help` prints it. */
export function helpText(declaration: CommandDeclaration): string {
  const options = program(declaration).helpInformation();
  return declaration.epilogue ? `${options}\n${declaration.epilogue.trimEnd()}\n` : options;
}

export type ParsedFlags = { help: true } | { help: false; values: FlagValues; problems: ConfigProblem[] };

/**
 * The command line against the declarations. Unknown flags, a missing value or a stray argument
 * throw one ConfigError (field `arguments`); conflicts come back in `problems`, to be reported with
 * the rest. A value starting with a dash (`--batch-events -1`) is taken as the value, for its
 * setting to judge.
 */
export function parseFlags(declaration: CommandDeclaration, argv: readonly string[]): ParsedFlags {
  if (argv.includes('--help') || argv.includes('-h')) return { help: true };
  const command = program(declaration);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    throw new ConfigError(
      'command line',
      [{ field: 'arguments', problem: commanderProblem(error) }],
      'See --help.',
    );
  }
  const opts = command.opts<Record<string, string | boolean | undefined>>();
  const given: FlagValues = {};
  for (const flag of declaration.flags) given[flag.name] = givenValue(opts, flag.name);
  const values: FlagValues = {};
  for (const flag of declaration.flags) values[flag.name] = given[flag.name] ?? flag.default;
  const problems: ConfigProblem[] = [];
  for (const flag of declaration.flags) {
    if (given[flag.name] === undefined) continue;
    for (const other of flag.conflicts ?? []) {
      // Each pair once: from the flag declared first.
      const otherIndex = declaration.flags.findIndex((f) => f.name === other);
      if (given[other] !== undefined && otherIndex > declaration.flags.indexOf(flag)) {
        problems.push({ field: `--${other}`, problem: `use either --${other} or --${flag.name}, not both` });
      }
    }
  }
  return { help: false, values, problems };
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** commander files `--no-x` as x = false (default true): here it is the switch `no-x`, given or not. */
function givenValue(opts: FlagValues, name: string): string | boolean | undefined {
  if (name.startsWith('no-')) return opts[camel(name.slice(3))] === false ? true : undefined;
  return opts[camel(name)];
}

/** commander's message, in the words the old parser used (`Unknown option '--x'`), without its prefix. */
function commanderProblem(error: CommanderError): string {
  const message = error.message.replace(/^error: /, '');
  if (error.code === 'commander.unknownOption') {
    return `${message.replace(/^unknown option/, 'Unknown option')}. See --help for the options.`;
  }
  if (error.code === 'commander.excessArguments') return `Unexpected argument: ${message}`;
  return message;
}

/** Flag values split by kind: the text of each value flag, and whether a switch was given. */
export interface SplitFlags {
  text: Record<string, string | undefined>;
  on(name: string): boolean;
}

export function splitFlags(values: FlagValues): SplitFlags {
  const text = Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, typeof value === 'string' ? value : undefined]),
  );
  return { text, on: (name) => values[name] === true };
}
