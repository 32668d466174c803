/** The HTTP wire formats by name: the one place a `--sink-format` value becomes its module. */
import type { ConfigProblem } from '../errors';
import { datadogFormat } from './datadog';
import { elasticBulkFormat, resolveBulkUrl } from './elastic-bulk';
import type { HttpFormat, SinkFormat } from './format';
import { type HecAckOptions, hecAckFormat } from './hec-ack';
import { ndjsonFormat } from './ndjson';
import { resolveSentinelUrl, sentinelFormat } from './sentinel';
import { resolveHecUrl, splunkHecFormat } from './splunk-hec';
import { resolveSumoUrl, sumoFormat } from './sumo';

/** Options some formats read. */
export interface FormatOptions {
  /** elastic-bulk: index for every document (`_index`); splunk-hec: the HEC `index` field. Optional. */
  index?: string;
  /** splunk-hec: indexer acknowledgement (`--hec-ack`): poll each post's ackId before acknowledging. */
  hecAck?: boolean | HecAckOptions;
  /**
   * The sink token from the secret, never a flag: the Authorization value (`Bearer`, `Splunk`, `ApiKey`),
   * Datadog's `DD-API-KEY`, or the Sumo source token when the URL ends at /receiver/v1/http/.
   */
  token?: string;
}

export function buildFormat(
  format: SinkFormat,
  url: URL,
  options: FormatOptions,
  problems: ConfigProblem[],
): HttpFormat | undefined {
  switch (format) {
    case 'ndjson':
      return ndjsonFormat(url);
    case 'splunk-hec': {
      const resolved = resolveHecUrl(url, problems);
      if (resolved === undefined) return undefined;
      const plain = splunkHecFormat(resolved, options.index);
      return options.hecAck === undefined || options.hecAck === false
        ? plain
        : hecAckFormat(plain, options.hecAck === true ? {} : options.hecAck);
    }
    case 'elastic-bulk': {
      const resolved = resolveBulkUrl(url, options.index, problems);
      return resolved === undefined ? undefined : elasticBulkFormat(resolved, options.index);
    }
    case 'sumo': {
      const resolved = resolveSumoUrl(url, options.token, problems);
      return resolved === undefined ? undefined : sumoFormat(resolved);
    }
    case 'datadog':
      return datadogFormat(url);
    case 'sentinel': {
      const target = resolveSentinelUrl(url, problems);
      return target === undefined ? undefined : sentinelFormat(target);
    }
    case 's3':
    case 'file':
    case 'syslog':
      problems.push({
        field: 'format',
        problem: `${format} is not an HTTP format; build it with createDestination`,
      });
      return undefined;
  }
}
