/**
 * Threat-intel feed content (docs/mimecast-api.md B.9): every indicator comes with the malware object it points at
 * and the `indicates` relationship between them, as in Mimecast's STIX 2.0 bundles.
 */
import { Rng, saltOf } from './random';

export const FEED_TYPES = ['malware_customer', 'malware_grid'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

export const OBJECTS_PER_INDICATOR = 3;

const MALWARE = [
  ['Transaction notice', 'virus'],
  ['Invoice dropper', 'trojan'],
  ['Remittance advice', 'trojan'],
  ['Shipping label loader', 'dropper'],
  ['Payroll update macro', 'virus'],
  ['Voicemail stealer', 'spyware'],
] as const;

export type StixObject = Record<string, unknown>;

/** The three STIX objects of indicator `seq` of a feed, created at `time`. */
export function indicatorObjects(feed: FeedType, seq: number, time: number, seed: number): StixObject[] {
  const rng = Rng.of(seed, saltOf(`stix:${feed}`), seq);
  const created = new Date(time).toISOString();
  const [name, label] = rng.pick(MALWARE);
  const malwareId = `malware--${rng.uuid()}`;
  const indicatorId = `indicator--${rng.uuid()}`;
  const hash = rng.hex(64);
  return [
    { type: 'malware', id: malwareId, created, modified: created, name, labels: [label] },
    {
      type: 'indicator',
      id: indicatorId,
      created,
      modified: created,
      labels: ['malicious-activity'],
      pattern: `[file:hashes.'SHA-256' = '${hash}']`,
      valid_from: created,
    },
    {
      type: 'relationship',
      id: `relationship--${rng.uuid()}`,
      created,
      modified: created,
      relationship_type: 'indicates',
      source_ref: indicatorId,
      target_ref: malwareId,
    },
  ];
}

export function bundleId(feed: FeedType, position: number, seed: number): string {
  return `bundle--${Rng.of(seed, saltOf(`bundle:${feed}`), position).uuid()}`;
}

/** The CSV flavour of the feed (the API's default fileType): one row per indicator. */
export function csvRows(objects: readonly StixObject[]): string {
  const rows = ['sha256,malware_name,label,created,valid_from'];
  for (let i = 0; i + 2 < objects.length; i += OBJECTS_PER_INDICATOR) {
    const [malware, indicator] = objects.slice(i, i + 2);
    const hash = /'([0-9a-f]{64})'/.exec(String(indicator.pattern))?.[1] ?? '';
    const labels = malware.labels as string[];
    rows.push(
      `${hash},"${String(malware.name)}",${labels[0]},${String(indicator.created)},${String(indicator.valid_from)}`,
    );
  }
  return `${rows.join('\n')}\n`;
}
