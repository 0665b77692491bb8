import { fromEnv } from "@aws-sdk/credential-provider-env";

/**
 * The Lambda bundles use this in place of the SDK's default credential chain (bundle.config.ts):
 * Lambda always puts the function's role credentials in its environment, so the chain's other
 * sources (SSO, profile files, instance metadata…) are dead weight in every cold start.
 */
export const defaultProvider = () => fromEnv();
