/**
 * Alarms, their topic, and the dashboard. Every custom metric is built from the names, namespace
 * and dimension sets in lambda/telemetry/metric-names.ts, the very ones the function emits
 * (Powertools adds the `service` dimension, so it is part of every set): an alarm on any other
 * dimension set would watch an empty metric and never fire.
 */
import { Aws, type CfnCondition, CfnMapping, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamId } from '../../lambda/core/streams';
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  STREAM_METRICS,
  streamDimensions,
} from '../../lambda/telemetry/metric-names';
import { ALARM_DEFAULTS, alarmKeyAliasFor, alarmNamePrefix, SCHEDULE_MINUTES } from '../defaults';

export interface MonitoringProps {
  instance: string;
  /** Every stream id: alarms exist for all of them (a stream not collected emits nothing: not breaching). */
  streams: readonly StreamId[];
  fn: lambda.IFunction;
  failureQueue: sqs.IQueue;
  /** The ScheduleMinutes parameter value (a token): custom-metric alarms evaluate one tick per period. */
  scheduleMinutes: string;
  lagThresholds: Record<StreamId, Duration>;
  /** Optional e-mail subscription (the AlarmEmail parameter) and the condition that it is set. */
  alarmEmail: string;
  hasAlarmEmail: CfnCondition;
}

/** Metric helpers bound to one instance. */
export class CollectorMetrics {
  constructor(private readonly instance: string) {}

  /**
   * No label on alarm metrics: a label makes CloudFormation render the alarm in its `Metrics` form,
   * where the per-tick Period override below would not apply. The dashboard adds `stream` as label.
   */
  stream(stream: string, metricName: string, statistic: string, period = ALARM_DEFAULTS.servicePeriod) {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: streamDimensions(this.instance, stream),
      statistic,
      period,
    });
  }

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
  readonly topicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by a short name (tests and docs). */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  private readonly periodSeconds: number;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { instance } = props;
    const stack = Stack.of(this);
    const alarmArnPattern = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${alarmNamePrefix(instance)}*`;

    // One CloudWatch period per tick: a period shorter than the interval would see periods with
    // no tick at all (false "no successful tick"), so the period follows the ScheduleMinutes parameter.
    const periods = new CfnMapping(this, 'SchedulePeriod', {
      mapping: Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: Number(m) * 60 }])),
    });
    this.periodSeconds = Token.asNumber(periods.findInMap(props.scheduleMinutes, 'Seconds'));

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the topic gets
    // a customer-managed key of its own: the credentials key's policy stays free of service grants.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: `Mimecast collector "${instance}": encrypts the alarm topic`,
      enableKeyRotation: true,
      alias: alarmKeyAliasFor(instance),
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisInstancePublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': alarmArnPattern },
        },
      }),
    );

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Mimecast collector ${instance} alarms`,
      masterKey: this.topicKey,
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
    const addAlarm = (key: string, alarm: cloudwatch.Alarm, perTick: boolean) => {
      if (perTick) (alarm.node.defaultChild as cloudwatch.CfnAlarm).period = this.periodSeconds;
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms[key] = alarm;
    };
    const name = (suffix: string) => `${alarmNamePrefix(instance)}${suffix}`;

    for (const stream of props.streams) {
      const threshold = props.lagThresholds[stream];
      addAlarm(
        `lag:${stream}`,
        new cloudwatch.Alarm(this, `Lag-${stream}`, {
          alarmName: name(`collection-lag/${stream}`),
          alarmDescription:
            `Stream ${stream} of Mimecast collector "${instance}" is more than ${threshold.toHumanString()} behind ` +
            '(now minus the newest event delivered). Expected while a backfill catches up; otherwise check the ' +
            'function logs for throttling or sink errors on this stream.',
          metric: metrics.stream(stream, STREAM_METRICS.collectionLagSeconds, cloudwatch.Stats.MAXIMUM),
          threshold: threshold.toSeconds(),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: ALARM_DEFAULTS.lagEvaluationPeriods,
          datapointsToAlarm: ALARM_DEFAULTS.lagEvaluationPeriods,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        true,
      );
    }

    addAlarm(
      'authentication',
      new cloudwatch.Alarm(this, 'AuthenticationFailures', {
        alarmName: name('authentication-failures'),
        alarmDescription:
          `Mimecast refused the credentials of collector "${instance}" (expired, revoked or wrong key). ` +
          'Issue new keys in the Mimecast admin console and run "npx mimecast-collector configure" (see the ' +
          'stack output ConfigureCommand). Nothing is collected until then; checkpoints are kept.',
        metric: metrics.instanceMetric(INSTANCE_METRICS.authenticationFailures, cloudwatch.Stats.SUM),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      true,
    );

    addAlarm(
      'noSuccessfulTick',
      new cloudwatch.Alarm(this, 'NoSuccessfulTick', {
        alarmName: name('no-successful-tick'),
        alarmDescription:
          `Collector "${instance}" has not completed a tick with every stream healthy for ` +
          `${ALARM_DEFAULTS.missedTickPeriods} schedule periods (or is not running at all). Check the ` +
          'function logs, the failure queue and the other alarms.',
        metric: metrics.instanceMetric(INSTANCE_METRICS.tickSucceeded, cloudwatch.Stats.SUM),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: ALARM_DEFAULTS.missedTickPeriods,
        datapointsToAlarm: ALARM_DEFAULTS.missedTickPeriods,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      true,
    );

    addAlarm(
      'lambdaErrors',
      new cloudwatch.Alarm(this, 'FunctionErrors', {
        alarmName: name('function-errors'),
        alarmDescription:
          `The function of collector "${instance}" failed (an error that needs an operator, a timeout or a crash). ` +
          'The next tick resumes from the checkpoint; the function logs say what to do.',
        metric: props.fn.metricErrors({
          period: ALARM_DEFAULTS.servicePeriod,
          statistic: cloudwatch.Stats.SUM,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      false,
    );

    addAlarm(
      'failureQueue',
      new cloudwatch.Alarm(this, 'FailedTicksQueued', {
        alarmName: name('failed-ticks-queued'),
        alarmDescription:
          `Records of failed or undeliverable ticks of collector "${instance}" are waiting in the failure queue ` +
          '(FailureQueueUrl output). Read them for the cause, then purge the queue.',
        metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_DEFAULTS.servicePeriod,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      false,
    );

    this.dashboard = this.buildDashboard(props, metrics, stack);
  }

  private buildDashboard(
    props: MonitoringProps,
    metrics: CollectorMetrics,
    stack: Stack,
  ): cloudwatch.Dashboard {
    const { instance, streams } = props;
    // Dashboards are global to the account: the region keeps same-named instances apart.
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `MimecastCollector-${instance}-${stack.region}`,
      defaultInterval: Duration.days(1),
    });
    const perStream = (title: string, metricName: string, statistic: string, width = 8) =>
      new cloudwatch.GraphWidget({
        title,
        width,
        height: 6,
        left: streams.map((s) => metrics.stream(s, metricName, statistic).with({ label: s })),
        legendPosition: cloudwatch.LegendPosition.RIGHT,
      });

    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# Mimecast collector \`${instance}\`\n` +
          'Per-stream health as the function emits it (namespace `' +
          METRICS_NAMESPACE +
          '`). Lag = now minus the newest event delivered; Healthy = 1 when the stream ended its tick without error.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms),
        width: 24,
        height: 4,
      }),
    );
    dashboard.addWidgets(
      perStream('Collection lag (s, max)', STREAM_METRICS.collectionLagSeconds, cloudwatch.Stats.MAXIMUM),
      perStream('Healthy (min)', STREAM_METRICS.healthy, cloudwatch.Stats.MINIMUM),
      perStream('Events forwarded', STREAM_METRICS.eventsForwarded, cloudwatch.Stats.SUM),
    );
    dashboard.addWidgets(
      perStream('Mimecast errors', STREAM_METRICS.mimecastErrors, cloudwatch.Stats.SUM),
      perStream('Sink errors', STREAM_METRICS.sinkErrors, cloudwatch.Stats.SUM),
      perStream('Throttled calls', STREAM_METRICS.throttledCalls, cloudwatch.Stats.SUM),
    );
    dashboard.addWidgets(
      perStream('Pages fetched', STREAM_METRICS.pagesFetched, cloudwatch.Stats.SUM, 12),
      perStream('Bytes sent', STREAM_METRICS.bytesSent, cloudwatch.Stats.SUM, 12),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Ticks',
        width: 8,
        height: 6,
        left: [
          metrics.instanceMetric(INSTANCE_METRICS.tickSucceeded, cloudwatch.Stats.SUM),
          metrics.instanceMetric(INSTANCE_METRICS.authenticationFailures, cloudwatch.Stats.SUM),
          metrics.instanceMetric(INSTANCE_METRICS.permissionFailures, cloudwatch.Stats.SUM),
        ],
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
