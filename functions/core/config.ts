/** Runtime settings, read from the environment once per process. */
export interface Config {
  /** The URL Dify reaches the gateway at, without a trailing slash. */
  publicUrl: string;
  tableName: string;
  /** Name prefix of the secrets kept in AWS Secrets Manager. */
  secretPrefix: string;
  queueUrl?: string;
  sessionTtlSeconds: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    publicUrl: (env.SPACEGATE_PUBLIC_URL ?? `http://localhost:${env.PORT ?? 8787}`).replace(/\/+$/, ""),
    tableName: env.SPACEGATE_TABLE ?? "spacegate",
    secretPrefix: env.SPACEGATE_SECRET_PREFIX ?? "spacegate",
    queueUrl: env.SPACEGATE_QUEUE_URL,
    sessionTtlSeconds: 12 * 60 * 60,
  };
}
