import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

/**
 * The files of the installed swagger-ui-dist the reference page loads, served by the API itself so
 * the admin origin runs no script from elsewhere. A Lambda bundle carries them in `swagger-ui/`
 * beside it (bundle.config.ts); elsewhere they are read from node_modules.
 */
export const DOCS_ASSETS = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
} as const;
export const DOCS_ASSET_DIR = "swagger-ui";

type Asset = keyof typeof DOCS_ASSETS;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Spacegate API</title>
    <link rel="stylesheet" href="docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/init.js"></script>
  </body>
</html>
`;

// Relative URLs, so the page finds its document behind a stage path too (…/prod/api/docs).
const INIT = `SwaggerUIBundle({ url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });\n`;

/** What the reference page may load: its own scripts and styles, and calls to this API. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function assetDirectory(): string {
  const beside = [path.dirname(fileURLToPath(import.meta.url)), process.env.LAMBDA_TASK_ROOT ?? ""]
    .filter(Boolean)
    .map((dir) => path.join(dir, DOCS_ASSET_DIR));
  const found = beside.find((dir) => existsSync(path.join(dir, "swagger-ui-bundle.js")));
  if (found) return found;
  return path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

const loaded = new Map<Asset, string>();
const read = (name: Asset) => {
  let text = loaded.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(assetDirectory(), name), "utf8");
    loaded.set(name, text);
  }
  return text;
};

/** The interactive API reference at /api/docs and the files it loads, under /api/docs/. */
export const docs = new Hono()
  .use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", DOCS_CSP);
  })
  .get("/", (c) => c.html(PAGE))
  .get("/init.js", (c) => c.body(INIT, 200, { "content-type": "text/javascript; charset=utf-8" }))
  .get("/:asset", (c, next) => {
    const name = c.req.param("asset");
    if (!Object.hasOwn(DOCS_ASSETS, name)) return next();
    return c.body(read(name as Asset), 200, {
      "content-type": DOCS_ASSETS[name as Asset],
      "cache-control": "public, max-age=3600",
    });
  });
