/**
 * Alarms, their topic, and the dashboard.
 *
 * Cost shapes this file (README "What it costs"): the custom metrics are the three instance metrics of
 * lambda/telemetry/metric-names.ts, with the very namespace and dimension set the function emits
 * (Powertools adds the `service` dimension, so it is part of the set; an alarm on any other set would
 * watch an empty metric and never fire). None carries the stream, so adding streams adds neither
 * metrics nor alarms. Per-stream detail lives in the stream health log lines; the dashboard reads
 * them with Logs Insights and every alarm description says which query names the stream(s).
 * With the push receiver, one more alarm (push stopped, addPushStoppedAlarm) does metric math over the
 * push path's and the pull's instance metrics.
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
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  PUSH_METRICS,
} from '../../lambda/telemetry/metric-names';
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

/** Name suffix of the "push stopped while pull still finds events" alarm (only with the push receiver). */
export const PUSH_STOPPED_ALARM_NAME = 'push-stopped';

/**
 * The push-stopped alarm's metric math (docs/PUSH-GAP-FILL.md, "Metrics and alarm"): 1 in a period in
 * which the pull of push-primary streams found events push never delivered (`gap`, PushGapEvents) and
 * none that push did deliver (`matched`, PushMatchedEvents). Both come from the same tick's metrics, so
 * neither is missing when the other is there: the push function's own PushEvents has no datapoint at all
 * once Mimecast stops pushing, and how CloudWatch fills a series empty over the whole range is not
 * something to bet an alarm on. A gap while push still delivers is what the pull is for and needs no one.
 */
export const PUSH_STOPPED_EXPRESSION = 'IF(gap > 0 AND matched == 0, 1, 0)';
/** Periods in a row that must breach: a short lull in push that the pull bridges does not page. */
export const PUSH_STOPPED_PERIODS = 2;
/**
 * The alarm's period per ScheduleMinutes: 15 minutes, or one schedule interval when that is longer, so
 * every period holds at least one tick (a period without one has no PushGapEvents and cannot breach).
 */
export function pushStoppedPeriodSeconds(scheduleMinutes: string): number {
  return Math.max(15 * 60, Number(scheduleMinutes) * 60);
}

export interface PushStoppedAlarmProps {
  /** True when the `PushReceiver` parameter is Enabled: the alarm exists only then. */
  condition: CfnCondition;
  /** The push function's log group, named in the description. */
  pushLogGroup: logs.ILogGroup;
}

/** Logs Insights query naming why pushes were refused or not forwarded (the push function's log lines). */
export const PUSH_REFUSALS_QUERY =
  'filter message like /^Push (refused|not forwarded)/ | stats count(*) as requests by message, bin(1h)';

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

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms = {} as Record<AlarmKey, cloudwatch.Alarm>;
  /** Created by addPushStoppedAlarm, under the push receiver's condition (not on the dashboard: it may not exist). */
  pushStopped?: cloudwatch.Alarm;
  private readonly periodSeconds: number;
  private readonly scheduleMinutes: string;
  private readonly instance: string;
  private readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { instance, key, logGroup } = props;
    this.instance = instance;
    this.scheduleMinutes = props.scheduleMinutes;
    const stack = Stack.of(this);
    const alarmArnPattern = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${alarmNamePrefix(instance)}*`;
    // Dashboards are global to the account: the region keeps same-named instances apart.
    const dashboardName = `MimecastCollector-${instance}-${stack.region}`;
    const dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboardName}`;
    this.dashboardUrl = dashboardUrl;

    // One CloudWatch period per tick: a period shorter than the interval would see periods with
    // no tick at all (false "streams failing"), so the period follows the ScheduleMinutes parameter.
    const periods = new CfnMapping(this, 'SchedulePeriod', {
      mapping: Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: Number(m) * 60 }])),
    });
    this.periodSeconds = Token.asNumber(periods.findInMap(props.scheduleMinutes, 'Seconds'));

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
    const action = new cwActions.SnsAction(this.topic);
    const name = (key: AlarmKey) => `${alarmNamePrefix(instance)}${ALARM_NAMES[key]}`;
    /** Where the alarm's stream(s) show: a query to paste into Logs Insights, and the dashboard. */
    const findWith = (query: string) =>
      ` Which stream(s): CloudWatch Logs Insights on log group ${logGroup.logGroupName}, query: ${query} ` +
      `- or the dashboard ${dashboardUrl}`;
    const anyStream = (metricName: string) => metrics.instanceMetric(metricName, cloudwatch.Stats.MAXIMUM);
    /**
     * Every alarm pages on a count of at least 1, in one period unless told otherwise; `perTick` alarms
     * evaluate the collector's own metrics once per schedule period.
     */
    const addAlarm = (
      key: AlarmKey,
      id: string,
      alarm: Pick<cloudwatch.AlarmProps, 'alarmDescription' | 'metric'> & Partial<cloudwatch.AlarmProps>,
      perTick: boolean,
    ) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmName: name(key),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarm,
      });
      if (perTick) (created.node.defaultChild as cloudwatch.CfnAlarm).period = this.periodSeconds;
      created.addAlarmAction(action);
      created.addOkAction(action);
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

  /**
   * "Push stopped while pull still finds events": Event Push paused (or failing) for two periods in a row
   * while the scheduled pull keeps finding events push never delivered. Nothing is lost (the pull
   * forwards them); a person must resume the integration in Mimecast. Same topic, actions and name
   * prefix as the other alarms (so the topic and key policies already admit it).
   */
  addPushStoppedAlarm(props: PushStoppedAlarmProps): cloudwatch.Alarm {
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: instanceDimensions(this.instance),
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(15),
      });
    const alarm = new cloudwatch.Alarm(this, 'PushStopped', {
      alarmName: `${alarmNamePrefix(this.instance)}${PUSH_STOPPED_ALARM_NAME}`,
      alarmDescription:
        `Event Push of collector "${this.instance}" delivered none of the events the scheduled pull found for ${PUSH_STOPPED_PERIODS} periods ` +
        '(PushGapEvents > 0, PushMatchedEvents = 0): Mimecast has paused or stopped ' +
        'the integration. Nothing is lost, the pull forwards them. Resume the Event Push integration in ' +
        "Mimecast's Integrations Hub; if it keeps pausing, look for PushRequestsRefused (a token that no longer " +
        'matches the push token secret) or PushDestinationFailures. Why: CloudWatch Logs Insights on log group ' +
        `${props.pushLogGroup.logGroupName}, query: ${PUSH_REFUSALS_QUERY} - or the dashboard ${this.dashboardUrl}`,
      metric: new cloudwatch.MathExpression({
        expression: PUSH_STOPPED_EXPRESSION,
        usingMetrics: {
          gap: metric(PUSH_METRICS.pushGapEvents),
          matched: metric(PUSH_METRICS.pushMatchedEvents),
        },
        period: Duration.minutes(15),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: PUSH_STOPPED_PERIODS,
      datapointsToAlarm: PUSH_STOPPED_PERIODS,
      // No gap data (no tick with push-primary streams, or nothing to collect) is no reason to page.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new cwActions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
    cfn.cfnOptions.condition = props.condition;
    // The period follows ScheduleMinutes (a parameter, so a mapping): every period must hold a tick.
    const periods = new CfnMapping(this, 'PushStoppedPeriod', {
      mapping: Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: pushStoppedPeriodSeconds(m) }])),
    });
    const period = Token.asNumber(periods.findInMap(this.scheduleMinutes, 'Seconds'));
    const queries = cfn.metrics as cloudwatch.CfnAlarm.MetricDataQueryProperty[];
    cfn.metrics = queries.map((q) =>
      q.metricStat === undefined
        ? q
        : { ...q, metricStat: { ...(q.metricStat as cloudwatch.CfnAlarm.MetricStatProperty), period } },
    );
    this.pushStopped = alarm;
    return alarm;
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
      logQuery(
        'Streams (over the dashboard period)',
        HEALTH_QUERIES.streamsNow,
        cloudwatch.LogQueryVisualizationType.TABLE,
        24,
        8,
      ),
    );
    dashboard.addWidgets(
      logQuery(
        'Collection lag (s, max per hour)',
        HEALTH_QUERIES.lagOverTime,
        cloudwatch.LogQueryVisualizationType.LINE,
        12,
      ),
      logQuery(
        'Events forwarded per hour',
        HEALTH_QUERIES.eventsOverTime,
        cloudwatch.LogQueryVisualizationType.LINE,
        12,
      ),
    );
    dashboard.addWidgets(
      logQuery(
        'Failed ticks per hour',
        HEALTH_QUERIES.failuresOverTime,
        cloudwatch.LogQueryVisualizationType.BAR,
        12,
      ),
      logQuery(
        'Failures by class',
        HEALTH_QUERIES.failuresByClass,
        cloudwatch.LogQueryVisualizationType.TABLE,
        12,
      ),
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
