import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { GatewayMetrics } from "./metric-names";
import type { CallRecord, UsageSink } from "./types";

/**
 * The gateway's calls as CloudWatch metrics in the embedded metric format (Powertools Metrics):
 * calls, errors, limited calls and latency, each once per instance and once for the whole gateway.
 * Calls are added up in memory and written by `publish`, one line per instance, after a response.
 */
export function createGatewayMetrics() {
  const byInstance = new Map<string, Metrics>();
  const metricsOf = (instanceId: string) => {
    let metrics = byInstance.get(instanceId);
    if (!metrics) {
      metrics = new Metrics({ namespace: GatewayMetrics.namespace, serviceName: GatewayMetrics.service });
      byInstance.set(instanceId, metrics);
    }
    return metrics;
  };

  const sink: UsageSink & { publish(): void } = {
    record(grant, call: CallRecord) {
      const metrics = metricsOf(grant.instanceId);
      const outcome = call.outcome ?? (call.refused ? "refused" : call.error ? "upstream_error" : "ok");
      metrics.addMetric(GatewayMetrics.calls, MetricUnit.Count, 1);
      metrics.addMetric(
        GatewayMetrics.errors,
        MetricUnit.Count,
        outcome === "ok" || outcome === "limited" ? 0 : 1,
      );
      metrics.addMetric(GatewayMetrics.limited, MetricUnit.Count, outcome === "limited" ? 1 : 0);
      if (
        call.durationMs !== undefined &&
        !call.stream &&
        (outcome === "ok" || outcome === "upstream_error")
      ) {
        metrics.addMetric(GatewayMetrics.latency, MetricUnit.Milliseconds, call.durationMs);
      }
    },
    publish() {
      for (const [instanceId, metrics] of byInstance) {
        if (!metrics.hasStoredMetrics()) continue;
        // Two dimension sets: the whole gateway (service alone), for the alarm, and the instance.
        metrics.addDimensions({});
        metrics.addDimensions({ instanceId });
        metrics.publishStoredMetrics();
      }
    },
  };
  return sink;
}

/** One sink feeding several: the history and the metrics see every call alike. */
export const bothSinks = (...sinks: UsageSink[]): UsageSink => ({
  record(grant, call) {
    for (const sink of sinks) sink.record(grant, call);
  },
});
