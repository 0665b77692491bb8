import { apiUrl } from "./api";

/** The admin UI on S3 and CloudFront, built with the API's URL. */
export const web = new sst.aws.StaticSite("Web", {
  path: "web",
  build: { command: "npx vite build", output: "dist" },
  environment: { VITE_API_URL: apiUrl },
});
