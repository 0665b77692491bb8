import { AppError } from "../errors";
import type { DatabaseSettings } from "./connection";

export type DifyErrorCode =
  | "dns_not_found"
  | "connection_refused"
  | "timeout"
  | "auth_failed"
  | "database_not_found"
  | "ssl_required"
  | "ssl_failed"
  | "ssl_untrusted"
  | "dify_unreachable";

type Target = Pick<DatabaseSettings, "host" | "port" | "database" | "user"> & { password?: string };

const TLS_CERT_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const classify = (error: unknown): DifyErrorCode => {
  const code = codeOf(error);
  const message = messageOf(error);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "dns_not_found";
  if (code === "ECONNREFUSED") return "connection_refused";
  if (code === "ETIMEDOUT" || code === "57014" || /timeout expired|connection timeout/i.test(message))
    return "timeout";
  if (code === "28P01") return "auth_failed";
  if (code === "28000") return /no encryption|SSL off/.test(message) ? "ssl_required" : "auth_failed";
  if (code === "3D000") return "database_not_found";
  if (/does not support SSL/i.test(message)) return "ssl_failed";
  if (code && TLS_CERT_CODES.has(code)) return "ssl_untrusted";
  if (code && /^ERR_(SSL|TLS|OSSL)_/.test(code)) return "ssl_failed";
  return "dify_unreachable";
};

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const describe = (code: DifyErrorCode, target: Target | undefined, error: unknown): string => {
  const address = target ? `${target.host}:${target.port}` : "the configured address";
  const server = `the PostgreSQL server at ${address}`;
  const user = `user ${target?.user ?? ""}`.trim();
  switch (code) {
    case "dns_not_found":
      return `The host ${target?.host ?? ""} could not be found in DNS. Check the host name.`;
    case "connection_refused":
      return `Nothing accepted the connection at ${address}. Check the host and port, and that PostgreSQL is running and reachable from Spacegate.`;
    case "timeout":
      return `${capitalize(server)} did not answer in time. Check the host, the port and any firewall or security group between Spacegate and the database.`;
    case "auth_failed":
      return codeOf(error) === "28P01"
        ? `The password for ${user} was rejected by ${server}.`
        : `${capitalize(server)} refused ${user}: ${messageOf(error)}. Check the user name and the server's pg_hba.conf.`;
    case "database_not_found":
      return `${capitalize(server)} has no database named ${target?.database ?? "as given"}. Check the database name (Dify's default is "dify").`;
    case "ssl_required":
      return `${capitalize(server)} accepts only encrypted connections. Set SSL to "require" or "verify-full".`;
    case "ssl_failed":
      return /does not support SSL/i.test(messageOf(error))
        ? `${capitalize(server)} does not support SSL. Set SSL to "disable", or enable SSL on the server.`
        : `The SSL connection to ${server} failed: ${messageOf(error)}. Check the CA certificate and that the host name matches the server certificate.`;
    case "ssl_untrusted":
      return codeOf(error) === "ERR_TLS_CERT_ALTNAME_INVALID"
        ? `The certificate of ${server} does not name the host ${target?.host ?? ""}. Connect by a name the certificate holds.`
        : `The certificate of ${server} is not trusted (${messageOf(error)}). Paste the CA certificate that signed it, or choose SSL "require" to encrypt without verifying the server.`;
    case "dify_unreachable":
      return `Could not talk to ${server}: ${messageOf(error)}.`;
  }
};

const redact = (text: string, secret: string | undefined) =>
  secret ? text.split(secret).join("[redacted]") : text;

/**
 * Turns a driver or server error met while talking to Dify's PostgreSQL into an AppError with a
 * stable code and a message that says what to fix. Pass the settings for a precise message; the
 * password never appears in it.
 */
export function classifyPgError(error: unknown, target?: Target): AppError {
  if (error instanceof AppError) return error;
  const code = classify(error);
  const message = redact(describe(code, target, error), target?.password);
  return new AppError(code, message, { cause: error });
}
