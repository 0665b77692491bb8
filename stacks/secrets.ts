/** Set with `npx sst secret set AdminPassword …` before the first deploy. */
export const adminPassword = new sst.Secret("AdminPassword");

/** Platform passwords, the envelope key ring and the session key live under this prefix. */
export const secretPrefix = `spacegate-${$app.stage}`;

export const secretsPermission = {
  actions: [
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
  ],
  resources: [
    $interpolate`arn:aws:secretsmanager:${aws.getRegionOutput().name}:${aws.getCallerIdentityOutput().accountId}:secret:${secretPrefix}/*`,
  ],
};
