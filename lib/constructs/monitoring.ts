/**
 * Alarms, their topic, and the dashboard.
 *
 * Cost shapes this file (README "What it costs"): the custom metrics are the three instance metrics of
 * lambda/telemetry/metric-names.ts, with the very namespace and dimension set the function emits
 * (Powertools adds the `service` dimension, so it is part of the set; an alarm on any other set would
 * watch an empty metric and never fire). None carries the stream, so adding streams adds neither
 * metrics nor alarms. Per-stream detail lives in the stream health log lines; the dashboard reads
 * them with Logs Insights and every alarm description says which query names the stream(s).
 * With the push receiver, one more alarm (push stopped, push-alarm.ts) does metric math over the push
 * path's and the pull's instance metrics, with CollectorMetrics and addPagingAlarm from here.
 */
import { Aws, type CfnCondition, CfnMapping, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamId } from '../../lambda/core/streams';
import { HEALTH_QUERIES, STREAM_HEALTH_MESSAGE } from '../../lambda/telemetry/health-log';
import { INSTANCE_METRICS, instanceDimensions, METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import { ALARM_DEFAULTS, alarmNamePrefix, SCHEDULE_MINUTES } from '../defaults';

export interface MonitoringProps {
  instance: string;
  /** Every stream id (the dashboard's text names their thresholds). */
  streams: readonly StreamId[];
  fn: lambda.IFunction;
  /** The function's log group: the stream health lines the dashboard and the alarm queries read. */
  logGroup: logs.ILogGroup;
  failureQueue: sqs.IQueue;
  /**
   * The instance's customer-managed key (the credentials key). CloudWatch cannot publish to a topic
   * encrypted with the AWS-managed SNS key, so the topic needs a customer-managed one; a second key
   * would cost USD 1 a month for nothing the first cannot do.
   */
  key: kms.IKey;
  /** The ScheduleMinutes parameter value (a token): custom-metric alarms evaluate one tick per period. */
  scheduleMinutes: string;
  lagThresholds: Record<StreamId, Duration>;
  /** Optional e-mail subscription (the AlarmEmail parameter) and the condition that it is set. */
  alarmEmail: string;
  hasAlarmEmail: CfnCondition;
}

/** The alarms by short name (tests, docs and the dashboard's alarm widget use these keys). */
export const ALARM_KEYS = [
  'streamsFailing',
  'streamsLagging',
  'refused',
  'functionErrors',
  'failureQueue',
] as const;
export type AlarmKey = (typeof ALARM_KEYS)[number];

/** Name suffix of each alarm (after `mimecast-collector/<instance>/`). */
export const ALARM_NAMES: Record<AlarmKey, string> = {
  streamsFailing: 'streams-failing',
  streamsLagging: 'streams-lagging',
  refused: 'mimecast-refused',
  functionErrors: 'function-errors',
  failureQueue: 'failed-ticks-queued',
};

/** Metric helpers bound to one instance. */
export class CollectorMetrics {
  constructor(private readonly instance: string) {}

  /**
   * No label on alarm metrics: a label makes CloudFormation render the alarm in its `Metrics` form,
   * where the per-tick Period override below would not apply.
   */
  instanceMetric(metricName: string, statistic: string, period = ALARM_DEFAULTS.servicePeriod) {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: instanceDimensions(this.instance),
      statistic,
      period,
    });
  }
}

/** What an alarm states beyond the defaults of addPagingAlarm. */
export type AlarmSpec = Pick<cloudwatch.AlarmProps, 'alarmDescription' | 'metric'> &
  Partial<cloudwatch.AlarmProps>;

/**
 * An alarm of `instance`, on `topic` for ALARM and OK, named `<alarmNamePrefix><nameSuffix>` (the prefix
 * the topic and key policies admit). It pages on a count of at least 1, in one period unless told otherwise.
 */
export function addPagingAlarm(
  scope: Construct,
  id: string,
  on: { instance: string; topic: sns.ITopic; nameSuffix: string },
  alarm: AlarmSpec,
): cloudwatch.Alarm {
  const created = new cloudwatch.Alarm(scope, id, {
    alarmName: `${alarmNamePrefix(on.instance)}${on.nameSuffix}`,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    ...alarm,
  });
  const action = new cwActions.SnsAction(on.topic);
  created.addAlarmAction(action);
  created.addOkAction(action);
  return created;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms = {} as Record<AlarmKey, cloudwatch.Alarm>;
  /** The dashboard's console URL (alarm descriptions name it). */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { instance, key, logGroup } = props;
    const stack = Stack.of(this);
    const alarmArnPattern = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${alarmNamePrefix(instance)}*`;
    // Dashboards are global to the account: the region keeps same-named instances apart.
    const dashboardName = `MimecastCollector-${instance}-${stack.region}`;
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboardName}`;

    // One CloudWatch period per tick: a period shorter than the interval would see periods with
    // no tick at all (false "streams failing"), so the period follows the ScheduleMinutes parameter.
    const periods = new CfnMapping(this, 'SchedulePeriod', {
      mapping: Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: Number(m) * 60 }])),
    });
    const periodSeconds = Token.asNumber(periods.findInMap(props.scheduleMinutes, 'Seconds'));

    // CloudWatch publishes to the encrypted topic, so it needs the key: only for this instance's
    // alarms, and only for SNS data keys (SNS binds them to the topic through the encryption context
    // `aws:sns:topicArn`). The secret's data keys (context SecretARN) and the wrapped credential
    // fields (context `collector`) carry no such key, so this grant cannot decrypt them. The pattern
    // names any topic of the account: naming this topic would make the key depend on the topic and
    // the topic on the key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisInstanceUseItForTheAlarmTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': alarmArnPattern },
          StringLike: {
            'kms:EncryptionContext:aws:sns:topicArn': `arn:${Aws.PARTITION}:sns:${Aws.REGION}:${Aws.ACCOUNT_ID}:*`,
          },
        },
      }),
    );

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Mimecast collector ${instance} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisInstancePublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': alarmArnPattern },
        },
      }),
    );
    const subscription = new sns.Subscription(this, 'AlarmEmailSubscription', {
      topic: this.topic,
      protocol: sns.SubscriptionProtocol.EMAIL,
      endpoint: props.alarmEmail,
    });
    (subscription.node.defaultChild as sns.CfnSubscription).cfnOptions.condition = props.hasAlarmEmail;

    const metrics = new CollectorMetrics(instance);
    /** Where the alarm's stream(s) show: a query to paste into Logs Insights, and the dashboard. */
    const findWith = (query: string) =>
      ` Which stream(s): CloudWatch Logs Insights on log group ${logGroup.logGroupName}, query: ${query} ` +
      `- or the dashboard ${this.dashboardUrl}`;
    const anyStream = (metricName: string) => metrics.instanceMetric(metricName, cloudwatch.Stats.MAXIMUM);
    /**
     * addPagingAlarm, kept in `alarms` (the dashboard shows them); `perTick` alarms
     * evaluate the collector's own metrics once per schedule period.
     */
    const addAlarm = (key: AlarmKey, id: string, alarm: AlarmSpec, perTick: boolean) => {
      const on = { instance, topic: this.topic, nameSuffix: ALARM_NAMES[key] };
      const created = addPagingAlarm(this, id, on, alarm);
      if (perTick) (created.node.defaultChild as cloudwatch.CfnAlarm).period = periodSeconds;
      this.alarms[key] = created;
    };

    addAlarm(
      'streamsFailing',
      'StreamsFailing',
      {
        alarmDescription:
          `Some stream of Mimecast collector "${instance}" failed in each of the last ` +
          `${ALARM_DEFAULTS.failedTickPeriods} ticks, or the collector did not run. Nothing is lost (checkpoints ` +
          'stay at the last delivery); the remedy of the last failure says what to do.' +
          findWith(HEALTH_QUERIES.failedStreams),
        metric: anyStream(INSTANCE_METRICS.streamsFailed),
        evaluationPeriods: ALARM_DEFAULTS.failedTickPeriods,
        datapointsToAlarm: ALARM_DEFAULTS.failedTickPeriods,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
      true,
    );

    addAlarm(
      'streamsLagging',
      'StreamsLagging',
      {
        alarmDescription:
          `A stream of Mimecast collector "${instance}" is further behind than its threshold (now minus the ` +
          'newest event delivered). Expected while a backfill catches up; otherwise look for throttling or ' +
          'sink errors on that stream.' +
          findWith(HEALTH_QUERIES.laggingStreams),
        metric: anyStream(INSTANCE_METRICS.streamsLagging),
      },
      true,
    );

    addAlarm(
      'refused',
      'MimecastRefused',
      {
        alarmDescription:
          `Mimecast refused collector "${instance}": its credentials (kind authentication: expired, revoked or ` +
          'wrong key; issue new keys in the Mimecast console, run "npx mimecast-collector configure") or a ' +
          'stream its role may not read (kind permission: grant what the error names, or drop the stream ' +
          'from Streams). Checkpoints are kept.' +
          findWith(HEALTH_QUERIES.refusedStreams),
        metric: anyStream(INSTANCE_METRICS.streamsRefused),
      },
      true,
    );

    addAlarm(
      'functionErrors',
      'FunctionErrors',
      {
        alarmDescription:
          `The function of collector "${instance}" failed (an error that needs an operator, a timeout or a crash). ` +
          'The next tick resumes from the checkpoint; the ERROR lines of the function log say what to do.' +
          findWith(HEALTH_QUERIES.failedStreams),
        metric: props.fn.metricErrors({
          period: ALARM_DEFAULTS.servicePeriod,
          statistic: cloudwatch.Stats.SUM,
        }),
      },
      false,
    );

    addAlarm(
      'failureQueue',
      'FailedTicksQueued',
      {
        alarmDescription:
          `Records of failed or undeliverable ticks of collector "${instance}" are waiting in the failure queue ` +
          '(FailureQueueUrl output). Read them for the cause, then purge the queue. A record of an Event Push ' +
          'S3 file (an Object Created event) means that file is not drained: run mimecast-collector drain ' +
          'on its bucket and prefix (docs/DRAIN.md).' +
          findWith(HEALTH_QUERIES.failedStreams),
        metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_DEFAULTS.servicePeriod,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
      },
      false,
    );

    this.dashboard = this.buildDashboard(props, metrics, dashboardName);
  }

  private buildDashboard(
    props: MonitoringProps,
    metrics: CollectorMetrics,
    dashboardName: string,
  ): cloudwatch.Dashboard {
    const { instance, logGroup } = props;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName,
      defaultInterval: Duration.days(1),
    });
    const View = cloudwatch.LogQueryVisualizationType;
    const logQuery = (
      title: string,
      queryString: string,
      view: cloudwatch.LogQueryVisualizationType,
      width: number,
      height = 6,
    ) =>
      new cloudwatch.LogQueryWidget({
        title,
        logGroupNames: [logGroup.logGroupName],
        queryString,
        view,
        width,
        height,
      });
    const thresholds = [...new Set(props.streams.map((s) => props.lagThresholds[s].toHumanString()))]
      .map((threshold) => {
        const streams = props.streams.filter((s) => props.lagThresholds[s].toHumanString() === threshold);
        return `${streams.join(', ')}: ${threshold}`;
      })
      .join('; ');

    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# Mimecast collector \`${instance}\`\n` +
          `Per stream: the \`${STREAM_HEALTH_MESSAGE}\` lines of the function log, one per stream per tick ` +
          '(CloudWatch Logs Insights). Lag = now minus the newest event delivered; healthy = 1 when the stream ' +
          `ended its tick without error. Lag thresholds: ${thresholds}.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms),
        width: 24,
        height: 3,
      }),
    );
    dashboard.addWidgets(
      logQuery('Streams (over the dashboard period)', HEALTH_QUERIES.streamsNow, View.TABLE, 24, 8),
    );
    dashboard.addWidgets(
      logQuery('Collection lag (s, max per hour)', HEALTH_QUERIES.lagOverTime, View.LINE, 12),
      logQuery('Events forwarded per hour', HEALTH_QUERIES.eventsOverTime, View.LINE, 12),
    );
    dashboard.addWidgets(
      logQuery('Failed ticks per hour', HEALTH_QUERIES.failuresOverTime, View.BAR, 12),
      logQuery('Failures by class', HEALTH_QUERIES.failuresByClass, View.TABLE, 12),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Streams failing, lagging, refused (per tick)',
        width: 8,
        height: 6,
        left: Object.values(INSTANCE_METRICS).map((name) =>
          metrics.instanceMetric(name, cloudwatch.Stats.MAXIMUM).with({ label: name }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Function',
        width: 8,
        height: 6,
        left: [
          props.fn.metricInvocations({ statistic: cloudwatch.Stats.SUM }),
          props.fn.metricErrors({ statistic: cloudwatch.Stats.SUM }),
          props.fn.metricThrottles({ statistic: cloudwatch.Stats.SUM }),
        ],
        right: [props.fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Failure queue',
        width: 8,
        height: 6,
        left: [
          props.failureQueue.metricApproximateNumberOfMessagesVisible({
            statistic: cloudwatch.Stats.MAXIMUM,
          }),
        ],
      }),
    );
    return dashboard;
  }
}
