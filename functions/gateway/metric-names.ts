/** The namespace, service and names of the gateway's CloudWatch metrics; stacks/dashboard.ts reads them. */
export const GatewayMetrics = {
  namespace: "Spacegate",
  service: "gateway",
  calls: "Calls",
  errors: "Errors",
  limited: "Limited",
  latency: "Latency",
} as const;
