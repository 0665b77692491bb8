import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { SecretStore } from "./index";

/** The version id of a secret's first value: fixed, so only one first value can ever be stored. */
const FIRST_VERSION = "spacegate-first-value-0000000000000";

/** The slice of the Secrets Manager client this store uses, so tests can stand in for the service. */
export type SecretsManagerSender = Pick<SecretsManagerClient, "send">;

/**
 * One Secrets Manager secret per name, under a prefix (`spacegate/platform/plt_…/password`). Reads
 * are cached in memory for a short time; writes and deletes update the cache at once.
 */
export class AwsSecretStore implements SecretStore {
  private readonly cache = new Map<string, { value: string | null; until: number }>();

  constructor(
    private readonly prefix: string,
    private readonly client: SecretsManagerSender = new SecretsManagerClient({}),
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(name: string) {
    const cached = this.cache.get(name);
    if (cached && cached.until > this.now()) return cached.value;
    let value: string | null;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.id(name) }));
      value = result.SecretString ?? null;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      value = null;
    }
    this.cache.set(name, { value, until: this.now() + this.ttlMs });
    return value;
  }

  async put(name: string, value: string) {
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.id(name), SecretString: value }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(new CreateSecretCommand({ Name: this.id(name), SecretString: value }));
    }
    this.cache.set(name, { value, until: this.now() + this.ttlMs });
  }

  /**
   * Stores a first value unless the secret has one. The value is written under a fixed version id,
   * which Secrets Manager accepts once: of two writers racing, exactly one wins. A secret the stack
   * created empty (the app's own) gets it with PutSecretValue, so that a function needs no right to
   * create secrets for them; a secret that does not exist yet is created.
   */
  async create(name: string, value: string) {
    this.cache.delete(name);
    if ((await this.get(name)) !== null) return false;
    const first = { SecretString: value, ClientRequestToken: FIRST_VERSION };
    try {
      try {
        await this.client.send(new PutSecretValueCommand({ SecretId: this.id(name), ...first }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
        await this.client.send(new CreateSecretCommand({ Name: this.id(name), ...first }));
      }
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      this.cache.delete(name);
      return false;
    }
    this.cache.set(name, { value, until: this.now() + this.ttlMs });
    return true;
  }

  async delete(name: string) {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: this.id(name), RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    this.cache.set(name, { value: null, until: this.now() + this.ttlMs });
  }

  private id(name: string) {
    return `${this.prefix}/${name}`;
  }
}
