import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defaultStreams } from "../../functions/core/streams";
import { type Authorization, createAuthorizer } from "../../functions/gateway/authorize";
import type { GatewayRequest } from "../../functions/gateway/core";
import { AbortSwitch } from "../../functions/gateway/upstream";
import { MemoryResolver } from "./fixtures";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function setup() {
  const resolver = new MemoryResolver();
  const clock = { now: Date.parse("2026-01-15T10:00:00Z") };
  const authorize = createAuthorizer({ resolver, now: () => clock.now, cacheTtlMs: 5_000 });
  resolver.instances.set("ins_a", {
    id: "ins_a",
    enabled: true,
    upstream: { url: "http://127.0.0.1:1/mcp", transport: "streamable-http" },
    headers: {},
    timeouts: { timeout: 30, sseReadTimeout: 300 },
    streams: defaultStreams,
    forwardHeaders: [],
  });
  const grant = (overrides: { instanceId?: string; expiresAt?: string | null } = {}) => {
    const credential = `sg_${randomBytes(32).toString("base64url")}`;
    resolver.grants.set(sha256(credential), {
      instanceId: overrides.instanceId ?? "ins_a",
      platformId: "plt_a",
      spaceId: "spc_a",
      tokenHash: sha256(credential),
      enabled: true,
      expiresAt: overrides.expiresAt ?? null,
      headers: {},
    });
    return credential;
  };
  const request = (headers: Record<string, string>): GatewayRequest => ({
    method: "POST",
    target: "/gateway/ins_a/mcp",
    headers,
    protocol: "http",
    body: null,
    signal: new AbortSwitch(),
  });
  const codeOf = (authorization: Authorization) =>
    "error" in authorization ? authorization.error.code : "ok";
  return { resolver, clock, authorize, grant, request, codeOf };
}

describe("authorization", () => {
  it("refuses a missing, malformed, unknown, expired or other instance's credential, and accepts a valid one", async () => {
    const { authorize, grant, request, codeOf, clock } = setup();
    const valid = grant();
    const expired = grant({ expiresAt: new Date(clock.now).toISOString() });
    const other = grant({ instanceId: "ins_b" });
    const unknown = `sg_${randomBytes(32).toString("base64url")}`;
    const check = async (headers: Record<string, string>) =>
      codeOf(await authorize(request(headers), "", "ins_a", "mcp"));

    expect(await check({})).toBe("credential_missing");
    expect(await check({ authorization: "Bearer nope" })).toBe("credential_invalid");
    expect(await check({ authorization: `Bearer ${unknown}` })).toBe("credential_invalid");
    expect(await check({ authorization: `Bearer ${expired}` })).toBe("credential_expired");
    expect(await check({ authorization: `Bearer ${other}` })).toBe("credential_wrong_instance");
    expect(await check({ "x-api-key": valid })).toBe("ok");
  });

  it("answers at once, without a promise, once grant and instance are cached", async () => {
    const { authorize, grant, request } = setup();
    const headers = { authorization: `Bearer ${grant()}` };

    const first = authorize(request(headers), "", "ins_a", "mcp");
    await first;
    const second = authorize(request(headers), "", "ins_a", "mcp");

    expect(first).toBeInstanceOf(Promise);
    expect(second).not.toBeInstanceOf(Promise);
    expect("grant" in second && second.grant?.spaceId).toBe("spc_a");
  });
});
