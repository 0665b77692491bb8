type Status = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 422 | 429 | 499 | 500 | 502 | 503 | 504;

interface Spec {
  /** The HTTP status the API (and the gateway) answers the code with. */
  status: Status;
  /** A sync delivery that meets it is tried again: what failed may be back soon. */
  retried?: true;
  /** What the gateway answers instead, when it meets the code as the upstream's proxy. */
  gateway?: Status;
}

/**
 * Every error code the product answers or records, with its status and whether a sync retries it.
 * AppError, the OpenAPI `ErrorBody` (through error-code.ts), the sync's retry rule and the UI's
 * wording all read it.
 */
const catalog = {
  // Requests and sessions.
  invalid_request: { status: 400 },
  invalid_cursor: { status: 400 },
  invalid_range: { status: 400 },
  unauthorized: { status: 401 },
  invalid_credentials: { status: 401 },
  session_expired: { status: 401 },
  session_revoked: { status: 401 },
  not_found: { status: 404 },
  conflict: { status: 409 },
  payload_too_large: { status: 413 },
  rate_limited: { status: 429 },
  /** An HTTP error raised by the framework itself; answered with the status it carries. */
  http_error: { status: 500 },
  internal_error: { status: 500 },
  admin_password_blank: { status: 503 },

  // Single sign-on and roles.
  forbidden_role: { status: 403 },
  password_login_disabled: { status: 403 },
  sso_not_configured: { status: 404 },
  sso_attempt_unknown: { status: 400 },
  sso_refused: { status: 401 },
  sso_no_role: { status: 403 },
  sso_unreachable: { status: 503 },
  sso_roles_invalid: { status: 503 },

  // Platforms, and reaching Dify's database.
  password_required: { status: 400 },
  platform_in_use: { status: 409 },
  platform_password_missing: { status: 409 },
  dns_not_found: { status: 422, retried: true },
  connection_refused: { status: 422, retried: true },
  timeout: { status: 422, retried: true },
  dify_unreachable: { status: 422, retried: true },
  auth_failed: { status: 422 },
  database_not_found: { status: 422 },
  ssl_required: { status: 422 },
  ssl_failed: { status: 422 },
  ssl_untrusted: { status: 422 },
  not_dify: { status: 422 },
  dify_too_old: { status: 422 },
  no_read_permission: { status: 422 },
  no_write_permission: { status: 422 },

  // Instances and their MCP servers.
  identifier_taken: { status: 409 },
  identifier_locked: { status: 409 },
  instance_in_use: { status: 409 },
  tools_too_large: { status: 422 },
  invalid_headers: { status: 422 },
  upstream_unreachable: { status: 422, retried: true, gateway: 502 },
  upstream_timeout: { status: 422, retried: true, gateway: 504 },
  upstream_auth_failed: { status: 422 },
  upstream_protocol_error: { status: 422 },

  // Writing providers into a space.
  access_removed: { status: 409 },
  discovery_failed: { status: 409 },
  no_tools: { status: 409 },
  key_not_pem: { status: 422 },
  tenant_not_found: { status: 422 },
  tenant_archived: { status: 422 },
  no_owner: { status: 422 },
  invalid_name: { status: 422 },
  invalid_identifier: { status: 422 },
  identifier_too_long: { status: 422 },
  name_conflict: { status: 422 },
  url_conflict: { status: 422 },
  unknown_required_column: { status: 422 },
  tools_incompatible: { status: 422 },
  identity_unsupported: { status: 422 },
  sync_not_started: { status: 500 },
  sync_not_queued: { status: 500 },
  sync_failed: { status: 500 },
  queue_unavailable: { status: 503 },

  // Encryption at rest.
  rotation_incomplete: { status: 409 },
  ciphertext_invalid: { status: 500 },
  key_missing: { status: 500 },

  // The gateway.
  credential_missing: { status: 401 },
  credential_invalid: { status: 401 },
  credential_expired: { status: 401 },
  identity_missing: { status: 401 },
  identity_expired: { status: 401 },
  identity_invalid: { status: 401 },
  credential_wrong_instance: { status: 403 },
  tool_not_allowed: { status: 403 },
  access_disabled: { status: 403 },
  instance_disabled: { status: 403 },
  streams_not_allowed: { status: 403 },
  instance_not_found: { status: 404 },
  transport_mismatch: { status: 404 },
  route_not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  body_too_large: { status: 413 },
  too_many_streams: { status: 429 },
  client_closed: { status: 499 },
  gateway_failed: { status: 500 },
  upstream_answer_too_large: { status: 502 },
  upstream_redirect: { status: 502 },
  gateway_unavailable: { status: 503 },
  identity_unconfigured: { status: 503 },
  identity_keys_unreachable: { status: 503 },
  limits_unavailable: { status: 503 },

  // The local product, as it starts.
  port_in_use: { status: 500 },
} satisfies Record<string, Spec>;

export type ErrorCode = keyof typeof catalog;

/** Every code, in the catalog's order (error-code.ts makes them a schema, kept out of the gateway's bundle). */
export const errorCodes = Object.keys(catalog) as [ErrorCode, ...ErrorCode[]];

/** What a code means to the product: its status, and whether a sync retries it. */
export const errorSpec = (code: ErrorCode): Spec => catalog[code];

/**
 * The one error type the product shows to people. `code` is stable and documented; `message` says
 * what to do; `status` is the HTTP status the catalog gives the code.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: Status;
  readonly details?: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown /** Answered by the gateway. */; gateway?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    const spec = errorSpec(code);
    this.status = (options.gateway ? spec.gateway : undefined) ?? spec.status;
    this.details = options.details;
  }

  toJSON() {
    return {
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export const notFound = (what: string, id: string) =>
  new AppError("not_found", `${what} ${id} does not exist.`, { details: { id } });

export const conflict = (message: string, details?: unknown) =>
  new AppError("conflict", message, { details });

/** Refuses an update made from a stale read: the caller sent the version it read, and it moved on. */
export function assertVersion(what: string, expected: number | undefined, actual: number) {
  if (expected !== undefined && expected !== actual) {
    throw conflict(`The ${what} was changed by someone else since it was read. Reload it and try again.`, {
      expectedVersion: expected,
      actualVersion: actual,
    });
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
