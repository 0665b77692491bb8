import { SecretName } from "../functions/core/secrets";

/** Secrets Manager actions on secrets named by pattern under the stage's prefix (`*`: any characters). */
export type SecretGrant = {
  actions: ("GetSecretValue" | "PutSecretValue" | "CreateSecret" | "DeleteSecret")[];
  names: string[];
};

/**
 * What each function may do with Spacegate's secrets. Plain data: stacks/secrets.ts turns it into IAM
 * statements, and the smoke test enforces it on the stand-in Secrets Manager, so a function that
 * needs more than it is granted fails there rather than in production.
 */
export const secretGrants = {
  api: [
    { actions: ["GetSecretValue", "PutSecretValue"], names: ["*"] },
    { actions: ["CreateSecret", "DeleteSecret"], names: ["platform/*"] },
  ],
  /** The sync worker and the refresh read platform passwords and the key ring, which they may start. */
  worker: [
    { actions: ["GetSecretValue"], names: ["*"] },
    { actions: ["PutSecretValue"], names: [SecretName.envelopeKeys] },
  ],
  gateway: [{ actions: ["GetSecretValue"], names: [SecretName.envelopeKeys] }],
} satisfies Record<string, SecretGrant[]>;
