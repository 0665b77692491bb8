import { SecretName } from "../functions/core/secrets";

/**
 * Secrets Manager. The stack creates the app's own secrets empty; the functions give them their
 * first value on first use (the envelope key ring, the session key, and a generated admin password
 * unless one was set), so no key material ever passes through the deployment's state. Each
 * platform's database password is created by the API at run time under the same prefix.
 */
export const secretPrefix = `spacegate-${$app.stage}`;

// A removed stage frees its names at once; a retained one keeps them recoverable for 30 days.
const recoveryWindowInDays = $app.removal === "remove" ? 0 : 30;

const appSecret = (name: string, key: string, description: string) =>
  new aws.secretsmanager.Secret(name, { name: `${secretPrefix}/${key}`, description, recoveryWindowInDays });

export const envelopeKeys = appSecret(
  "EnvelopeKeys",
  SecretName.envelopeKeys,
  "Spacegate: the key ring that encrypts credentials and header values in the table",
);
export const sessionKey = appSecret("SessionKey", SecretName.sessionKey, "Spacegate: signs admin sessions");
export const adminPassword = appSecret(
  "AdminPassword",
  SecretName.adminPassword,
  "Spacegate: the admin password (generated on first use unless set)",
);

const partition = aws.getPartitionOutput().partition;
const region = aws.getRegionOutput().name;
const accountId = aws.getCallerIdentityOutput().accountId;
const arnOf = (pattern: string) =>
  $interpolate`arn:${partition}:secretsmanager:${region}:${accountId}:secret:${secretPrefix}/${pattern}`;

/** Least privilege per function. */
export const secretsAccess = {
  api: [
    { actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], resources: [arnOf("*")] },
    {
      actions: ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"],
      resources: [arnOf("platform/*")],
    },
  ],
  /** The sync worker and the refresh read platform passwords and the key ring, which they may start. */
  worker: [
    { actions: ["secretsmanager:GetSecretValue"], resources: [arnOf("*")] },
    { actions: ["secretsmanager:PutSecretValue"], resources: [envelopeKeys.arn] },
  ],
  gateway: [{ actions: ["secretsmanager:GetSecretValue"], resources: [envelopeKeys.arn] }],
};
