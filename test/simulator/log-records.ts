/**
 * Records of the paged JSON log endpoints (docs/mimecast-api.md B.2–B.8), shaped like the public fixtures:
 * field names, value styles (`+0000` seconds timestamps, `eNq…` ids, booleans where Mimecast sends
 * booleans), and plausible mixes of actions and results.
 */
import { formatMimecastDate } from './dates';
import { Rng, saltOf } from './random';
import { FILE_NAMES, SUBJECTS, type Tenant, URLS } from './tenant';

export const LOG_STREAMS = [
  'audit',
  'ttp-url',
  'ttp-attachment',
  'ttp-impersonation',
  'dlp',
  'held-release',
  'archive-search',
] as const;
export type LogStreamId = (typeof LOG_STREAMS)[number];

/** The field carrying each record's event time. */
export const LOG_TIME_FIELD: Record<LogStreamId, string> = {
  audit: 'eventTime',
  'ttp-url': 'date',
  'ttp-attachment': 'date',
  'ttp-impersonation': 'eventTime',
  dlp: 'eventTime',
  'held-release': 'released',
  'archive-search': 'createTime',
};

type LogRecord = Record<string, unknown>;

interface GenerateContext {
  seed: number;
  tenant: Tenant;
}

const ROUTES = ['inbound', 'outbound', 'internal'] as const;

function messageId(rng: Rng, domain: string): string {
  return `<${rng.hex(16)}-${rng.int(100000, 999999)}@${domain}>`;
}

function mimecastId(rng: Rng): string {
  // Mimecast ids are deflated, base64url blobs; only the look matters here.
  return `eNqrVipOTS4tSs1MUbJS${rng.base64url(110)}`;
}

const AUDIT_EVENTS: readonly (readonly [category: string, auditType: string, what: string, app: string])[] = [
  ['authentication_logs', 'User Logged On', 'Logon successful', 'Administration Console'],
  ['authentication_logs', 'Logon Authentication Failed', 'Invalid password', 'Administration Console'],
  ['authentication_logs', 'Application Logged On', 'API application logon', 'Integrations'],
  [
    'account_logs',
    'Account Updated',
    'Account settings changed - Attachment management',
    'Administration Console',
  ],
  ['reporting_logs', 'Threat Intel Feed Download', 'Threat intel multiple feeds download', 'Integrations'],
  ['reporting_logs', 'Report Exported', 'Exported report - Top Spam Recipients', 'Administration Console'],
  [
    'case_review_logs',
    'Review Set Action',
    'Viewed Review Set Details - Case: GDPR/CCPA',
    'mimecast-case-review',
  ],
  ['case_review_logs', 'Case Action', 'Viewed Case - Case: GDPR/CCPA', 'mimecast-case-review'],
  [
    'mimecast_access_logs',
    'Support Login',
    'Mimecast support logged on to the account',
    'Administration Console',
  ],
  ['archive_service_logs', 'Search Action', 'Inspected Review Set Messages', 'Administration Console'],
  ['integrations_and_apis', 'API Application Updated', 'API application keys regenerated', 'Integrations'],
  [
    'profile_group_logs',
    'Group Member Added',
    'Added member to group Permitted Senders',
    'Administration Console',
  ],
  [
    'user_account_and_role_logs',
    'Role Assigned',
    'Assigned role Basic Administrator',
    'Administration Console',
  ],
];

export const AUDIT_CATEGORIES = [...new Set(AUDIT_EVENTS.map(([category]) => category))];

function audit(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const [category, auditType, what, app] = rng.pick(AUDIT_EVENTS);
  const stamp = formatMimecastDate(time);
  return {
    id: mimecastId(rng),
    auditType,
    user: rng.chance(0.3) ? rng.pick(tenant.admins) : rng.pick(tenant.users),
    eventTime: stamp,
    eventInfo: `${what}, Date: ${stamp.slice(0, 10)}, Time: ${stamp.slice(11)}, IP: ${rng.documentationIp()}, Application: ${app}`,
    category,
  };
}

function ttpUrl(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const route = rng.pick(ROUTES);
  const malicious = rng.chance(0.25);
  const url = rng.pick(URLS);
  const record: LogRecord = {
    userEmailAddress: rng.pick(tenant.users),
    fromUserEmailAddress: route === 'inbound' ? rng.pick(tenant.externalSenders) : rng.pick(tenant.users),
    url,
    ttpDefinition: `Default ${route[0].toUpperCase()}${route.slice(1)} URL Protect Definition`,
    subject: rng.pick(SUBJECTS),
    action: malicious ? rng.pick(['block', 'warn']) : 'allow',
    adminOverride: 'N/A',
    userOverride: 'None',
    scanResult: malicious ? 'malicious' : 'clean',
    category: malicious
      ? rng.pick(['Phishing & Fraud', 'Compromised', 'Dangerous file extension'])
      : rng.pick(['Business', 'Search Engines & Portals', 'News']),
    sendingIp: route === 'internal' ? 'Internal IP' : rng.documentationIp(),
    userAwarenessAction: rng.pick(['N/A', 'Continue']),
    date: formatMimecastDate(time),
    actions: malicious ? 'Block' : 'Allow',
    route,
    creationMethod: rng.pick(['User Click', 'Entry Scan']),
    emailPartsDescription: [rng.pick(['Body', 'Attachment'])],
    messageId: messageId(rng, rng.pick(tenant.externalDomains)),
  };
  if (malicious) {
    record.tagMap = {
      UrlReputationScan: { Status: ['CustomerAll', 'VerdictBlock'], Type: [record.category], Url: [url] },
    };
  }
  return record;
}

function ttpAttachment(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const [fileName, , mime] = rng.pick(FILE_NAMES);
  const malicious = rng.chance(0.15);
  const route = rng.pick(ROUTES);
  const taken = rng.int(1, 9);
  return {
    senderAddress: route === 'inbound' ? rng.pick(tenant.externalSenders) : rng.pick(tenant.users),
    recipientAddress: rng.pick(tenant.users),
    fileName,
    fileType: mime,
    result: malicious ? 'malicious' : rng.pick(['safe', 'safe', 'safe', 'timeout']),
    actionTriggered: malicious ? 'none' : rng.pick(['none, none', 'user release, none']),
    date: formatMimecastDate(time),
    details: `${malicious ? 'Malicious' : 'Safe'}\r\nTime taken: 0 hrs, 0 min, ${taken} sec`,
    route,
    messageId: messageId(rng, rng.pick(tenant.externalDomains)),
    subject: rng.pick(SUBJECTS),
    fileHash: rng.hex(64),
    definition: `Default ${route[0].toUpperCase()}${route.slice(1)} Attachment Protect Definition`,
  };
}

function ttpImpersonation(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const victim = rng.pick(tenant.users);
  const display = victim
    .slice(0, victim.indexOf('@'))
    .split('.')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join(' ');
  const hits = rng.int(1, 3);
  const identifiers = ['internal_user_name', 'similar_internal_domain', 'newly_observed_domain'].slice(
    0,
    hits,
  );
  const spoofDomain = `${tenant.domain.replace('.example', '')}-secure.example`;
  return {
    id: `MTOKEN:${mimecastId(rng)}`,
    senderAddress: `${rng.pick(['ceo', 'finance', 'it-support'])}@${spoofDomain}`,
    recipientAddress: victim,
    subject: rng.pick(SUBJECTS),
    definition: `IP - ${hits} hit${hits > 1 ? 's' : ''} (Tag email)`,
    hits,
    identifiers,
    action: rng.pick(['none', 'hold', 'bounce']),
    taggedExternal: rng.chance(0.5),
    taggedMalicious: rng.chance(0.7),
    senderIpAddress: rng.documentationIp(),
    eventTime: formatMimecastDate(time),
    impersonationResults: identifiers.map((identifier) => ({
      impersonationDomainSource: identifier,
      similarDomain: `${display} <${victim.slice(0, victim.indexOf('@'))}_x@${spoofDomain}>`,
      stringSimilarToDomain: display,
      checkerResult: 'hit',
    })),
    messageId: messageId(rng, spoofDomain),
  };
}

function dlp(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const route = rng.pick(ROUTES);
  return {
    senderAddress: route === 'inbound' ? rng.pick(tenant.externalSenders) : rng.pick(tenant.users),
    recipientAddress: route === 'outbound' ? rng.pick(tenant.externalSenders) : rng.pick(tenant.users),
    subject: rng.pick(SUBJECTS),
    eventTime: formatMimecastDate(time),
    route,
    policy: rng.pick([
      'Confidential',
      'Content Inspection - Watermark',
      'PCI - Card Numbers',
      'GDPR Personal Data',
    ]),
    action: rng.pick(['hold', 'notification', 'block', 'smtp_bounce']),
    messageId: messageId(rng, tenant.domain),
  };
}

function allowInfo(rng: Rng, allowed: readonly string[]): { allow: boolean; info: string } {
  return { allow: rng.chance(0.9), info: rng.pick(allowed) };
}

function heldRelease(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const rejected = rng.chance(0.35);
  const sender = rng.pick(tenant.externalSenders);
  const score = rng.int(3, 25);
  const risk = score > 15 ? 'high' : score > 8 ? 'medium' : 'low';
  const record: LogRecord = {
    id: mimecastId(rng),
    status: rejected ? 'rejected' : 'released',
  };
  if (rejected) record.rejectReason = 'Message goes against email policies';
  Object.assign(record, {
    heldReason: 'Default Spam Scanning Definition',
    messageInfo: rng.pick(['Graymail', 'Spam Policy', 'Attachment Policy']),
    released: formatMimecastDate(time),
    operator: { emailAddress: rng.pick(tenant.admins) },
    fromEnv: { emailAddress: sender },
    fromHdr: { emailAddress: sender },
    to: [{ emailAddress: rng.pick(tenant.users) }],
    subject: rng.pick(SUBJECTS),
    attachments: rng.chance(0.3),
    route: 'inbound',
    size: rng.int(2000, 4_000_000),
    policy: 'Default Spam Scanning Definition',
    spamScore: score,
    detectionLevel: rng.pick(['relaxed', 'moderate', 'aggressive']),
    spamProcessingDetail: {
      rbl: allowInfo(rng, ['']),
      greyEmail: rng.chance(0.4),
      spf: allowInfo(rng, ['allow', 'neutral']),
      dkim: allowInfo(rng, ['unknown', 'allow']),
      dmarc: allowInfo(rng, ['allow', 'none']),
      permittedSender: allowInfo(rng, ['none']),
      managedSender: allowInfo(rng, ['unknown']),
      verdict: {
        decision: 'spam',
        description: '',
        risk,
        categories: [
          {
            name: 'spam',
            risk,
            subcategories: [{ name: 'technology_feed', risk, augmentations: [] }],
          },
        ],
      },
    },
  });
  return record;
}

function archiveSearch(rng: Rng, time: number, { tenant }: GenerateContext): LogRecord {
  const tracking = rng.chance(0.6);
  return {
    createTime: formatMimecastDate(time),
    emailAddr: rng.chance(0.1) ? '<>' : rng.pick(tenant.admins),
    source: 'archive',
    searchText: tracking
      ? `[User : ${rng.pick(tenant.users)}]`
      : rng.pick(['', 'invoice', '[Status : held]']),
    searchReason: rng.pick(['', '', 'Legal hold review']),
    description: tracking
      ? 'Message Tracking Search'
      : rng.pick(['Audit [Page 1] - Depth 100', 'Threat Remediation search']),
  };
}

const GENERATORS: Record<LogStreamId, (rng: Rng, time: number, context: GenerateContext) => LogRecord> = {
  audit,
  'ttp-url': ttpUrl,
  'ttp-attachment': ttpAttachment,
  'ttp-impersonation': ttpImpersonation,
  dlp,
  'held-release': heldRelease,
  'archive-search': archiveSearch,
};

const SALTS = Object.fromEntries(LOG_STREAMS.map((stream) => [stream, saltOf(stream)])) as Record<
  LogStreamId,
  number
>;

/** The record with sequence number `seq` of a stream: a pure function of its arguments. */
export function generateLogRecord(
  stream: LogStreamId,
  seq: number,
  time: number,
  context: GenerateContext,
): LogRecord {
  return GENERATORS[stream](Rng.of(context.seed, SALTS[stream], seq), time, context);
}
