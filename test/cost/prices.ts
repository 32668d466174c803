/**
 * The list prices the cost report uses (us-east-1, USD, no free tier applied), each with where it
 * comes from, and the assumptions it cannot measure on a machine without AWS.
 *
 * Checked (2026-12) against excerpts of AWS's pages where those were reachable: the CloudWatch
 * pricing page (free tier: 3 dashboards, 10 alarm metrics), the KMS pricing page (USD 1 a key-month,
 * rotation material), the AWS Security Blog post on faster KMS key rotation (the rotation charge
 * stops after the second rotation), the Lambda pricing page (duration covers initialisation code).
 * The figures agree with several 2025-26 pricing write-ups; the one no page confirmed is marked
 * "assumed".
 */

export interface Price {
  usd: number;
  unit: string;
  source: string;
}

export const PRICES = {
  customMetric: { usd: 0.3, unit: 'metric-month (first 10,000)', source: 'CloudWatch pricing' },
  alarmMetric: {
    usd: 0.1,
    unit: 'standard-resolution alarm metric-month (a metric-math alarm counts each metric it reads)',
    source: 'CloudWatch pricing',
  },
  dashboard: {
    usd: 3,
    unit: 'dashboard-month (the first 3 per account, up to 50 metrics each, are free; counted here)',
    source: 'CloudWatch pricing',
  },
  logsIngestion: { usd: 0.5, unit: 'GB ingested (standard log class)', source: 'CloudWatch pricing' },
  logsStorage: { usd: 0.03, unit: 'GB-month stored', source: 'CloudWatch pricing' },
  logsInsights: { usd: 0.005, unit: 'GB scanned', source: 'CloudWatch pricing' },
  kmsKey: {
    usd: 1,
    unit: 'customer-managed key-month; automatic rotation adds USD 1 after each of the first two rotations',
    source: 'KMS pricing; AWS Security Blog (rotation price cap, 2024)',
  },
  kmsRequest: { usd: 0.03 / 10_000, unit: 'request', source: 'KMS pricing' },
  secret: { usd: 0.4, unit: 'secret-month', source: 'Secrets Manager pricing' },
  secretRequest: { usd: 0.05 / 10_000, unit: 'API call', source: 'Secrets Manager pricing' },
  lambdaRequest: { usd: 0.2 / 1_000_000, unit: 'request', source: 'Lambda pricing' },
  lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second, arm64', source: 'Lambda pricing' },
  dynamoWrite: {
    usd: 0.625 / 1_000_000,
    unit: 'write request unit (1 KB), on-demand',
    source: 'DynamoDB pricing',
  },
  dynamoRead: {
    usd: 0.125 / 1_000_000,
    unit: 'read request unit (4 KB strongly consistent), on-demand',
    source: 'DynamoDB pricing',
  },
  dynamoStorage: { usd: 0.25, unit: 'GB-month', source: 'assumed (DynamoDB standard table class)' },
  dynamoPitr: { usd: 0.2, unit: 'GB-month of table size', source: 'DynamoDB pricing (continuous backups)' },
} as const satisfies Record<string, Price>;

/** What the report cannot measure here, stated once. */
export const ASSUMPTIONS = {
  /** A 5-minute schedule: 30 days of ticks, the stack's default and the basis. */
  ticksPerMonth: (30 * 24 * 60) / 5,
  /**
   * Every tick starts a fresh container and reads the credentials: with a 5-minute schedule a warm
   * container is not guaranteed, and the credentials cache lasts 5 minutes. Lambda bills the
   * initialisation too; docs/PERFORMANCE.md measured 193 ms to load the asset and build the adapters.
   */
  initSeconds: 0.2,
  /** One Mimecast API round trip from AWS (not measurable on loopback). */
  mimecastCallSeconds: 0.3,
  /** One DynamoDB, Secrets Manager or KMS call within the region. */
  awsCallSeconds: 0.015,
  /** CloudWatch Logs bills each log event's bytes plus 26 bytes. */
  logEventOverheadBytes: 26,
  /** Lambda's own START, END and REPORT lines per invocation (text format), about. */
  platformLogBytes: 320,
  /** The dashboard opened this often a month over its default range (one day): its Logs Insights widgets scan that day. */
  dashboardViewsPerMonth: 30,
} as const;

/** GB as CloudWatch Logs bills it. */
export const GB = 1024 ** 3;
