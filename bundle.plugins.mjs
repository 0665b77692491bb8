import { fileURLToPath } from "node:url";

/**
 * esbuild plugins of the Lambda bundles, given to SST as `nodejs.plugins` (bundle.config.ts): SST's
 * Node builder passes no `esbuild.alias` on to esbuild, but it runs these. Plain JavaScript, since
 * SST loads this file with plain Node.
 */

const environmentCredentials = fileURLToPath(new URL("./functions/core/aws-credentials.ts", import.meta.url));

/**
 * The AWS SDK's default credential chain, replaced by the environment's credentials: Lambda always
 * puts the role's there, and the chain's other sources (SSO, profiles, instance metadata) are dead
 * weight in every cold start.
 * @type {import("esbuild").Plugin}
 */
const credentialsFromEnvironment = {
  name: "credentials-from-environment",
  setup(build) {
    // Matched here rather than by the filter: SST's plugin bridge tests the filter against a field
    // its messages do not have, so only a filter that matches anything reaches the callback there.
    build.onResolve({ filter: /.*/ }, (args) =>
      args.path === "@aws-sdk/credential-provider-node" ? { path: environmentCredentials } : undefined,
    );
  },
};

export default [credentialsFromEnvironment];
