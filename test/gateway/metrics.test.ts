import { describe, expect, it } from "vitest";
import { createGatewayMetrics } from "../../functions/gateway/metrics";
import { captureOutput } from "../support/capture-output";

const grantOf = (instanceId: string) => ({ instanceId, platformId: "plt_1", spaceId: "spc_a" });

/** The embedded-metric-format lines written while `act` ran. */
function emfLines(act: () => void) {
  const output = captureOutput();
  try {
    act();
  } finally {
    output.stop();
  }
  return output
    .text()
    .split("\n")
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } });
}

describe("gateway metrics", () => {
  it("writes calls, errors, limited calls and latency per instance as CloudWatch embedded metrics", () => {
    const metrics = createGatewayMetrics();
    metrics.record(grantOf("ins_1"), { error: false, outcome: "ok", status: 200, durationMs: 20 });
    metrics.record(grantOf("ins_1"), { error: true, outcome: "upstream_error", status: 502, durationMs: 40 });
    metrics.record(grantOf("ins_1"), {
      error: true,
      refused: true,
      outcome: "limited",
      status: 429,
      durationMs: 1,
    });
    metrics.record(grantOf("ins_2"), {
      error: true,
      refused: true,
      outcome: "refused",
      status: 403,
      durationMs: 1,
    });
    metrics.record(grantOf("ins_2"), {
      error: false,
      outcome: "ok",
      status: 200,
      durationMs: 9_000,
      stream: true,
    });

    const lines = emfLines(() => metrics.publish());

    expect(lines).toHaveLength(2);
    const [one, two] = lines;
    expect(one).toMatchObject({
      instanceId: "ins_1",
      service: "gateway",
      Calls: [1, 1, 1],
      Errors: [0, 1, 0],
    });
    expect(one).toMatchObject({ Limited: [0, 0, 1], Latency: [20, 40] });
    expect(two).toMatchObject({ instanceId: "ins_2", Calls: [1, 1], Errors: [1, 0], Limited: [0, 0] });
    expect(two).not.toHaveProperty("Latency");
    expect(one?._aws.CloudWatchMetrics).toEqual([
      expect.objectContaining({
        Namespace: "Spacegate",
        Dimensions: expect.arrayContaining([["service"], expect.arrayContaining(["service", "instanceId"])]),
      }),
    ]);
    expect(emfLines(() => metrics.publish())).toEqual([]);
  });
});
