/**
 * What `receive` and `drain` both take to forward events: the destination, the instance, the batch
 * limits and the push-primary streams, each parsed by its setting's one schema
 * (lambda/settings/schema.ts) and named by its flag.
 */
import type { ConfigProblem } from '../../lambda/errors';
import {
  type CollectorSettings,
  SETTING_CARRIERS,
  SETTING_SCHEMAS,
  SETTINGS_FLAG_NAMES,
} from '../../lambda/settings';
import type { FlagDeclaration, FlagValues } from './flags';

/** A setting's flag without its dashes, as the command declarations name flags. */
export const flagName = (setting: keyof typeof SETTING_CARRIERS) =>
  SETTING_CARRIERS[setting].flag.replace(/^--/, '');

/** A flag's value as text (a switch given is `true`), or undefined when absent. */
export function flagText(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : value === true ? 'true' : undefined;
}

export type ForwardingSettings = Pick<
  CollectorSettings,
  'sinkFormat' | 'sinkUrl' | 'hecAck' | 'instance' | 'batchMaxEvents' | 'batchMaxBytes' | 'pushPrimaryStreams'
>;

/**
 * Events of these streams, once delivered, go into the push ledger of the same state folder or table,
 * which `run --push-primary` reads to leave them out (docs/PUSH-GAP-FILL.md).
 */
export const PUSH_PRIMARY_FLAG: FlagDeclaration = {
  name: flagName('pushPrimaryStreams'),
  value: 'LIST',
  description:
    'streams `run --push-primary` fills the gaps of: their delivered events are recorded in the push ledger of --state-dir (or --table), for that run to leave out',
  defaultNote: 'none: nothing recorded',
};

/** The forwarding settings, or undefined with every problem pushed. */
export function parseForwardingFlags(
  values: FlagValues,
  problems: ConfigProblem[],
): ForwardingSettings | undefined {
  let complete = true;
  const parsed = <K extends keyof ForwardingSettings>(setting: K): ForwardingSettings[K] | undefined => {
    const result = SETTING_SCHEMAS[setting].safeParse(flagText(values, flagName(setting)));
    if (result.success) return result.data as ForwardingSettings[K];
    complete = false;
    for (const issue of result.error.issues) {
      problems.push({ field: SETTINGS_FLAG_NAMES[setting], problem: issue.message });
    }
    return undefined;
  };
  const settings = {
    sinkFormat: parsed('sinkFormat'),
    sinkUrl: parsed('sinkUrl'),
    hecAck: parsed('hecAck'),
    instance: parsed('instance'),
    batchMaxEvents: parsed('batchMaxEvents'),
    batchMaxBytes: parsed('batchMaxBytes'),
    pushPrimaryStreams: parsed('pushPrimaryStreams'),
  };
  const { sinkFormat, hecAck } = settings;
  if (hecAck === true && sinkFormat !== undefined && sinkFormat !== 'splunk-hec') {
    problems.push({
      field: '--hec-ack',
      problem: `is for --sink-format splunk-hec; the format is ${sinkFormat}`,
    });
  }
  return complete ? (settings as ForwardingSettings) : undefined;
}
