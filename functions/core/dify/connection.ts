import { createHash } from "node:crypto";
import { checkServerIdentity } from "node:tls";
import pg from "pg";
import { defaultSecureContext } from "./trust";

/** How to reach a Dify installation's PostgreSQL. The password comes from the secret store. */
export type DatabaseSettings = {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  ssl: "disable" | "require" | "verify-full";
  /**
   * PEM of the CA that signed the server certificate, for verify-full; without it, the system's CAs
   * and the Amazon RDS bundle (./trust.ts).
   */
  caPem?: string;
};

export type Timeouts = { connectTimeoutMs: number; statementTimeoutMs: number };

const sslOptions = (settings: DatabaseSettings): pg.ClientConfig["ssl"] => {
  switch (settings.ssl) {
    case "disable":
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify-full":
      return {
        rejectUnauthorized: true,
        ...(settings.caPem ? { ca: settings.caPem } : { secureContext: defaultSecureContext() }),
        // Checked against the host as typed, also when it is an IP address (pg sends no SNI then).
        checkServerIdentity: (_servername, cert) => checkServerIdentity(settings.host, cert),
      };
  }
};

export function toPgConfig(settings: DatabaseSettings, timeouts: Timeouts): pg.ClientConfig {
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password,
    ssl: sslOptions(settings),
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    application_name: "spacegate",
  };
}

const fingerprint = (settings: DatabaseSettings) =>
  createHash("sha256")
    .update(
      JSON.stringify([
        settings.host,
        settings.port,
        settings.database,
        settings.user,
        settings.password,
        settings.ssl,
        settings.caPem ?? null,
      ]),
    )
    .digest("hex");

/** One small pg.Pool per agent platform, replaced when the platform's settings change. */
export class DifyPools {
  private readonly pools = new Map<string, { fingerprint: string; pool: pg.Pool }>();

  constructor(
    private readonly timeouts: Timeouts = { connectTimeoutMs: 5_000, statementTimeoutMs: 15_000 },
  ) {}

  get(platformId: string, settings: DatabaseSettings): pg.Pool {
    const current = this.pools.get(platformId);
    const key = fingerprint(settings);
    if (current?.fingerprint === key) return current.pool;
    if (current) void current.pool.end().catch(() => {});

    const pool = new pg.Pool({ ...toPgConfig(settings, this.timeouts), max: 5, idleTimeoutMillis: 30_000 });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on("error", () => {});
    this.pools.set(platformId, { fingerprint: key, pool });
    return pool;
  }

  async close(platformId: string): Promise<void> {
    const current = this.pools.get(platformId);
    this.pools.delete(platformId);
    await current?.pool.end();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.pools.keys()].map((platformId) => this.close(platformId)));
  }
}
