import type { components } from "../api/schema";

/** What the API's codes mean, in words a person can act on. */

type ErrorCode = components["schemas"]["ErrorCode"];

export const KIND_LABELS: Record<string, string> = {
  "dify-community": "Dify Community",
  "dify-enterprise": "Dify Enterprise",
};

export const TRANSPORT_LABELS: Record<string, string> = {
  "streamable-http": "Streamable HTTP",
  sse: "SSE",
};

export const SSL_LABELS: Record<string, string> = {
  "verify-full": "Verify full",
  require: "Require (encrypt without verifying)",
  disable: "Disable",
};

export const SSL_HINTS: Record<string, string> = {
  disable: "No encryption. Only on a private network.",
  require:
    "Encrypted, but the server's certificate is not verified: anyone between Spacegate and the database could read the password. Prefer Verify full with the server's CA.",
  "verify-full":
    "Encrypted; the certificate and host name are verified against the CA you paste, or the system's CAs and Amazon RDS's.",
};

export const CHECK_EXPLANATIONS: Record<string, { title: string; help: string }> = {
  dns_not_found: {
    title: "The host name does not resolve",
    help: "Check the spelling of the host, or use the database server's IP address.",
  },
  connection_refused: {
    title: "Nothing is listening on that host and port",
    help: "Check the port (PostgreSQL's default is 5432) and that the database server is running and accepts network connections.",
  },
  timeout: {
    title: "No answer in time",
    help: "A firewall or security group may be dropping the connection, or the address is wrong. Allow Spacegate to reach the database.",
  },
  auth_failed: {
    title: "The user name or password was rejected",
    help: "Check the database user and its password. The password is the database's, not Dify's admin login.",
  },
  database_not_found: {
    title: "No database of that name",
    help: 'Check the database name. Dify\'s default is "dify".',
  },
  ssl_required: {
    title: "The server only accepts encrypted connections",
    help: "Choose SSL mode Require or Verify full.",
  },
  ssl_failed: {
    title: "An encrypted connection could not be made",
    help: "The server may not offer SSL (choose Disable on a private network), or the handshake failed.",
  },
  ssl_untrusted: {
    title: "The server's certificate is not trusted",
    help: "Paste the CA certificate that signed it, connect by a host name the certificate holds, or choose SSL mode Require to encrypt without verifying.",
  },
  dify_unreachable: {
    title: "Dify's database could not be reached",
    help: "Check the connection details and that the database server is up.",
  },
  not_dify: {
    title: "This is not a Dify database",
    help: "The tenants or accounts tables are missing. Check the database name.",
  },
  dify_too_old: {
    title: "This Dify is too old for MCP tools",
    help: "Dify 1.6.0 or later is needed. Upgrade Dify and run its database migrations.",
  },
  no_read_permission: {
    title: "The user cannot read Dify's tables",
    help: "Grant the user SELECT on tenants, accounts, tenant_account_joins and tool_mcp_providers.",
  },
  no_write_permission: {
    title: "The user cannot write MCP tools",
    help: "Grant the user INSERT, UPDATE and DELETE on tool_mcp_providers.",
  },
};

export const explainCheck = (code: string) =>
  CHECK_EXPLANATIONS[code] ?? { title: "The check failed", help: "Read the message below." };

export const SPACE_REASONS: Record<string, string> = {
  archived: "Archived in Dify: tools cannot be added to it",
  key_not_pem:
    "Its encryption key is kept outside the database (not a PEM public key), so Spacegate cannot encrypt for it",
};

/**
 * Every error code the API answers or records, in words a person can act on. Typed by the API's own
 * list, so a code without wording does not compile.
 */
export const ERROR_WORDS: Record<ErrorCode, string> = {
  invalid_request: "Something in the request is not valid; the fields are named below.",
  invalid_cursor: "The list moved on since this page was read. Start again from the first page.",
  invalid_range: "Usage is kept 90 days: pick a period that starts before it ends and spans at most 90 days.",
  unauthorized: "Sign in first.",
  invalid_credentials: "The password is not correct.",
  session_expired: "The session has expired. Sign in again.",
  session_revoked: "This session was signed out or ended by an admin. Sign in again.",
  not_found: "It does not exist (any more). Reload the page.",
  conflict: "Someone else changed it meanwhile. Reload it and try again.",
  payload_too_large: "The request is larger than 1 MB.",
  rate_limited: "Too many attempts. Wait a moment, then try again.",
  http_error: "The request could not be handled.",
  internal_error: "Something went wrong on Spacegate's side; it has been logged.",
  admin_password_blank: "The admin password secret is blank. Set a password in it.",
  forbidden_role: "Your role may not do this. Ask a Spacegate admin.",
  password_login_disabled: "Signing in with the password is turned off. Sign in with single sign-on.",
  sso_not_configured: "Single sign-on is not set up here. Sign in with the password.",
  sso_attempt_unknown: "This sign-in was already used or has expired. Sign in again.",
  sso_refused: "The identity provider's answer was refused. Sign in again.",
  sso_no_role:
    "You are signed in at the identity provider, but no role here is given to you. Ask a Spacegate admin.",
  sso_unreachable: "The identity provider cannot be reached. Try again later.",
  sso_roles_invalid: "The role mapping setting is not valid. An admin must correct it.",
  password_required: "Give the database password again: the server changed.",
  platform_in_use: "Spaces of this platform still have access. Remove that access first.",
  platform_password_missing: "The platform's database password is missing. Edit the platform and give it.",
  dns_not_found: "The database host name does not resolve.",
  connection_refused: "Nothing is listening on the database's host and port.",
  timeout: "Dify's database did not answer in time.",
  dify_unreachable: "Dify's database could not be reached; it will be retried.",
  auth_failed: "Dify's database refused the user name or password.",
  database_not_found: "Dify's database server has no database of that name.",
  ssl_required: "Dify's database accepts only encrypted connections.",
  ssl_failed: "An encrypted connection to Dify's database could not be made.",
  ssl_untrusted: "The certificate of Dify's database is not trusted.",
  not_dify: "This database is not a Dify database.",
  dify_too_old: "This Dify is too old for MCP tools (1.6.0 or later is needed).",
  no_read_permission: "The database user cannot read Dify's tables.",
  no_write_permission: "The database user cannot write Dify's MCP tools.",
  identifier_taken: "Another instance already uses this identifier.",
  identifier_locked: "The identifier cannot change once the instance has been synced.",
  instance_in_use: "Spaces still have access to this instance. Remove that access first.",
  tools_too_large: "The MCP server's tool list is too large to keep.",
  invalid_headers: "A default header cannot be sent to the MCP server.",
  upstream_unreachable: "The MCP server could not be reached.",
  upstream_timeout: "The MCP server did not answer in time.",
  upstream_auth_failed: "The MCP server refused the default headers (check its API key).",
  upstream_protocol_error: "The MCP server did not speak MCP as expected.",
  access_removed: "The space's access was removed before the sync ran.",
  discovery_failed: "The instance's tools could not be listed, so there was nothing to give Dify.",
  no_tools: "The MCP server lists no tools, so Dify would get an empty provider.",
  key_not_pem: "This space's encryption key is not a PEM public key.",
  tenant_not_found: "The space no longer exists in Dify.",
  tenant_archived: "The space is archived in Dify.",
  no_owner: "The space has no active owner or admin in Dify to write the tool as.",
  invalid_name: "The instance's name is not one Dify accepts.",
  invalid_identifier: "The instance's identifier is not one Dify accepts.",
  identifier_too_long: "The instance identifier is longer than this Dify allows.",
  name_conflict: "Another tool in this space already uses this name or identifier.",
  url_conflict:
    "A tool someone added in Dify already points at this gateway URL; Spacegate leaves it alone. Delete it in Dify, then sync again.",
  unknown_required_column: "Dify's table has a required column Spacegate does not know how to fill.",
  tools_incompatible: "The upstream's tool list cannot be stored in this Dify.",
  identity_unsupported:
    "This Dify cannot send each user's identity (Dify Enterprise 1.15+): set the instance's identity to off, or upgrade Dify.",
  sync_not_started: "The space could not be prepared for the sync. Retry the job.",
  sync_not_queued: "The sync could not be queued for this space. Retry the job.",
  sync_failed: "The sync failed on Spacegate's side; it has been logged. Retry the job.",
  queue_unavailable: "The sync queue could not be reached. Try again shortly.",
  rotation_incomplete: "Some values still use an older encryption key. Rotate again.",
  ciphertext_invalid: "A stored value is not in Spacegate's encrypted format.",
  key_missing: "An encryption key that a stored value needs is no longer in the key ring.",
  credential_missing: "The call carried no gateway credential.",
  credential_invalid: "The gateway credential is not valid: rotated, removed or mistyped.",
  credential_expired: "The gateway credential has expired.",
  credential_wrong_instance: "The credential belongs to another MCP server.",
  tool_not_allowed: "The tool is not allowed in this space.",
  identity_missing: "The call carried no user identity, which this MCP server needs.",
  identity_expired: "The user's identity token has expired.",
  identity_invalid: "The user's identity token is not valid for this MCP server.",
  access_disabled: "Access is disabled for this space.",
  instance_disabled: "The instance is disabled.",
  streams_not_allowed: "This instance does not allow long-lived streams through the gateway.",
  instance_not_found: "The MCP server no longer exists in Spacegate.",
  transport_mismatch: "The URL's transport does not match the instance's.",
  route_not_found: "No MCP endpoint at this path.",
  method_not_allowed: "The gateway does not serve this method here.",
  body_too_large: "The request body is larger than the gateway accepts.",
  too_many_streams: "The space holds too many open streams to this MCP server.",
  client_closed: "The caller went away before the answer.",
  gateway_failed: "The gateway failed unexpectedly.",
  upstream_answer_too_large: "The MCP server's answer was larger than the gateway accepts.",
  upstream_redirect: "The MCP server answered with a redirect, which the gateway does not follow.",
  gateway_unavailable: "The gateway could not look up the credential; try again shortly.",
  identity_unconfigured: "The MCP server's identity verification is not set up.",
  identity_keys_unreachable: "The identity provider's keys could not be fetched; try again shortly.",
  limits_unavailable: "The gateway could not count the call against the space's limits; try again shortly.",
  port_in_use: "The port is already in use: another Spacegate or its demo may be running.",
};
