/** What the API's codes mean, in words a person can act on. */

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

export const SYNC_ERRORS: Record<string, string> = {
  name_conflict: "Another tool in this space already uses this name or identifier.",
  url_conflict:
    "A tool someone added in Dify already points at this gateway URL; Spacegate leaves it alone. Delete it in Dify, then sync again.",
  key_not_pem: "This space's encryption key is not a PEM public key.",
  tenant_archived: "The space is archived in Dify.",
  unknown_required_column: "Dify's table has a required column Spacegate does not know how to fill.",
  tools_incompatible: "The upstream's tool list cannot be stored in this Dify.",
  identifier_too_long: "The instance identifier is longer than this Dify allows.",
  dify_unreachable: "Dify's database could not be reached; it will be retried.",
  upstream_unreachable: "The MCP server could not be reached.",
  upstream_timeout: "The MCP server did not answer in time.",
  upstream_auth_failed: "The MCP server refused the default headers (check its API key).",
  upstream_protocol_error: "The MCP server did not speak MCP as expected.",
  discovery_failed: "The instance's tools could not be listed, so there was nothing to give Dify.",
  no_tools: "The MCP server lists no tools, so Dify would get an empty provider.",
};
