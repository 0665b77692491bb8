import { GatewayMetrics as M } from "../functions/gateway/metric-names";

/**
 * The gateway at a glance in CloudWatch: calls, errors and limited calls, the error rate, latency
 * p50/p95, for the whole gateway and per instance (the gateway's embedded metrics, see
 * functions/gateway/metrics.ts).
 */
const region = aws.getRegionOutput().name;
const whole = (name: string, stat: string, label: string) => [
  M.namespace,
  name,
  "service",
  M.service,
  { stat, label },
];
const perInstance = (name: string, stat: string) =>
  `SEARCH('{${M.namespace},instanceId,service} MetricName="${name}"', '${stat}', 300)`;

const widget = (
  x: number,
  y: number,
  title: string,
  metrics: unknown[],
  extra: Record<string, unknown> = {},
) => ({
  type: "metric",
  x,
  y,
  width: 12,
  height: 6,
  properties: { title, period: 300, view: "timeSeries", metrics, ...extra },
});

export const dashboard = new aws.cloudwatch.Dashboard("GatewayDashboard", {
  dashboardName: $interpolate`spacegate-${$app.stage}-gateway`,
  dashboardBody: region.apply((name) =>
    JSON.stringify({
      widgets: [
        widget(0, 0, "Gateway calls, errors, limited", [
          whole(M.calls, "Sum", "calls"),
          whole(M.errors, "Sum", "errors"),
          whole(M.limited, "Sum", "limited"),
        ]),
        widget(12, 0, "Gateway error rate (%)", [
          [{ expression: "IF(calls > 0, 100 * errors / calls, 0)", label: "error rate", id: "rate" }],
          [...whole(M.calls, "Sum", "calls").slice(0, 4), { id: "calls", visible: false, stat: "Sum" }],
          [...whole(M.errors, "Sum", "errors").slice(0, 4), { id: "errors", visible: false, stat: "Sum" }],
        ]),
        widget(0, 6, "Gateway latency (ms)", [
          whole(M.latency, "p50", "p50"),
          whole(M.latency, "p95", "p95"),
        ]),
        widget(12, 6, "Calls per instance", [[{ expression: perInstance(M.calls, "Sum"), id: "calls" }]]),
        widget(0, 12, "Errors per instance", [[{ expression: perInstance(M.errors, "Sum"), id: "errors" }]]),
        widget(12, 12, "Latency p95 per instance (ms)", [
          [{ expression: perInstance(M.latency, "p95"), id: "p95" }],
        ]),
      ].map((w) => ({ ...w, properties: { ...w.properties, region: name } })),
    }),
  ),
});
