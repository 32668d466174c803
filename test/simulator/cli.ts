/**
 * Command line for the Mimecast simulator: `npm run simulator -- --port 8080 --events 50000 --seed 7`.
 * Prints the URL, both credential sets and example calls, and stops cleanly on SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import { type RunningSimulator, type SimulatorOptions, SimulatorOptionsError, startSimulator } from './index';
import { DEFAULT_VARIANTS, type SimulatorVariants } from './options';
import { V1_LOG_TYPES, V2_LOG_TYPES } from './siem-records';

export const HELP = `Mimecast API simulator (API 1.0 HMAC and API 2.0 OAuth2 on one loopback URL)

Usage: npm run simulator -- [options]

Listener and data
  --port <n>                     port on 127.0.0.1 (default 0: a free port)
  --seed <n>                     seed of the synthetic tenant and its credentials (default 1)
  --events <n>                   records per stream, every stream (default: a mixed tenant of a few
                                 hundred per stream; siem counts per API version, feeds count indicators)
  --events-for <stream>=<n>      records for one stream (repeatable); streams: ${STREAM_IDS.join(', ')}
  --range-start <iso>            event times start here (default: 24 h before --range-end)
  --range-end <iso>              event times end here (default: 10 minutes ago)

SIEM files
  --v1-file-format <f>           json | key_value: the format ground truth describes (default json)
  --v1-events-per-file <n>       most events in one API 1.0 file (default 100)
  --v2-events-per-file <n>       most events in one API 2.0 batch file (default 100)
  --siem-file-interval-ms <n>    one file per log type per time slice of this length; 0 = no slicing
                                 (default 1800000). For one very large file: --siem-file-interval-ms 0
                                 --v1-log-types receipt --v1-events-per-file 200000 --events-for siem=200000
  --v1-log-types <a,b>           of ${V1_LOG_TYPES.join(', ')}
                                 (default receipt,process,delivery,jrnl,ttp_url)
  --v2-log-types <a,b>           of ${V2_LOG_TYPES.join(', ')} (default all)
  --batch-url-ttl-ms <n>         lifetime of pre-signed batch file URLs (default 900000)
  --feed-indicators-per-file <n> indicators per threat-feed file (default 50)

Auth and quotas
  --token-expires-in <s>         OAuth token lifetime in seconds (default 1799)
  --rate-limit <cap>/<per-sec>   call quota per user/app on /api and /siem calls, e.g. 50/0.5 (default none)
  --token-rate-limit <cap>/<per-sec>  quota on POST /oauth/token (default 20/0.333)

Reference UNCERTAIN points
  --variant <name>=<value>       repeatable; names and defaults:
${Object.entries(DEFAULT_VARIANTS)
  .map(
    ([name, value]) =>
      `                                   ${name}=${Array.isArray(value) ? value.join(',') : String(value)}`,
  )
  .join('\n')}

Demo helpers
  --publish-every <s>            add new records to every stream every <s> seconds
  --publish-count <n>            records per stream per publish (default 10)
  --publish-late-seconds <s>     event times of published records lie this far in the past (default 0)
  --write-credentials <file>     write {"url","v1","v2"} as JSON to <file> (mode 600)
  --log-requests                 print one line per request
  --help                         this text

Admin (loopback only): GET /__admin/ground-truth?stream=<id>&api=<1|2>, POST /__admin/publish
{"stream","count","lateBySeconds"}, POST|DELETE /__admin/faults, GET /__admin/requests,
POST /__admin/expire-binding, POST /__admin/revoke-tokens.
`;

export interface CliSettings {
  options: SimulatorOptions;
  publishEverySeconds?: number;
  publishCount: number;
  publishLateSeconds: number;
  writeCredentials?: string;
  help: boolean;
}

function toNumber(name: string, raw: string | undefined, problems: string[]): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    problems.push(`--${name}: not a number: ${raw}`);
    return undefined;
  }
  return value;
}

function toDate(name: string, raw: string | undefined, problems: string[]): Date | undefined {
  if (raw === undefined) return undefined;
  const value = new Date(raw);
  if (Number.isNaN(value.getTime())) problems.push(`--${name}: not a date: ${raw}`);
  return value;
}

function toRate(name: string, raw: string | undefined, problems: string[]) {
  if (raw === undefined) return undefined;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(raw);
  if (!match) {
    problems.push(`--${name}: expected <capacity>/<refillPerSecond>, e.g. 50/0.5`);
    return undefined;
  }
  return { capacity: Number(match[1]), refillPerSecond: Number(match[2]) };
}

function variantValue(name: string, raw: string): unknown {
  const fallback = (DEFAULT_VARIANTS as Record<string, unknown>)[name];
  if (Array.isArray(fallback)) return raw.split(',').map((part) => part.trim());
  if (typeof fallback === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (typeof fallback === 'number' || /^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** argv (without node and script) to simulator options; every problem is reported at once. */
export function parseCli(argv: string[]): { settings?: CliSettings; problems: string[] } {
  const problems: string[] = [];
  let values: ReturnType<typeof parse>['values'];
  const parse = (args: string[]) =>
    parseArgs({
      args,
      strict: true,
      options: {
        port: { type: 'string' },
        seed: { type: 'string' },
        events: { type: 'string' },
        'events-for': { type: 'string', multiple: true },
        'range-start': { type: 'string' },
        'range-end': { type: 'string' },
        'v1-file-format': { type: 'string' },
        'v1-events-per-file': { type: 'string' },
        'v2-events-per-file': { type: 'string' },
        'siem-file-interval-ms': { type: 'string' },
        'v1-log-types': { type: 'string' },
        'v2-log-types': { type: 'string' },
        'batch-url-ttl-ms': { type: 'string' },
        'feed-indicators-per-file': { type: 'string' },
        'token-expires-in': { type: 'string' },
        'rate-limit': { type: 'string' },
        'token-rate-limit': { type: 'string' },
        variant: { type: 'string', multiple: true },
        'publish-every': { type: 'string' },
        'publish-count': { type: 'string' },
        'publish-late-seconds': { type: 'string' },
        'write-credentials': { type: 'string' },
        'log-requests': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  try {
    values = parse(argv).values;
  } catch (error) {
    return { problems: [(error as Error).message] };
  }

  const events: Partial<Record<StreamId, number>> = {};
  const everyStream = toNumber('events', values.events, problems);
  if (everyStream !== undefined) for (const stream of STREAM_IDS) events[stream] = everyStream;
  for (const entry of values['events-for'] ?? []) {
    const [stream, count] = entry.split('=');
    if (!(STREAM_IDS as readonly string[]).includes(stream))
      problems.push(`--events-for: unknown stream ${stream}`);
    else events[stream as StreamId] = toNumber('events-for', count, problems);
  }

  const variants: Record<string, unknown> = {};
  for (const entry of values.variant ?? []) {
    const at = entry.indexOf('=');
    const name = at < 0 ? entry : entry.slice(0, at);
    if (at < 0 || !(name in DEFAULT_VARIANTS)) {
      problems.push(`--variant: expected <name>=<value> with a name from --help, got ${entry}`);
      continue;
    }
    variants[name] = variantValue(name, entry.slice(at + 1));
  }

  const rangeStart = toDate('range-start', values['range-start'], problems);
  const rangeEnd = toDate('range-end', values['range-end'], problems);
  let range: SimulatorOptions['range'];
  if (rangeStart || rangeEnd) {
    const end = rangeEnd ?? new Date(Date.now() - 10 * 60_000);
    range = { start: rangeStart ?? new Date(end.getTime() - 86_400_000), end };
  }
  const list = (raw: string | undefined) => raw?.split(',').map((part) => part.trim());
  const siem: Record<string, unknown> = {
    v1FileFormat: values['v1-file-format'],
    v1EventsPerFile: toNumber('v1-events-per-file', values['v1-events-per-file'], problems),
    v2EventsPerFile: toNumber('v2-events-per-file', values['v2-events-per-file'], problems),
    fileIntervalMs: toNumber('siem-file-interval-ms', values['siem-file-interval-ms'], problems),
    v1LogTypes: list(values['v1-log-types']),
    v2LogTypes: list(values['v2-log-types']),
    batchUrlTtlMs: toNumber('batch-url-ttl-ms', values['batch-url-ttl-ms'], problems),
  };
  const defined = <T extends Record<string, unknown>>(record: T) =>
    Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;

  const indicatorsPerFile = toNumber(
    'feed-indicators-per-file',
    values['feed-indicators-per-file'],
    problems,
  );
  const options: SimulatorOptions = defined({
    port: toNumber('port', values.port, problems),
    seed: toNumber('seed', values.seed, problems),
    events: Object.keys(events).length > 0 ? events : undefined,
    range,
    siem: defined(siem) as SimulatorOptions['siem'],
    threatFeed: indicatorsPerFile === undefined ? undefined : { indicatorsPerFile },
    variants: Object.keys(variants).length > 0 ? (variants as SimulatorVariants) : undefined,
    tokenExpiresInSeconds: toNumber('token-expires-in', values['token-expires-in'], problems),
    rateLimit: toRate('rate-limit', values['rate-limit'], problems),
    tokenRateLimit: toRate('token-rate-limit', values['token-rate-limit'], problems),
    onRequestLog: values['log-requests'] ? (line: string) => console.log(line) : undefined,
  });
  const publishEverySeconds = toNumber('publish-every', values['publish-every'], problems);
  if (publishEverySeconds !== undefined && !(publishEverySeconds > 0))
    problems.push('--publish-every must be > 0');
  const settings: CliSettings = {
    options,
    publishEverySeconds,
    publishCount: toNumber('publish-count', values['publish-count'], problems) ?? 10,
    publishLateSeconds: toNumber('publish-late-seconds', values['publish-late-seconds'], problems) ?? 0,
    writeCredentials: values['write-credentials'],
    help: values.help === true,
  };
  return { settings: problems.length === 0 ? settings : undefined, problems };
}

/** Prints x-mc-date, x-mc-req-id and the MC signature for $MC_PATH as shell assignments (docs/mimecast-api.md A.2). */
export const SIGN_ONE_LINER = String.raw`node -e 'const c=require("crypto"),e=process.env,d=new Date().toUTCString().replace("GMT","UTC"),r=c.randomUUID(),s=c.createHmac("sha1",Buffer.from(e.MIMECAST_SECRET_KEY,"base64")).update(d+":"+r+":"+e.MC_PATH+":"+e.MIMECAST_APP_KEY).digest("base64");console.log("MC_DATE=\""+d+"\" MC_REQ_ID="+r+" MC_AUTH=\"MC "+e.MIMECAST_ACCESS_KEY+":"+s+"\"")'`;

function banner(sim: RunningSimulator, seed: number): string {
  const { v1, v2 } = sim.credentials;
  const path = '/api/audit/get-audit-events';
  const end = new Date().toISOString().replace(/\.\d{3}Z$/, '+0000');
  const start = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const body = JSON.stringify({
    meta: { pagination: { pageSize: 5 } },
    data: [{ startDateTime: start, endDateTime: end }],
  });
  return `Mimecast simulator listening on ${sim.url} (seed ${seed})

API 1.0 credentials (HMAC "MC" signature):
  export MIMECAST_APP_ID='${v1.appId}'
  export MIMECAST_APP_KEY='${v1.appKey}'
  export MIMECAST_ACCESS_KEY='${v1.accessKey}'
  export MIMECAST_SECRET_KEY='${v1.secretKey}'

API 2.0 credentials (OAuth2 client credentials):
  export MIMECAST_CLIENT_ID='${v2.clientId}'
  export MIMECAST_CLIENT_SECRET='${v2.clientSecret}'

Example, API 2.0 (after the exports above):
  TOKEN=$(curl -s -X POST ${sim.url}/oauth/token -d grant_type=client_credentials \\
    --data-urlencode client_id="$MIMECAST_CLIENT_ID" --data-urlencode client_secret="$MIMECAST_CLIENT_SECRET" \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -X POST ${sim.url}${path} -H "Authorization: Bearer $TOKEN" \\
    -H 'Content-Type: application/json' -d '${body}'

Example, API 1.0 (after the exports above; sign again for every request):
  export MC_PATH=${path}
  eval "$(${SIGN_ONE_LINER})"
  curl -s -X POST "${sim.url}$MC_PATH" -H "Authorization: $MC_AUTH" -H "x-mc-date: $MC_DATE" \\
    -H "x-mc-req-id: $MC_REQ_ID" -H "x-mc-app-id: $MIMECAST_APP_ID" -H 'Content-Type: application/json' \\
    -d '${body}'

Ground truth: curl -s '${sim.url}/__admin/ground-truth?stream=audit&api=1'
Press Ctrl+C to stop.`;
}

export async function main(argv: string[]): Promise<number> {
  const { settings, problems } = parseCli(argv);
  if (!settings) {
    console.error(`${problems.map((p) => `error: ${p}`).join('\n')}\n\nRun with --help for the options.`);
    return 2;
  }
  if (settings.help) {
    console.log(HELP);
    return 0;
  }
  let sim: RunningSimulator;
  try {
    sim = await startSimulator(settings.options);
  } catch (error) {
    if (error instanceof SimulatorOptionsError) {
      console.error(
        `${error.problems.map((p) => `error: ${p}`).join('\n')}\n\nRun with --help for the options.`,
      );
      return 2;
    }
    throw error;
  }
  console.log(banner(sim, settings.options.seed ?? 1));
  if (settings.writeCredentials) {
    writeFileSync(settings.writeCredentials, JSON.stringify({ url: sim.url, ...sim.credentials }, null, 2), {
      mode: 0o600,
    });
    console.log(`Credentials written to ${settings.writeCredentials}`);
  }
  let publisher: NodeJS.Timeout | undefined;
  if (settings.publishEverySeconds) {
    publisher = setInterval(() => {
      for (const stream of STREAM_IDS) {
        sim.publish(stream, settings.publishCount, { lateBySeconds: settings.publishLateSeconds });
      }
      console.log(`${new Date().toISOString()} published ${settings.publishCount} records to every stream`);
    }, settings.publishEverySeconds * 1000);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`${signal}: stopping`);
      if (publisher) clearInterval(publisher);
      // A stuck close must not keep the process alive forever.
      setTimeout(() => process.exit(1), 5000).unref();
      sim.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
