/**
 * The alarm "push stopped while pull still finds events" (only with the push receiver): metric math over
 * the push path's and the pull's instance metrics, on the alarm topic of Monitoring.
 */
import { type CfnCondition, CfnMapping, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { PUSH_METRICS } from '../../lambda/telemetry/metric-names';
import { SCHEDULE_MINUTES } from '../defaults';
import { addPagingAlarm, CollectorMetrics } from './monitoring';

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

/** Logs Insights query naming why pushes were refused or not forwarded (the push function's log lines). */
export const PUSH_REFUSALS_QUERY =
  'filter message like /^Push (refused|not forwarded)/ | stats count(*) as requests by message, bin(1h)';

export interface PushStoppedAlarmProps {
  instance: string;
  /** The alarm topic (Monitoring's): its policy and the key's already admit the instance's alarm names. */
  topic: sns.ITopic;
  /** The ScheduleMinutes parameter value (a token): the period follows it. */
  scheduleMinutes: string;
  /** The dashboard, named in the description. */
  dashboardUrl: string;
  /** True when the `PushReceiver` parameter is Enabled: the alarm exists only then. */
  condition: CfnCondition;
  /** The push function's log group, named in the description. */
  pushLogGroup: logs.ILogGroup;
}

/**
 * "Push stopped while pull still finds events": Event Push paused (or failing) for two periods in a row
 * while the scheduled pull keeps finding events push never delivered. Nothing is lost (the pull
 * forwards them); a person must resume the integration in Mimecast. Same topic, actions and name
 * prefix as the other alarms (so the topic and key policies already admit it). Not on the dashboard:
 * it may not exist.
 *
 * `scope` fixes the alarm's logical ID: the stack passes the Monitoring construct, where the alarm has
 * always been, since CloudFormation cannot replace an alarm that keeps its name.
 */
export function addPushStoppedAlarm(scope: Construct, props: PushStoppedAlarmProps): cloudwatch.Alarm {
  const { instance } = props;
  const metrics = new CollectorMetrics(instance);
  const metric = (metricName: string) =>
    metrics.instanceMetric(metricName, cloudwatch.Stats.SUM, Duration.minutes(15));
  const alarm = addPagingAlarm(
    scope,
    'PushStopped',
    { instance, topic: props.topic, nameSuffix: PUSH_STOPPED_ALARM_NAME },
    {
      alarmDescription:
        `Event Push of collector "${instance}" delivered none of the events the scheduled pull found for ${PUSH_STOPPED_PERIODS} periods ` +
        '(PushGapEvents > 0, PushMatchedEvents = 0): Mimecast has paused or stopped ' +
        'the integration. Nothing is lost, the pull forwards them. Resume the Event Push integration in ' +
        "Mimecast's Integrations Hub; if it keeps pausing, look for PushRequestsRefused (a token that no longer " +
        'matches the push token secret) or PushDestinationFailures. Why: CloudWatch Logs Insights on log group ' +
        `${props.pushLogGroup.logGroupName}, query: ${PUSH_REFUSALS_QUERY} - or the dashboard ${props.dashboardUrl}`,
      metric: new cloudwatch.MathExpression({
        expression: PUSH_STOPPED_EXPRESSION,
        usingMetrics: {
          gap: metric(PUSH_METRICS.pushGapEvents),
          matched: metric(PUSH_METRICS.pushMatchedEvents),
        },
        period: Duration.minutes(15),
      }),
      evaluationPeriods: PUSH_STOPPED_PERIODS,
      datapointsToAlarm: PUSH_STOPPED_PERIODS,
      // No gap data (no tick with push-primary streams, or nothing to collect) is no reason to page.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    },
  );
  const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
  cfn.cfnOptions.condition = props.condition;
  // The period follows ScheduleMinutes (a parameter, so a mapping): every period must hold a tick.
  const periods = new CfnMapping(scope, 'PushStoppedPeriod', {
    mapping: Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: pushStoppedPeriodSeconds(m) }])),
  });
  const period = Token.asNumber(periods.findInMap(props.scheduleMinutes, 'Seconds'));
  const queries = cfn.metrics as cloudwatch.CfnAlarm.MetricDataQueryProperty[];
  cfn.metrics = queries.map((q) =>
    q.metricStat === undefined
      ? q
      : { ...q, metricStat: { ...(q.metricStat as cloudwatch.CfnAlarm.MetricStatProperty), period } },
  );
  return alarm;
}
