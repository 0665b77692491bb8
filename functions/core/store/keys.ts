/**
 * Every key of the single table, and the only place that spells one. Items live in collections (a
 * partition, or a partition of the index gsi1); ids are time-sortable, so a collection lists oldest
 * first (newest first with `reverse`). A `…` in the sk column is a prefix a collection is read by.
 *
 * | item               | builder                                         | pk                    | sk                                       | gsi1pk              | gsi1sk                 |
 * | ------------------ | ----------------------------------------------- | --------------------- | ---------------------------------------- | ------------------- | ---------------------- |
 * | admin login        | admin()                                         | ADMIN                 | PASSWORD                                 |                     |                        |
 * | platforms          | platforms()                                     | PLATFORM              | …                                        |                     |                        |
 * | platform           | platform(platformId)                            | PLATFORM              | <platformId>                             |                     |                        |
 * | instances          | instances()                                     | INSTANCE              | …                                        |                     |                        |
 * | instance           | instance(instanceId)                            | INSTANCE              | <instanceId>                             |                     |                        |
 * | instance's tools   | instanceTools(instanceId)                       | INSTANCE#<instanceId> | TOOLS                                    |                     |                        |
 * | identifier claim   | identifier(identifier)                          | IDENT#<identifier>    | IDENT                                    |                     |                        |
 * | instance's grants  | grants(instanceId)                              | GRANT#<instanceId>    | …                                        |                     |                        |
 * | platform's grants  | platformGrants(platformId)                      |                       |                                          | PGRANT#<platformId> | …                      |
 * | access grant       | grant(instanceId, platformId, spaceId)          | GRANT#<instanceId>    | <platformId>#<spaceId>                   | PGRANT#<platformId> | <spaceId>#<instanceId> |
 * | token index        | token(tokenHash)                                | TOKEN#<tokenHash>     | TOKEN                                    |                     |                        |
 * | rate-limit counter | limit(key)                                      | LIMIT#<key>           | COUNT                                    |                     |                        |
 * | sessions           | sessions()                                      | SESSION               | …                                        |                     |                        |
 * | session            | session(sessionId)                              | SESSION               | <sessionId>                              |                     |                        |
 * | signed-out session | revokedSession(sessionId)                       | SESSION#<sessionId>   | REVOKED                                  |                     |                        |
 * | sign-in attempt    | ssoAttempt(state)                               | SSO#<state>           | ATTEMPT                                  |                     |                        |
 * | sync jobs          | jobs()                                          | JOB                   | …                                        |                     |                        |
 * | sync job           | job(jobId)                                      | JOB                   | <jobId>                                  |                     |                        |
 * | job's items        | jobItems(jobId)                                 | JOB#<jobId>           | ITEM#…                                   |                     |                        |
 * | sync job item      | jobItem(jobId, instanceId, platformId, spaceId) | JOB#<jobId>           | ITEM#<instanceId>#<platformId>#<spaceId> |                     |                        |
 * | job's tools        | jobTools(jobId, instanceId)                     | JOB#<jobId>           | TOOLS#<instanceId>                       |                     |                        |
 * | audit log          | auditLog()                                      | AUDIT                 | …                                        |                     |                        |
 * | audit event        | audit(at, auditId)                              | AUDIT                 | <at>#<auditId>                           |                     |                        |
 * | usage hours        | usageHours(scope)                               | USAGE#<scope>         | HOUR#…                                   |                     |                        |
 * | usage hour         | usageHour(scope, hour)                          | USAGE#<scope>         | HOUR#<hour>                              |                     |                        |
 * | usage tools        | usageTools(scope)                               | USAGE#<scope>         | TOOL#…                                   |                     |                        |
 * | usage tool day     | usageTool(scope, day, tool)                     | USAGE#<scope>         | TOOL#<day>#<tool>                        |                     |                        |
 * | usage spaces       | usageSpaces(instanceId)                         | USAGE#<instanceId>    | SPACE#…                                  |                     |                        |
 * | usage space day    | usageSpace(instanceId, day, platformId, spaceId) | USAGE#<instanceId>   | SPACE#<day>#<platformId>#<spaceId>       |                     |                        |
 *
 * A usage scope is an instance (`<instanceId>`) or one space's access to it
 * (`<instanceId>#<platformId>#<spaceId>`, see usageScope); usage items expire (ttl) after 90 days.
 * Sessions and signed-out sessions expire (ttl) when their token does.
 *
 * test/core/store/keys.test.ts reads this table and checks every row against the builder it names.
 */
export const Keys = {
  admin: () => ({ pk: "ADMIN", sk: "PASSWORD" }),
  platforms: () => collection("PLATFORM"),
  platform: (platformId: string) => ({ pk: "PLATFORM", sk: platformId }),
  instances: () => collection("INSTANCE"),
  instance: (instanceId: string) => ({ pk: "INSTANCE", sk: instanceId }),
  instanceTools: (instanceId: string) => ({ pk: `INSTANCE#${instanceId}`, sk: "TOOLS" }),
  identifier: (identifier: string) => ({ pk: `IDENT#${identifier}`, sk: "IDENT" }),
  grants: (instanceId: string) => collection(`GRANT#${instanceId}`),
  platformGrants: (platformId: string) => collection(`PGRANT#${platformId}`, { index: "gsi1" }),
  grant: (instanceId: string, platformId: string, spaceId: string) => ({
    pk: `GRANT#${instanceId}`,
    sk: `${platformId}#${spaceId}`,
    gsi1pk: `PGRANT#${platformId}`,
    gsi1sk: `${spaceId}#${instanceId}`,
  }),
  token: (tokenHash: string) => ({ pk: `TOKEN#${tokenHash}`, sk: "TOKEN" as const }),
  /** A gateway rate-limit counter (`key` names the space, the kind and the window). */
  limit: (key: string) => ({ pk: `LIMIT#${key}`, sk: "COUNT" as const }),
  sessions: () => collection("SESSION"),
  session: (sessionId: string) => ({ pk: "SESSION", sk: sessionId }),
  revokedSession: (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: "REVOKED" as const }),
  ssoAttempt: (state: string) => ({ pk: `SSO#${state}`, sk: "ATTEMPT" as const }),
  jobs: () => collection("JOB"),
  job: (jobId: string) => ({ pk: "JOB", sk: jobId }),
  jobItems: (jobId: string) => collection(`JOB#${jobId}`, { skPrefix: "ITEM#" }),
  jobItem: (jobId: string, instanceId: string, platformId: string, spaceId: string) => ({
    pk: `JOB#${jobId}`,
    sk: `ITEM#${instanceId}#${platformId}#${spaceId}`,
  }),
  jobTools: (jobId: string, instanceId: string) => ({ pk: `JOB#${jobId}`, sk: `TOOLS#${instanceId}` }),
  auditLog: () => collection("AUDIT"),
  audit: (at: string, auditId: string) => ({ pk: "AUDIT", sk: `${at}#${auditId}` }),
  usageHours: (scope: string) => collection(`USAGE#${scope}`, { skPrefix: "HOUR#" }),
  usageHour: (scope: string, hour: string) => ({ pk: `USAGE#${scope}`, sk: `HOUR#${hour}` }),
  usageTools: (scope: string) => collection(`USAGE#${scope}`, { skPrefix: "TOOL#" }),
  usageTool: (scope: string, day: string, tool: string) => ({
    pk: `USAGE#${scope}`,
    sk: `TOOL#${day}#${tool}`,
  }),
  usageSpaces: (instanceId: string) => collection(`USAGE#${instanceId}`, { skPrefix: "SPACE#" }),
  usageSpace: (instanceId: string, day: string, platformId: string, spaceId: string) => ({
    pk: `USAGE#${instanceId}`,
    sk: `SPACE#${day}#${platformId}#${spaceId}`,
  }),
};

/** The usage scope of an instance, or of one space's access to it. */
export const usageScope = (instanceId: string, space?: { platformId: string; spaceId: string }) =>
  space ? `${instanceId}#${space.platformId}#${space.spaceId}` : instanceId;

/** The primary key of one item. */
export interface Key {
  pk: string;
  sk: string;
}

/** A set of items read together: a partition of the table or of the index, optionally by sk prefix. */
export interface Collection {
  pk: string;
  index?: "gsi1";
  skPrefix?: string;
  /** Only sort keys from `from` to `to`, both included. */
  range?: { from: string; to: string };
}

/** The part of a collection whose sort keys, after its prefix, run from `from` to `to` (both included). */
export const between = (collection: Collection, from: string, to: string): Collection => ({
  ...collection,
  range: { from: `${collection.skPrefix ?? ""}${from}`, to: `${collection.skPrefix ?? ""}${to}` },
});

function collection(pk: string, options: Omit<Collection, "pk"> = {}): Collection {
  return { pk, ...options };
}
