import { SecretName } from "../functions/core/secrets";

/**
 * Secrets Manager. The stack creates the app's own secrets empty; the functions give them their
 * first value on first use (the envelope key ring, the session key, and a generated admin password
 * unless one was set), so no key material ever passes through the deployment's state. Each
 * platform's database password is created by the API at run time under the same prefix.
 */
export const secretPrefix = `spacegate-${$app.stage}`;

const retained = $app.removal !== "remove";
// A removed stage frees its names at once; a retained one keeps them recoverable for 30 days.
const recoveryWindowInDays = retained ? 30 : 0;

// SST retains tables and buckets of a retained stage by itself, but not secrets.
const appSecret = (name: string, key: string, description: string) =>
  new aws.secretsmanager.Secret(
    name,
    { name: `${secretPrefix}/${key}`, description, recoveryWindowInDays },
    { retainOnDelete: retained },
  );

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

/**
 * The ARN pattern of the secrets named by a pattern under the prefix. Secrets Manager appends six
 * random characters to a secret's name in its ARN.
 */
export const secretArn = (name: string) =>
  $interpolate`arn:${partition}:secretsmanager:${region}:${accountId}:secret:${secretPrefix}/${name.endsWith("*") ? name : `${name}-??????`}`;
