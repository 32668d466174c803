/** `npm run bench`'s command line: its flags, their help, and nothing run or written unless asked. */
import { parseArgs } from 'node:util';

export const BENCH_HELP = `Usage: npm run bench -- [options]

Measures the collector's throughput, CPU and memory against the transfer floor, the Lambda asset's
size and cold initialisation, and a cost model, on loopback (about 5 minutes here, 9 with --baseline
and --profile). Prints the report; writes docs/PERFORMANCE.md only with --write-doc.

Options:
  --runs N               runs per workload; the report shows medians, 1-9              [3]
  --scale F              event counts x F, more than 0 and at most 2                   [1]
  --workloads A,B        only these workloads                                          [all]
  --profile              also profile one collector run per workload (--cpu-prof) and print the
                         hottest functions
  --baseline REF         also run that git ref's handler (or a directory with lambda/),
                         alternating with this tree's runs; adds a before/after table
  --node-options FLAGS   added to the measured processes' NODE_OPTIONS, for experiments
  --write-doc            rewrite the "Latest run" section of docs/PERFORMANCE.md
  -h, --help             this text

Example (a one-minute smoke run): npm run bench -- --scale 0.05 --runs 1
`;

export interface BenchOptions {
  baseline?: string;
  nodeOptions?: string;
  runs: number;
  scale: number;
  workloads?: string[];
  profile: boolean;
  writeDoc: boolean;
}

/** The options, or 'help'; throws an Error whose message names the flag and what it takes. */
export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: 'string' },
      scale: { type: 'string' },
      workloads: { type: 'string' },
      profile: { type: 'boolean' },
      baseline: { type: 'string' },
      'node-options': { type: 'string' },
      'write-doc': { type: 'boolean' },
      // Accepted for old command lines: not writing the doc is now the default.
      'no-doc': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const runs = Number(values.runs ?? 3);
  const scale = Number(values.scale ?? 1);
  if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new Error('--runs must be 1..9');
  if (!(scale > 0 && scale <= 2)) throw new Error('--scale must be in (0, 2]');
  const baseline = values.baseline;
  if (baseline !== undefined && !/^[\w./~^-]+$/.test(baseline))
    throw new Error('--baseline must be a git ref');
  if (values['write-doc'] && values['no-doc'])
    throw new Error('use either --write-doc or --no-doc, not both');
  return {
    baseline,
    nodeOptions: values['node-options'],
    runs,
    scale,
    workloads: values.workloads?.split(','),
    profile: values.profile === true,
    writeDoc: values['write-doc'] === true,
  };
}
