import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { serializePolicy, uiContentSecurityPolicy } from "./csp";

/** A built UI carries its policy, so it holds wherever the files are served from (S3 too). */
const contentSecurityPolicy = (): Plugin => ({
  name: "spacegate-csp",
  apply: "build",
  transformIndexHtml: () => [
    {
      tag: "meta",
      attrs: {
        "http-equiv": "Content-Security-Policy",
        content: serializePolicy(
          uiContentSecurityPolicy(
            process.env.VITE_API_URL ? new URL(process.env.VITE_API_URL).origin : undefined,
          ),
        ),
      },
      injectTo: "head-prepend",
    },
  ],
});

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), contentSecurityPolicy()],
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/api": "http://localhost:8787", "/gateway": "http://localhost:8787" } },
});
