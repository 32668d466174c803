/**
 * SIEM (MTA) events. API 1.0 records use the PascalCase/short keys and typed JSON values of the v1 log
 * files (docs/mimecast-api.md B.1); API 2.0 Cloud Gateway records use camelCase keys, epoch-ms `timestamp`,
 * `type`/`subtype`, and string-typed numbers and booleans (docs/mimecast-api.md D.6).
 *
 * Consecutive events share a message (sender, recipient, subject, message id, aCode), as receipt,
 * process and delivery lines of one message do.
 */
import { formatMimecastDate } from './dates';
import { Rng, saltOf } from './random';
import { domainOf, FILE_NAMES, SUBJECTS, type Tenant, URLS } from './tenant';

export const V1_LOG_TYPES = [
  'receipt',
  'process',
  'delivery',
  'jrnl',
  'ttp_url',
  'av',
  'spam',
  'ttp_ap',
  'ttp_ip',
  'ttp_iep',
] as const;
export type V1LogType = (typeof V1_LOG_TYPES)[number];

/** Only these five prefixes are seen in public fixtures; the others are opt-in (docs/mimecast-api.md B.1, G.2). */
export const DEFAULT_V1_LOG_TYPES: readonly V1LogType[] = [
  'receipt',
  'process',
  'delivery',
  'jrnl',
  'ttp_url',
];

export const V2_LOG_TYPES = [
  'receipt',
  'process',
  'delivery',
  'av',
  'spam',
  'internal email protect',
  'impersonation protect',
  'url protect',
  'attachment protect',
  'journal',
] as const;
export type V2LogType = (typeof V2_LOG_TYPES)[number];

/** Cloud Integrated (`/siem/v1/batch/events/ci`) event types (docs/mimecast-api.md D.5). */
export const CI_LOG_TYPES = ['entities', 'mailflow', 'urlclick'] as const;
export type CiLogType = (typeof CI_LOG_TYPES)[number];

/** Relative frequencies in a typical tenant: transport logs dominate, threat logs are rare. */
const WEIGHTS: Record<string, number> = {
  receipt: 30,
  process: 25,
  delivery: 30,
  jrnl: 8,
  journal: 8,
  ttp_url: 6,
  'url protect': 6,
  av: 2,
  spam: 6,
  ttp_ap: 3,
  'attachment protect': 3,
  ttp_ip: 2,
  'impersonation protect': 2,
  ttp_iep: 2,
  'internal email protect': 2,
  entities: 10,
  mailflow: 10,
  urlclick: 2,
};

export function logTypeWeights<T extends string>(types: readonly T[]): (readonly [T, number])[] {
  return types.map((type) => [type, WEIGHTS[type] ?? 1] as const);
}

/** Default `+hhmm` offset of v1 `datetime` per log type: MTA logs in the account's zone, TTP logs in UTC. */
export const DEFAULT_V1_UTC_OFFSETS: Record<V1LogType, number> = {
  receipt: 60,
  process: 60,
  delivery: 60,
  jrnl: 60,
  av: 60,
  spam: 60,
  ttp_url: 0,
  ttp_ap: 0,
  ttp_ip: 0,
  ttp_iep: 0,
};

export interface SiemContext {
  seed: number;
  tenant: Tenant;
  /** 1 or 2: the two APIs hold different SIEM datasets. */
  api: 1 | 2;
}

interface Message {
  direction: 'Inbound' | 'Outbound' | 'Internal';
  sender: string;
  recipient: string;
  subject: string;
  messageId: string;
  aCode: string;
  size: number;
  attachments: number;
  ip: string;
}

const EVENTS_PER_MESSAGE = 4;

function messageFor(seq: number, context: SiemContext): Message {
  const rng = Rng.of(context.seed, saltOf('siem-message'), context.api, Math.floor(seq / EVENTS_PER_MESSAGE));
  const direction = rng.weighted([
    ['Inbound', 6],
    ['Outbound', 3],
    ['Internal', 1],
  ] as const);
  const internal = rng.pick(context.tenant.users);
  const external = rng.pick(context.tenant.externalSenders);
  const sender = direction === 'Inbound' ? external : internal;
  const recipient =
    direction === 'Outbound'
      ? external
      : direction === 'Internal'
        ? rng.pick(context.tenant.users)
        : internal;
  return {
    direction,
    sender,
    recipient,
    subject: rng.pick(SUBJECTS),
    messageId: `<${rng.int(10_000_000, 99_999_999)}-${rng.int(1e12, 2e12)}@${domainOf(sender)}>`,
    aCode: rng.base64url(22),
    size: rng.int(2_000, 2_500_000),
    attachments: rng.weighted([
      [0, 6],
      [1, 3],
      [2, 1],
    ] as const),
    ip: rng.documentationIp(),
  };
}

const TLS = [
  ['TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  ['TLSv1.3', 'TLS_AES_256_GCM_SHA384'],
] as const;

type Row = Record<string, unknown>;

function v1Record(type: V1LogType, rng: Rng, m: Message, datetime: string, acc: string): Row {
  const [tlsVer, cipher] = rng.pick(TLS);
  const [fileName, fileExt, fileMime] = rng.pick(FILE_NAMES);
  switch (type) {
    case 'receipt': {
      const rejected = rng.chance(0.1);
      const score = rng.int(-10, 30);
      return {
        acc,
        datetime,
        aCode: m.aCode,
        Act: rejected ? 'Rej' : 'Acc',
        IP: m.ip,
        Dir: m.direction,
        Subject: m.subject,
        MsgId: m.messageId,
        headerFrom: m.sender,
        Sender: m.sender,
        Rcpt: m.recipient,
        SpamInfo: rng.pick(['[]', '[spamscore: low]']),
        SpamLimit: 28,
        SpamScore: score,
        SpamProcessingDetail: {
          spf: { allow: true, info: rng.pick(['SPF_PASS', 'SPF_NEUTRAL']) },
          dkim: { allow: true, info: rng.pick(['DKIM_PASS', 'DKIM_UNKNOWN']) },
        },
        TlsVer: tlsVer,
        Cphr: cipher,
      };
    }
    case 'process': {
      const held = rng.chance(0.12);
      const names = m.attachments === 0 ? null : `"${fileName}"`;
      const row: Row = { acc, datetime, aCode: m.aCode, Act: held ? 'Hld' : 'Acc' };
      if (held) row.Hld = 'Spm';
      Object.assign(row, {
        AttCnt: m.attachments,
        AttNames: names,
        AttSize: m.attachments === 0 ? 0 : rng.int(1_000, m.size),
        MsgId: m.messageId,
        MsgSize: m.size,
        Sender: m.sender,
        Subject: m.subject,
      });
      return row;
    }
    case 'delivery': {
      const delivered = rng.chance(0.93);
      const row: Row = {
        acc,
        datetime,
        aCode: m.aCode,
        Delivered: delivered,
        IP: rng.documentationIp(),
        Dir: m.direction,
        Rcpt: m.recipient,
        Sender: m.sender,
        Subject: m.subject,
        MsgId: m.messageId,
        Latency: rng.int(200, 20_000),
        Attempt: delivered ? 1 : rng.int(1, 3),
        Snt: rng.int(100, m.size),
        AttCnt: m.attachments,
        AttSize: m.attachments === 0 ? 0 : rng.int(1_000, m.size),
        ReceiptAck: delivered ? `250 2.0.0 OK ${rng.hex(12)}` : null,
        UseTls: 'Yes',
        TlsVer: tlsVer,
        Cphr: cipher,
        Route: rng.pick(['Office365', 'Default Route', 'Google Workspace']),
      };
      if (!delivered) {
        Object.assign(row, {
          RejType: 'Recipient email address is possibly incorrect',
          RejCode: '550',
          RejInfo: '5.4.1 Recipient address rejected: Access denied',
        });
      }
      return row;
    }
    case 'jrnl':
      return {
        acc,
        datetime,
        aCode: m.aCode,
        Sender: m.sender,
        Rcpt: m.recipient,
        RcptActType: 'Jnl',
        RcptHdrType: rng.pick(['To', 'Cc', 'Unknown']),
        Dir: m.direction,
      };
    case 'ttp_url': {
      const malicious = rng.chance(0.3);
      return {
        acc,
        datetime,
        reason: malicious ? 'malicious' : 'clean',
        subject: m.subject,
        msgid: m.messageId,
        url: rng.pick(URLS),
        route: m.direction.toLowerCase(),
        sourceIp: m.ip,
        sender: m.sender,
        recipient: m.recipient,
        action: malicious ? 'Block' : 'Allow',
        urlCategory: malicious ? 'Phishing & Fraud' : 'Business',
        credentialTheft: malicious && rng.chance(0.5) ? 'Brand Impersonation' : null,
        senderDomain: domainOf(m.sender),
      };
    }
    case 'av':
      return {
        acc,
        datetime,
        MsgId: m.messageId,
        Sender: m.sender,
        SenderDomain: domainOf(m.sender),
        SenderDomainInternal: m.direction !== 'Inbound',
        Recipient: m.recipient,
        Route: m.direction,
        IP: m.ip,
        CustomerIP: rng.documentationIp(),
        MimecastIP: rng.documentationIp(),
        Size: m.size,
        Subject: m.subject,
        Virus: rng.pick(['Trojan.Generic', 'W97M.Downloader', 'HTML.Phishing']),
        fileName,
        fileExt,
        fileMime,
        md5: rng.hex(32),
        sha1: rng.hex(40),
        sha256: rng.hex(64),
      };
    case 'spam':
      return {
        acc,
        datetime,
        aCode: m.aCode,
        MsgId: m.messageId,
        Sender: m.sender,
        SenderDomain: domainOf(m.sender),
        SourceIP: m.ip,
        Recipient: m.recipient,
        Route: m.direction,
        Subject: m.subject,
        headerFrom: m.sender,
      };
    case 'ttp_ap':
      return {
        acc,
        datetime,
        IP: m.ip,
        Sender: m.sender,
        SenderDomain: domainOf(m.sender),
        Recipient: m.recipient,
        Route: m.direction,
        Size: m.size,
        fileName,
        fileExt,
        fileMime,
        md5: rng.hex(32),
        sha1: rng.hex(40),
        sha256: rng.hex(64),
      };
    case 'ttp_ip': {
      const flag = () => String(rng.chance(0.3));
      return {
        acc,
        datetime,
        aCode: m.aCode,
        Action: rng.pick(['none', 'hold']),
        Definition: 'Default Impersonation Definition',
        Hits: String(rng.int(1, 3)),
        IP: m.ip,
        MsgId: m.messageId,
        Sender: m.sender,
        Recipient: m.recipient,
        Route: m.direction,
        Subject: m.subject,
        TaggedExternal: flag(),
        TaggedMalicious: flag(),
        InternalName: flag(),
        NewDomain: flag(),
        ReplyMismatch: flag(),
        SimilarInternalDomain: flag(),
        SimilarCustomExternalDomain: flag(),
        SimilarMimecastExternalDomain: flag(),
        CustomName: flag(),
        CustomThreatDictionary: flag(),
        ThreatDictionary: flag(),
      };
    }
    case 'ttp_iep':
      return {
        acc,
        datetime,
        aCode: m.aCode,
        MsgId: m.messageId,
        Sender: m.sender,
        Recipient: m.recipient,
        Route: m.direction,
        Subject: m.subject,
        URL: rng.pick(URLS),
        UrlCategory: rng.pick(['Compromised', 'Phishing & Fraud']),
        ScanResultInfo: 'Blocked URL Category',
      };
  }
}

export function generateV1SiemRecord(
  type: V1LogType,
  seq: number,
  time: number,
  context: SiemContext,
  utcOffsetMinutes: number,
): Row {
  const rng = Rng.of(context.seed, saltOf('siem-v1-event'), seq);
  return v1Record(
    type,
    rng,
    messageFor(seq, context),
    formatMimecastDate(time, utcOffsetMinutes),
    context.tenant.accountCode,
  );
}

const str = (value: number | boolean) => String(value);

function v2Fields(type: V2LogType, rng: Rng, m: Message): Row {
  const [tlsVer, cipher] = rng.pick(TLS);
  const [fileName, fileExt] = rng.pick(FILE_NAMES);
  switch (type) {
    case 'receipt': {
      const rejected = rng.chance(0.1);
      return {
        subtype: rejected ? 'Rej' : 'Acc',
        action: rejected ? 'Rej' : 'Acc',
        direction: m.direction,
        messageId: m.messageId,
        numberAttachments: str(m.attachments),
        receiptErrors: null,
        recipients: m.recipient,
        rejectionCode: rejected ? '550' : null,
        rejectionInfo: rejected ? 'Invalid recipient' : null,
        rejectionType: rejected ? 'Invalid Recipient Address' : null,
        senderEnvelope: m.sender,
        senderHeader: m.sender,
        senderIp: m.ip,
        spamDetectionLevel: rng.pick(['relaxed', 'moderate']),
        spamInfo: null,
        spamProcessingDetail: JSON.stringify({
          spf: { allow: true, info: 'SPF_PASS' },
          dkim: { allow: true, info: rng.pick(['DKIM_PASS', 'DKIM_UNKNOWN']) },
        }),
        spamScore: str(rng.int(0, 30)),
        subject: m.subject,
        tlsCipher: cipher,
        tlsVersion: tlsVer,
        virusFound: null,
      };
    }
    case 'process': {
      const action = rng.weighted([
        ['Acc', 8],
        ['Hld', 1],
        ['Sdbx', 1],
      ] as const);
      return {
        subtype: action,
        action,
        attachments: m.attachments === 0 ? null : fileName,
        emailSize: str(m.size),
        holdReason: action === 'Hld' ? 'Spm' : null,
        messageId: m.messageId,
        numberAttachments: str(m.attachments),
        senderEnvelope: m.sender,
        subject: m.subject,
        totalSizeAttachments: str(m.attachments === 0 ? 0 : rng.int(1_000, m.size)),
      };
    }
    case 'delivery': {
      const delivered = rng.chance(0.93);
      return {
        subtype: str(delivered),
        Hostname: `mx.${rng.pick(['mail', 'smtp', 'relay'])}.example`,
        delivered: str(delivered),
        deliveryAttempts: str(delivered ? 1 : rng.int(1, 3)),
        deliveryErrors: delivered ? null : '5.4.1 Recipient address rejected',
        deliveryTime: str(rng.int(200, 20_000)),
        destinationIp: rng.documentationIp(),
        direction: m.direction,
        emailSize: str(m.size),
        messageId: m.messageId,
        numberAttachments: str(m.attachments),
        recipients: m.recipient,
        rejectionCode: delivered ? null : '550',
        rejectionInfo: delivered ? null : 'Access denied',
        rejectionType: delivered ? null : 'Recipient email address is possibly incorrect',
        route: rng.pick(['Office365', 'Default Route']),
        senderEnvelope: m.sender,
        subject: m.subject,
        tlsCipher: cipher,
        tlsUsed: 'Yes',
        tlsVersion: tlsVer,
        totalSizeAttachments: str(m.attachments === 0 ? 0 : rng.int(1_000, m.size)),
      };
    }
    case 'av':
      return {
        subtype: null,
        direction: m.direction,
        fileExtension: fileExt,
        fileName,
        md5: rng.hex(32),
        messageId: m.messageId,
        recipients: m.recipient,
        senderEnvelope: m.sender,
        sha1: rng.hex(40),
        sha256: rng.hex(64),
        subject: m.subject,
        virusFound: rng.pick(['Trojan.Generic', 'W97M.Downloader']),
      };
    case 'spam':
      return {
        subtype: null,
        messageId: m.messageId,
        recipients: m.recipient,
        route: m.direction,
        senderDomain: domainOf(m.sender),
        senderEnvelope: m.sender,
        senderHeader: m.sender,
        senderIp: m.ip,
        subject: m.subject,
      };
    case 'internal email protect':
      return {
        subtype: null,
        messageId: m.messageId,
        monitoredDomainSource: null,
        recipients: m.recipient,
        route: 'Internal',
        scanResults: 'Blocked URL Category',
        senderEnvelope: m.sender,
        similarDomain: null,
        subject: m.subject,
        urlCategory: rng.pick(['Compromised', 'Phishing & Fraud']),
      };
    case 'impersonation protect':
      return {
        subtype: null,
        action: rng.pick(['none', 'hold']),
        definition: 'Default Impersonation Definition',
        hits: str(rng.int(1, 3)),
        messageId: m.messageId,
        recipients: m.recipient,
        senderEnvelope: m.sender,
        senderIp: m.ip,
        subject: m.subject,
        taggedExternal: str(rng.chance(0.5)),
        taggedMalicious: str(rng.chance(0.7)),
      };
    case 'url protect': {
      const malicious = rng.chance(0.3);
      return {
        subtype: null,
        action: malicious ? 'Block' : 'Allow',
        messageId: m.messageId,
        recipients: m.recipient,
        route: m.direction,
        senderEnvelope: m.sender,
        subject: m.subject,
        url: rng.pick(URLS),
        urlCategory: malicious ? 'Phishing & Fraud' : 'Business',
      };
    }
    case 'attachment protect':
      return {
        subtype: null,
        fileExtension: fileExt,
        fileName,
        md5: rng.hex(32),
        sha1: rng.hex(40),
        sha256: rng.hex(64),
      };
    case 'journal':
      return { subtype: null, direction: m.direction, recipients: m.recipient, senderEnvelope: m.sender };
  }
}

export function generateV2SiemRecord(type: V2LogType, seq: number, time: number, context: SiemContext): Row {
  const rng = Rng.of(context.seed, saltOf('siem-v2-event'), seq);
  const m = messageFor(seq, context);
  const epochSeconds = Math.floor(time / 1000);
  const { subtype, ...fields } = v2Fields(type, rng, m);
  return {
    _offset: 70_000 + seq,
    _partition: 60,
    accountId: context.tenant.accountCode,
    aggregateId: `${m.aCode}_${epochSeconds}`,
    processingId: `${rng.base64url(43)}_${epochSeconds}`,
    ...fields,
    subtype,
    timestamp: time,
    type,
  };
}

/**
 * A v1 record as a key_value file carries it: `datetime` first, nulls dropped, objects as JSON, every
 * value a string, and the separators `|`, CR and LF replaced so a line always splits cleanly.
 */
export function toKeyValueRecord(record: Row): Record<string, string> {
  const out: Record<string, string> = {};
  const datetime = record.datetime;
  if (typeof datetime === 'string') out.datetime = datetime;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'datetime' || value === null || value === undefined) continue;
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    out[key] = text.replace(/[|\r\n]/g, ' ');
  }
  return out;
}

/** One key_value line: `datetime=…|key=value|…`. */
export function keyValueLine(record: Record<string, string>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key}=${value}`)
    .join('|');
}

const CI_THREATS = [
  ['NO_DETECTIONS', 'DELIVERY_IN_PROGRESS', 'DO_NOTHING', 8],
  ['SPAM', 'DELIVERED', 'DO_NOTHING', 2],
  ['MALWARE', 'BLOCKED', 'BLOCK', 1],
  ['PHISHING', 'BLOCKED', 'BLOCK', 1],
] as const;

function ciFields(type: CiLogType, rng: Rng, m: Message): Row {
  switch (type) {
    case 'entities': {
      const [threatType, threatState, action] = rng.weighted(
        CI_THREATS.map(([t, s, a, w]) => [[t, s, a] as const, w] as const),
      );
      const [fileName] = rng.pick(FILE_NAMES);
      return {
        subtype: threatType,
        attachments: m.attachments === 0 ? [] : [fileName],
        direction: m.direction.toUpperCase(),
        historicalMail: false,
        messageId: m.messageId,
        policiesApplied: [{ action, mode: 'ACTIVE', name: 'Default O365 Mail policy' }],
        recipients: [m.recipient],
        senderEnvelope: m.sender,
        senderHeader: m.sender,
        senderIp: m.ip,
        source: 'OFFICE_365_MAIL',
        subject: m.subject,
        tags: threatType === 'NO_DETECTIONS' ? null : [threatType],
        threatState,
        threatType,
      };
    }
    case 'mailflow':
      return {
        subtype: null,
        authResults: [
          { aligned: rng.chance(0.8), result: rng.pick(['pass', 'pass', 'fail']), type: 'SPF' },
          { aligned: rng.chance(0.3), result: rng.pick(['pass', 'none']), type: 'DKIM' },
          { aligned: null, result: rng.pick(['pass', 'pass', 'fail']), type: 'DMARC' },
        ],
        messageId: m.messageId,
      };
    case 'urlclick':
      return {
        subtype: null,
        action: rng.pick(['BLOCK', 'WARN']),
        messageId: m.messageId,
        originalUrl: rng.pick(URLS),
        recipients: [m.recipient],
        redirectUrl: rng.pick(URLS),
        sourceIp: rng.documentationIp(),
      };
  }
}

/** A Cloud Integrated event as its batch files carry it: camelCase keys, epoch-ms `timestamp`, arrays as arrays. */
export function generateCiSiemRecord(type: CiLogType, seq: number, time: number, context: SiemContext): Row {
  const rng = Rng.of(context.seed, saltOf('siem-ci-event'), seq);
  const m = messageFor(seq, context);
  const epochSeconds = Math.floor(time / 1000);
  const { subtype, ...fields } = ciFields(type, rng, m);
  return {
    _offset: 1_800_000 + seq,
    _partition: 53,
    accountId: context.tenant.accountCode,
    aggregateId: `${m.aCode}_${epochSeconds}`,
    processingId: `${rng.hex(64)}_${epochSeconds}`,
    ...fields,
    subtype,
    timestamp: time,
    type,
  };
}
