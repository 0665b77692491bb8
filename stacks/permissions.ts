import { SecretName } from "../functions/core/secrets";

/**
 * Actions a function may take on one of Spacegate's resources: the table (and its index), the sync
 * queue, or the secrets named by pattern under the stage's prefix (`*`: any characters).
 */
export type Grant =
  | { service: "dynamodb"; actions: string[] }
  | { service: "sqs"; actions: string[] }
  | { service: "secretsmanager"; actions: string[]; names: string[] };

const tableRead = ["GetItem", "BatchGetItem", "Query"];
const tableReadWrite: Grant = {
  service: "dynamodb",
  actions: [...tableRead, "PutItem", "BatchWriteItem", "UpdateItem", "DeleteItem"],
};
const queueSend: Grant = { service: "sqs", actions: ["SendMessage"] };
/** The sync worker and the refresh read platform passwords and the key ring, which they may start. */
const workerGrants: Grant[] = [
  tableReadWrite,
  queueSend,
  { service: "secretsmanager", actions: ["GetSecretValue"], names: ["*"] },
  { service: "secretsmanager", actions: ["PutSecretValue"], names: [SecretName.envelopeKeys] },
];

/**
 * What each function may do, and nothing more. Plain data: stacks/iam.ts turns it into IAM
 * statements, and the smoke test enforces it on the services the bundles call, so a function that
 * needs more than it is granted fails there rather than in production.
 */
export const grants: Record<"api" | "gateway" | "worker" | "refresh", Grant[]> = {
  api: [
    tableReadWrite,
    queueSend,
    { service: "secretsmanager", actions: ["GetSecretValue", "PutSecretValue"], names: ["*"] },
    { service: "secretsmanager", actions: ["CreateSecret", "DeleteSecret"], names: ["platform/*"] },
  ],
  /** The gateway reads grants and instances, updates usage counters and opens header values. */
  gateway: [
    { service: "dynamodb", actions: [...tableRead, "UpdateItem"] },
    { service: "secretsmanager", actions: ["GetSecretValue"], names: [SecretName.envelopeKeys] },
  ],
  worker: workerGrants,
  refresh: workerGrants,
};
