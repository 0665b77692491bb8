import { serializePolicy, uiContentSecurityPolicy } from "../web/csp";
import { apiUrl } from "./api";

/**
 * The security headers CloudFront adds to every answer of the UI: a meta tag cannot carry
 * frame-ancestors, and X-Frame-Options and nosniff exist only as headers.
 */
const securityHeaders = $output(apiUrl).apply((url) => {
  const policy = `${serializePolicy(uiContentSecurityPolicy(new URL(url).origin))}; frame-ancestors 'none'`;
  return Object.entries({
    "content-security-policy": policy,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  })
    .map(
      ([name, value]) =>
        `event.response.headers[${JSON.stringify(name)}] = { value: ${JSON.stringify(value)} };`,
    )
    .join("\n");
});

/** The admin UI on S3 and CloudFront, built with the API's URL. */
export const web = new sst.aws.StaticSite("Web", {
  path: "web",
  build: { command: "npx vite build", output: "dist" },
  environment: { VITE_API_URL: apiUrl },
  edge: { viewerResponse: { injection: securityHeaders } },
});
