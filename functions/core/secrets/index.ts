/**
 * Where Spacegate keeps what must never sit in plain text: each platform's database password, the
 * envelope keys that encrypt credentials and header values in the table, and the session signing key.
 * Two implementations: AWS Secrets Manager, and an AES-256-GCM encrypted file for `npm start`.
 */
export interface SecretStore {
  get(name: string): Promise<string | null>;
  put(name: string, value: string): Promise<void>;
  /** Stores a value only if the name is free; returns whether it did (first writer wins). */
  create(name: string, value: string): Promise<boolean>;
  delete(name: string): Promise<void>;
}

export const SecretName = {
  platformPassword: (platformId: string) => `platform/${platformId}/password`,
  envelopeKeys: "envelope-keys",
  sessionKey: "session-key",
  adminPassword: "admin-password",
  oidcClientSecret: "oidc-client-secret",
} as const;

/**
 * The secret's value, generating and storing one if it has none. Processes starting together race
 * to store theirs: the first one wins and every process returns that one.
 */
export async function getOrCreateSecret(secrets: SecretStore, name: string, generate: () => string) {
  const stored = await secrets.get(name);
  if (stored) return stored;
  const generated = generate();
  if (await secrets.create(name, generated)) return generated;
  const created = await secrets.get(name);
  if (!created) throw new Error(`The secret ${name} could not be read back after it was created.`);
  return created;
}
