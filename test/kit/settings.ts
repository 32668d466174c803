/** Collector settings for a test rig: what the rig decides, the rest at the settings' defaults. */
import type { CollectorSettings } from '../../lambda/config';
import { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from '../../lambda/mimecast/constants';
import { toMimecastBaseUrl, toSinkUrl } from '../../lambda/settings';

export type RigSettings = Pick<CollectorSettings, 'instance' | 'apiVersion' | 'streams' | 'sinkFormat'> &
  Partial<Omit<CollectorSettings, 'mimecastBaseUrl' | 'sinkUrl'>> & {
    /** Loopback URLs, checked here as the settings parser checks them. */
    mimecastBaseUrl: string;
    sinkUrl: string;
  };

export function rigSettings({ mimecastBaseUrl, sinkUrl, ...settings }: RigSettings): CollectorSettings {
  return {
    latenessMarginSeconds: 300,
    lateDataMinutes: 60,
    maxPagesPerStream: 100,
    batchMaxEvents: 5000,
    batchMaxBytes: 4 * 1024 * 1024,
    jsonPageSize: 500,
    siemBatchPageSize: 100,
    siemEventTypes: [...SIEM_V2_EVENT_TYPES],
    siemCiEventTypes: [...SIEM_CI_EVENT_TYPES],
    awarenessSnapshotHours: 24,
    pushPrimaryStreams: [],
    pushTrailSeconds: 900,
    ...settings,
    hecAck: settings.hecAck ?? false,
    retentionDays: settings.retentionDays ?? 7,
    syslogMaxMessageBytes: settings.syslogMaxMessageBytes ?? 200_000,
    azureAuthorityUrl: settings.azureAuthorityUrl ?? 'https://login.microsoftonline.com',
    mimecastBaseUrl: toMimecastBaseUrl(mimecastBaseUrl),
    sinkUrl: toSinkUrl(sinkUrl),
  };
}
