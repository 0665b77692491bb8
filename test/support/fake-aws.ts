import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Grant } from "../../stacks/permissions";

const ACCOUNT = "000000000000";
const REGION = "us-east-1";

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

type Secret = { arn: string; versions: Map<string, string>; current?: string };

/**
 * What the caller with an access key id may do, as IAM would allow it: its grants from
 * stacks/permissions.ts, secret names under the prefix. A caller without a policy may do anything.
 */
export type Policy = { secretPrefix: string; grants: Grant[] };

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
type Input = Record<string, unknown>;

/**
 * Stands in for the Secrets Manager and SQS services, which cannot run here: their JSON protocols
 * over HTTP, kept in memory, so that the real SDK clients (in tests, and inside the Lambda bundles)
 * talk to it unchanged. Given dynalite's socket, it passes DynamoDB's calls on to it,
 * after checking them against the caller's policy like the rest. Secrets behave as Secrets Manager's do: a secret may exist without a value,
 * and a version id (ClientRequestToken) is accepted once.
 */
export async function startFakeAws(
  options: { policies?: Record<string, Policy>; dynamoSocket?: string } = {},
) {
  const secrets = new Map<string, Secret>();
  const messages = new Map<string, string[]>();
  const calls: string[] = [];

  const secretOf = (input: Input) => {
    const id = String(input.SecretId);
    const secret = secrets.get(id) ?? [...secrets.values()].find((candidate) => candidate.arn === id);
    if (!secret)
      throw new ServiceError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const nameOf = (secret: Secret) => [...secrets].find(([, candidate]) => candidate === secret)?.[0] ?? "";
  const addVersion = (secret: Secret, value: string, token: string = randomUUID()) => {
    const existing = secret.versions.get(token);
    if (existing !== undefined) {
      if (existing !== value) {
        throw new ServiceError(
          "ResourceExistsException",
          "You can't modify an existing version, create a new one.",
        );
      }
      return token;
    }
    secret.versions.set(token, value);
    secret.current = token;
    return token;
  };
  const queueMessages = (queueUrl: unknown) => {
    const list = messages.get(String(queueUrl)) ?? [];
    messages.set(String(queueUrl), list);
    return list;
  };
  const sent = (body: string) => ({
    MessageId: randomUUID(),
    MD5OfMessageBody: createHash("md5").update(body).digest("hex"),
  });

  const operations: Record<string, (input: Input) => unknown> = {
    "secretsmanager.CreateSecret": (input) => {
      const name = String(input.Name);
      if (secrets.has(name))
        throw new ServiceError("ResourceExistsException", `The secret ${name} already exists.`);
      const secret: Secret = {
        arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`,
        versions: new Map(),
      };
      secrets.set(name, secret);
      const versionId =
        typeof input.SecretString === "string"
          ? addVersion(secret, input.SecretString, input.ClientRequestToken as string | undefined)
          : undefined;
      return { ARN: secret.arn, Name: name, VersionId: versionId };
    },
    "secretsmanager.GetSecretValue": (input) => {
      const secret = secretOf(input);
      const value = secret.current === undefined ? undefined : secret.versions.get(secret.current);
      if (value === undefined) {
        throw new ServiceError(
          "ResourceNotFoundException",
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      }
      return { ARN: secret.arn, Name: nameOf(secret), SecretString: value, VersionId: secret.current };
    },
    "secretsmanager.PutSecretValue": (input) => {
      const secret = secretOf(input);
      const versionId = addVersion(
        secret,
        String(input.SecretString),
        input.ClientRequestToken as string | undefined,
      );
      return { ARN: secret.arn, Name: nameOf(secret), VersionId: versionId };
    },
    "secretsmanager.DeleteSecret": (input) => {
      const secret = secretOf(input);
      secrets.delete(nameOf(secret));
      return { ARN: secret.arn, Name: nameOf(secret), DeletionDate: Date.now() / 1000 };
    },
    "AmazonSQS.SendMessage": (input) => {
      queueMessages(input.QueueUrl).push(String(input.MessageBody));
      return sent(String(input.MessageBody));
    },
    "AmazonSQS.SendMessageBatch": (input) => {
      const entries = input.Entries as { Id: string; MessageBody: string }[];
      queueMessages(input.QueueUrl).push(...entries.map((entry) => entry.MessageBody));
      return {
        Successful: entries.map((entry) => ({ Id: entry.Id, ...sent(entry.MessageBody) })),
        Failed: [],
      };
    },
  };

  const services: Record<string, Grant["service"]> = {
    secretsmanager: "secretsmanager",
    AmazonSQS: "sqs",
    DynamoDB_20120810: "dynamodb",
  };

  /** Refuses what the caller's policy does not grant, with the error IAM gives. */
  const authorize = (authorization: string, target: string, input: Input) => {
    const [prefix = "", action = ""] = target.split(".");
    const service = services[prefix];
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1] ?? "";
    const policy = options.policies?.[accessKeyId];
    if (!policy || !service) return;
    const id = String(input.Name ?? input.SecretId ?? "");
    const name = secrets.has(id) ? id : ([...secrets].find(([, secret]) => secret.arn === id)?.[0] ?? id);
    // SendMessageBatch is authorised as SendMessage, as IAM does.
    const iamAction = action === "SendMessageBatch" ? "SendMessage" : action;
    const allowed = policy.grants.some(
      (grant) =>
        grant.service === service &&
        grant.actions.includes(iamAction) &&
        (grant.service !== "secretsmanager" ||
          grant.names.some((pattern) => glob(`${policy.secretPrefix}/${pattern}`).test(name))),
    );
    if (!allowed) {
      throw new ServiceError(
        "AccessDeniedException",
        `${accessKeyId} is not authorized to perform: ${service}:${iamAction}${service === "secretsmanager" ? ` on resource: ${name}` : ""}`,
      );
    }
  };

  /** Passes a DynamoDB call on to the engine, as it came. */
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const outgoing = httpRequest(
      { socketPath: options.dynamoSocket, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", (error) => res.destroy(error));
    outgoing.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"]);
      calls.push(target.split(".").at(-1) ?? target);
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", ...headers });
        res.end(JSON.stringify(body));
      };
      try {
        const body = Buffer.concat(chunks);
        const input = JSON.parse(body.toString("utf8") || "{}") as Input;
        authorize(String(req.headers.authorization ?? ""), target, input);
        if (target.startsWith("DynamoDB_") && options.dynamoSocket) return forward(req, body, res);
        const operation = operations[target];
        if (!operation) throw new ServiceError("UnknownOperationException", `${target} is not served here.`);
        reply(200, operation(input));
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        reply(400, { __type: error.type, message: error.message }, { "x-amzn-errortype": error.type });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientConfig = {
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };

  return {
    url,
    region: REGION,
    /** The names of the operations called, in order. */
    calls,
    secretsManager: () => new SecretsManagerClient(clientConfig),
    sqs: () => new SQSClient(clientConfig),
    queueUrl: (name: string) => `${url}/${ACCOUNT}/${name}`,
    /** A secret as the stack creates it: present, without a value. */
    createEmptySecret(name: string) {
      secrets.set(name, {
        arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-abcdef`,
        versions: new Map(),
      });
    },
    secretValue(name: string) {
      const secret = secrets.get(name);
      return secret?.current === undefined ? undefined : secret.versions.get(secret.current);
    },
    secretNames: () => [...secrets.keys()],
    /** The bodies sent to a queue, oldest first; taking them empties the queue. */
    takeMessages(queueUrl: string) {
      return queueMessages(queueUrl).splice(0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeAws = Awaited<ReturnType<typeof startFakeAws>>;
