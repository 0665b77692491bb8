import { Resource } from "sst/resource";

/** Runtime settings, read once per process. */
export interface Config {
  /** The URL Dify reaches the gateway at, without a trailing slash. */
  publicUrl: string;
  tableName: string;
  /** Name prefix of the secrets kept in AWS Secrets Manager. */
  secretPrefix: string;
  queueUrl?: string;
  /** The origin the admin UI is served from, for CORS; `*` allows any (sessions are bearer tokens). */
  corsOrigin: string;
  sessionTtlSeconds: number;
}

/** The `Settings` link every function is given on AWS (stacks/api.ts). */
interface LinkedSettings {
  tableName: string;
  secretPrefix: string;
  queueUrl: string;
  publicUrl: string;
  corsOrigin: string;
}

const SESSION_TTL_SECONDS = 12 * 60 * 60;
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

/** The settings SST links to a function, or undefined outside a deployed function. */
function linkedSettings(env: NodeJS.ProcessEnv): LinkedSettings | undefined {
  if (!env.SST_RESOURCE_App && !env.SST_KEY_FILE) return undefined;
  const settings = (Resource as unknown as Record<string, Partial<LinkedSettings> | undefined>).Settings;
  const missing = (["tableName", "secretPrefix", "queueUrl", "publicUrl"] as const).filter(
    (key) => typeof settings?.[key] !== "string" || settings[key] === "",
  );
  if (!settings || missing.length > 0) {
    throw new Error(`The function's Settings link lacks ${missing.join(", ")}: deploy the stack again.`);
  }
  return settings as LinkedSettings;
}

/**
 * On AWS, from the `Settings` link; on one machine and in tests, from the environment (SPACEGATE_*),
 * with defaults for `npm start`.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const linked = linkedSettings(env);
  if (linked) {
    return {
      publicUrl: withoutTrailingSlash(linked.publicUrl),
      tableName: linked.tableName,
      secretPrefix: linked.secretPrefix,
      queueUrl: linked.queueUrl,
      corsOrigin: linked.corsOrigin || "*",
      sessionTtlSeconds: SESSION_TTL_SECONDS,
    };
  }
  return {
    publicUrl: withoutTrailingSlash(env.SPACEGATE_PUBLIC_URL ?? `http://localhost:${env.PORT ?? 8787}`),
    tableName: env.SPACEGATE_TABLE ?? "spacegate",
    secretPrefix: env.SPACEGATE_SECRET_PREFIX ?? "spacegate",
    queueUrl: env.SPACEGATE_QUEUE_URL,
    corsOrigin: env.SPACEGATE_WEB_ORIGIN ?? "*",
    sessionTtlSeconds: SESSION_TTL_SECONDS,
  };
}
