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

  async create(name: string, value: string) {
    try {
      await this.client.send(new CreateSecretCommand({ Name: this.id(name), SecretString: value }));
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      return this.createFirstVersion(name, value);
    }
    this.cache.set(name, { value, until: this.now() + this.ttlMs });
    return true;
  }

  /**
   * The secret exists (the stack creates the app's own secrets without a value). Its first value is
   * written under a fixed version id: Secrets Manager accepts it once, so of two writers racing here
   * exactly one wins, and a value that is already there is never replaced.
   */
  private async createFirstVersion(name: string, value: string) {
    this.cache.delete(name);
    if ((await this.get(name)) !== null) return false;
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: this.id(name),
          SecretString: value,
          ClientRequestToken: FIRST_VERSION,
        }),
      );
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
