import { z } from "zod";
import { RESERVED_HEADERS } from "./header-names";
import { identityOff, ssoTokenHeader } from "./policy";
import { defaultStreams } from "./streams";
import { TRANSPORTS } from "./transport";

/**
 * What the admin may send, as zod schemas with messages in plain words. Imports only zod and plain lists:
 * the API validates requests with these, and the web UI validates its forms with the same ones
 * before it sends anything.
 */

export const HeaderName = z
  .string()
  .min(1, "Give the header a name")
  .max(100, "A header name has at most 100 characters")
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "A header name has letters, digits and - only, no spaces")
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), "The gateway sets this header itself");

export const HeaderValue = z
  .string()
  .max(8192, "A header value has at most 8192 characters")
  .regex(/^[^\r\n\0]*$/, "A header value cannot contain line breaks");

/** A record's key error says what is wrong with the name, not "Invalid key in record". */
const keyError = (issue: { code?: string; issues?: Array<{ message?: string }> }) =>
  issue.code === "invalid_key" ? issue.issues?.[0]?.message : undefined;

/** Pass-through headers as given in a request: name to plain value. */
export const HeaderMap = z
  .record(HeaderName, HeaderValue, { error: keyError })
  .refine((map) => Object.keys(map).length <= 50, "At most 50 headers")
  .refine(
    (map) => new Set(Object.keys(map).map((name) => name.toLowerCase())).size === Object.keys(map).length,
    "Header names must differ in more than case",
  );
export type HeaderMap = z.infer<typeof HeaderMap>;

/**
 * A new set of headers for an update: every name to keep, with a new value or `{ keep: true }` to
 * keep the stored one without sending it back. Names left out are removed.
 */
export const HeaderUpdate = z.record(
  HeaderName,
  z.union([HeaderValue, z.object({ keep: z.literal(true) })]),
  {
    error: keyError,
  },
);
export type HeaderUpdate = z.infer<typeof HeaderUpdate>;

/** A required text: missing and empty both say what to enter. */
const text = (missing: string) => z.string({ error: missing }).trim().min(1, { error: missing, abort: true });

const name = (max: number, limit = `Use at most ${max} characters`) => text("Enter a name").max(max, limit);

export namespace PlatformInput {
  export const Kind = z.enum(["dify-community", "dify-enterprise"], {
    error: "Choose Dify Community or Dify Enterprise",
  });
  /**
   * `verify-full` (the default) checks the server's certificate and host name against the given CA,
   * else the system's CAs and the Amazon RDS bundle; `require` encrypts without verifying anything.
   */
  export const SslMode = z.enum(["disable", "require", "verify-full"], {
    error: "Choose disable, require or verify-full",
  });

  const pem = z
    .string()
    .max(20_000, "A CA certificate has at most 20,000 characters")
    .refine((value) => value.includes("-----BEGIN CERTIFICATE-----"), "Paste the CA certificate in PEM form");

  const databaseFields = {
    host: text("Enter the database server's host name or IP address")
      .max(253, "A host name has at most 253 characters")
      .regex(/^[A-Za-z0-9._:[\]-]+$/, "Give a host name or IP address, without a scheme or path"),
    port: z
      .number({ error: "Give a port number from 1 to 65535" })
      .int("Give a port number from 1 to 65535")
      .min(1, "Give a port number from 1 to 65535")
      .max(65_535, "Give a port number from 1 to 65535"),
    database: text("Enter the database name (Dify's default is dify)").max(
      63,
      "A database name has at most 63 characters",
    ),
    user: text("Enter the database user").max(63, "A user name has at most 63 characters"),
    password: z
      .string({ error: "Enter the database password" })
      .min(1, "Enter the database password")
      .max(1024, "A password has at most 1024 characters"),
    ssl: SslMode,
    caPem: pem.optional(),
  };

  export const Database = z.object(
    {
      ...databaseFields,
      port: databaseFields.port.default(5432),
      ssl: SslMode.default("verify-full"),
    },
    { error: "Give the database's connection details" },
  );

  export const Create = z.object({
    name: name(80),
    kind: Kind,
    database: Database,
  });

  export const Update = z.object({
    name: name(80).optional(),
    kind: Kind.optional(),
    /** Fields left out keep their value; the password is only replaced when one is given. */
    database: z.object(databaseFields).partial().optional(),
    version: z.number().int().min(1).optional(),
  });
}

const IDENTIFIER = /^[a-z0-9_-]{1,24}$/;

/** Client headers no instance may have forwarded: credentials, and what the gateway says itself. */
const FORWARD_REFUSED = new Set([
  "authorization",
  "x-api-key",
  "cookie",
  "proxy-authorization",
  "host",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

const httpUrl = text("Enter the MCP server's URL")
  .max(2048, "A URL has at most 2048 characters")
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "Give an http:// or https:// URL, without user name or password in it");

export namespace InstanceInput {
  export const Transport = z.enum(TRANSPORTS, { error: "Choose Streamable HTTP or SSE" });
  export const Identifier = z
    .string()
    .regex(IDENTIFIER, "Use 1 to 24 lowercase letters, digits, - or _ (Dify's rule for server identifiers)");
  const emoji = z.string().min(1, "Choose an emoji").max(16, "Use one emoji");
  const background = z.string().regex(/^#[0-9A-Fa-f]{6}$/, "A colour like #6366F1");
  const seconds = (max: number) =>
    z
      .number({ error: `Give a number of seconds from 1 to ${max}` })
      .min(1, `Give a number of seconds from 1 to ${max}`)
      .max(max, `Give a number of seconds from 1 to ${max}`);
  export const Icon = z.object({
    emoji: emoji.default("🔗"),
    background: background.default("#6366F1"),
  });
  const whole = (min: number, max: number, unit: string) => {
    const range = `Give a whole number of ${unit} from ${min} to ${max}`;
    return z.number({ error: range }).int(range).min(min, range).max(max, range);
  };
  export const Timeouts = z.object({
    timeout: seconds(600).default(30),
    sseReadTimeout: seconds(3600).default(300),
  });
  /** How long-lived streams are served: on Lambda or not, for how long, how many per space. */
  export const Streams = z.object({
    onLambda: z.boolean().default(defaultStreams.onLambda),
    maxSeconds: whole(10, 890, "seconds").default(defaultStreams.maxSeconds),
    perSpace: whole(1, 1000, "streams").default(defaultStreams.perSpace),
  });
  /** Client headers the gateway forwards to this upstream beyond what MCP itself needs. */
  export const ForwardHeaders = z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9-]{1,100}$/, "A header name of letters, digits and - only")
        .transform((name) => name.toLowerCase())
        .refine((name) => !FORWARD_REFUSED.has(name), "The gateway never forwards this header"),
    )
    .max(20, "At most 20 headers");
  export const Upstream = z.object(
    { url: httpUrl, transport: Transport },
    { error: "Give the MCP server's URL and transport" },
  );
  const description = z.string().trim().max(1000, "Use at most 1000 characters");

  /** Tool names a space may use; null (the default) allows every tool the upstream lists. */
  export const Tools = z
    .array(z.string().trim().min(1, "Give a tool name").max(200, "A tool name has at most 200 characters"))
    .max(1000, "At most 1000 tools")
    .nullable()
    .describe("Tool names the spaces may use; null allows every tool the upstream lists");
  const limit = whole(1, 1_000_000, "calls").nullable();
  export const Limits = z
    .object({
      callsPerMinute: limit
        .default(null)
        .describe("tools/call requests per minute per space; null: no limit"),
      concurrent: limit
        .default(null)
        .describe("tools/call requests in flight at once per space; null: no limit"),
    })
    .describe("Each space's limits, unless its access sets its own");
  const headerName = z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, "A header name of letters, digits and - only")
    .transform((name) => name.toLowerCase())
    .refine(
      (name) => !RESERVED_HEADERS.has(name) && !name.startsWith("mcp-"),
      "The gateway sets this header itself",
    );
  export const Identity = z
    .object({
      mode: z
        .enum(["off", "forward", "verify"], { error: "Choose off, forward or verify" })
        .default("off")
        .describe("forward: pass the calling Dify user's SSO token on; verify: check it as a JWT first"),
      header: headerName.default(ssoTokenHeader).describe("The header the upstream receives the token in"),
      bearer: z.boolean().default(false).describe("Send the token as `Bearer <token>`"),
      issuer: z.string().trim().min(1).max(2048).nullable().default(null),
      audience: z.string().trim().min(1).max(2048).nullable().default(null),
      jwksUrl: httpUrl.nullable().default(null),
      claimHeaders: z
        .record(z.string().min(1).max(100), headerName)
        .default({})
        .describe("Claims of a verified token sent as headers: claim name to header name"),
    })
    .superRefine((identity, context) => {
      if (identity.mode !== "verify") return;
      for (const field of ["issuer", "audience", "jwksUrl"] as const) {
        if (identity[field] === null)
          context.addIssue({ code: "custom", path: [field], message: "Needed to verify the user's token" });
      }
    });

  export const Create = z.object({
    name: name(40, "At most 40 characters (Dify's limit)"),
    identifier: Identifier.optional(),
    description: description.default(""),
    upstream: Upstream,
    headers: HeaderMap.default({}),
    icon: Icon.default({ emoji: "🔗", background: "#6366F1" }),
    timeouts: Timeouts.default({ timeout: 30, sseReadTimeout: 300 }),
    enabled: z.boolean().default(true),
    streams: Streams.default(defaultStreams),
    forwardHeaders: ForwardHeaders.default([]),
    tools: Tools.default(null),
    limits: Limits.default({ callsPerMinute: null, concurrent: null }),
    identity: Identity.default(identityOff),
  });

  export const Update = z.object({
    name: name(40, "At most 40 characters (Dify's limit)").optional(),
    identifier: Identifier.optional(),
    description: description.optional(),
    upstream: Upstream.optional(),
    headers: HeaderUpdate.optional(),
    icon: z.object({ emoji, background }).optional(),
    timeouts: z.object({ timeout: seconds(600), sseReadTimeout: seconds(3600) }).optional(),
    enabled: z.boolean().optional(),
    streams: Streams.optional(),
    forwardHeaders: ForwardHeaders.optional(),
    tools: Tools.optional(),
    limits: Limits.optional(),
    identity: Identity.optional(),
    version: z.number().int().min(1).optional(),
  });
}

export namespace SyncInput {
  export const Start = z.object({
    platformId: z.string().min(1, "Choose an agent platform").max(64),
    instanceIds: z.array(z.string().min(1).max(64)).min(1, "Choose at least one instance").max(50),
    spaces: z
      .array(
        z.object({
          spaceId: z.string().min(1).max(64),
          headers: HeaderMap.optional(),
          tools: InstanceInput.Tools.optional().describe(
            "Narrows the instances' tools in this space; null: all",
          ),
        }),
      )
      .min(1, "Choose at least one space")
      .max(5000, "Choose at most 5000 spaces at a time"),
  });
}
