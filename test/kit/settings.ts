/** Collector settings for a test rig: what the rig decides, the rest at the settings' defaults. */
import type { CollectorSettings } from '../../lambda/config';
import { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from '../../lambda/mimecast/constants';

export type RigSettings = Pick<
  CollectorSettings,
  'instance' | 'apiVersion' | 'mimecastBaseUrl' | 'streams' | 'sinkUrl' | 'sinkFormat'
> &
  Partial<CollectorSettings>;

export function rigSettings(settings: RigSettings): CollectorSettings {
  return {
    latenessMarginSeconds: 300,
    lateDataMinutes: 60,
    maxPagesPerTick: 100,
    batchMaxEvents: 5000,
    batchMaxBytes: 4 * 1024 * 1024,
    jsonPageSize: 500,
    siemBatchPageSize: 100,
    siemEventTypes: [...SIEM_V2_EVENT_TYPES],
    siemCiEventTypes: [...SIEM_CI_EVENT_TYPES],
    awarenessSnapshotHours: 24,
    ...settings,
  };
}
