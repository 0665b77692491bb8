import { GatewayMetrics } from "../functions/gateway/metric-names";
import { api } from "./api";
import { deadLetters } from "./queue";

/**
 * Three alarms, to an SNS topic (SPACEGATE_ALARM_EMAIL subscribes an address): a sync message gave up
 * (the dead-letter queue is not empty), the API or the gateway answered 5xx repeatedly (an
 * unreachable or timing-out MCP server shows here as the gateway's 502 and 504), and more than 5% of
 * the gateway's calls failed (refusals included) over 10 minutes with at least 20 calls.
 */
export const alarms = new sst.aws.SnsTopic("Alarms");

const email = process.env.SPACEGATE_ALARM_EMAIL;
// SnsTopic.subscribe takes a function handler; an address is subscribed with the plain resource.
if (email)
  new aws.sns.TopicSubscription("AlarmEmail", { topic: alarms.arn, protocol: "email", endpoint: email });

/** An alarm on the sum or maximum of a metric over 5 minutes, to the topic and back when it clears. */
const alarm = (
  name: string,
  args: Omit<aws.cloudwatch.MetricAlarmArgs, "period" | "evaluationPeriods" | "comparisonOperator">,
) =>
  new aws.cloudwatch.MetricAlarm(name, {
    period: 300,
    evaluationPeriods: 1,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [alarms.arn],
    okActions: [alarms.arn],
    ...args,
  });

alarm("DeadLetters", {
  alarmDescription: "Spacegate: sync messages reached the dead-letter queue; see the failed sync items.",
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: deadLetters.nodes.queue.name },
  statistic: "Maximum",
  threshold: 0,
});

alarm("Api5xx", {
  alarmDescription: "Spacegate: more than 10 answers with a 5xx status in 5 minutes.",
  namespace: "AWS/ApiGateway",
  metricName: "5XXError",
  dimensions: { ApiName: api.nodes.api.name, Stage: $app.stage },
  statistic: "Sum",
  threshold: 10,
});

const gatewayMetric = (id: string, metricName: string) => ({
  id,
  returnData: false,
  metric: {
    namespace: GatewayMetrics.namespace,
    metricName,
    dimensions: { service: GatewayMetrics.service },
    period: 300,
    stat: "Sum",
  },
});

new aws.cloudwatch.MetricAlarm("GatewayErrorRate", {
  alarmDescription:
    "Spacegate: more than 5% of the gateway's calls failed for 10 minutes; see the gateway dashboard.",
  comparisonOperator: "GreaterThanThreshold",
  evaluationPeriods: 2,
  threshold: 5,
  treatMissingData: "notBreaching",
  alarmActions: [alarms.arn],
  okActions: [alarms.arn],
  metricQueries: [
    gatewayMetric("calls", GatewayMetrics.calls),
    gatewayMetric("errors", GatewayMetrics.errors),
    {
      id: "rate",
      expression: "IF(calls >= 20, 100 * errors / calls, 0)",
      label: "error rate (%)",
      returnData: true,
    },
  ],
});
