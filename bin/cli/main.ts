/** `mimecast-collector`: the command-line tool. Each command lives in its own module. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type CliIO, type Command, EXIT_OK, EXIT_USAGE } from './io';
import { RUN_HELP, runCommand } from './run';

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

// Commands load on demand, so `run` never pays for the SDK clients `configure` needs, and vice versa.
// require(), not import(): bin/mimecast-collector.js registers tsx for require only, and a dynamic
// import() goes to Node's ESM loader, which cannot find the .ts files.
const COMMANDS: Record<string, CommandEntry> = {
  run: {
    summary: 'collect Mimecast logs into an HTTP endpoint from this machine',
    load: async () => runCommand,
  },
  configure: {
    summary: "store Mimecast credentials in the stack's secret (KMS-wrapped)",
    load: async () => (require('./configure') as typeof import('./configure')).configureCommand,
  },
  verify: {
    summary: 'check each stream with one real call, and that the sink answers',
    load: async () => (require('./verify') as typeof import('./verify')).verifyCommand,
  },
  status: {
    summary: 'show where each stream stands: cursor, newest event, lag, errors, lease',
    load: async () => (require('./status') as typeof import('./status')).statusCommand,
  },
  receive: {
    summary: 'take Mimecast Event Push requests over HTTP and forward them to the destination',
    load: async () => (require('./receive') as typeof import('./receive')).receiveCommand,
  },
  reset: {
    summary: "forget one stream's checkpoint so it starts again from --start",
    load: async () => (require('./reset') as typeof import('./reset')).resetCommand,
  },
};

export const MAIN_HELP = `Usage: mimecast-collector <command> [options]

Moves Mimecast security logs into any SIEM over HTTP; checkpoints move only after delivery.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run \`mimecast-collector <command> --help\` for a command's options.

Example (local, against your Mimecast tenant):
${RUN_HELP.split('Example:\n')[1]?.trimEnd() ?? ''}
`;

/** Hidden input: the answer is read from the terminal without being echoed. */
function promptHidden(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return Promise.resolve(undefined);
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

export function processIO(): CliIO {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    promptHidden,
    signal: controller.signal,
  };
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`error: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. See --help.`);
    return EXIT_USAGE;
  }
  return (await command.load())(rest, io);
}
