import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export type Browser = { context: BrowserContext; page: Page; close(): Promise<void> };

/**
 * Debian's chromium, headless, with a fresh profile that is deleted on close: nothing from another
 * run (cookies, storage, service workers) leaks in, and nothing phones home.
 */
export async function launchBrowser(
  options: { viewport?: { width: number; height: number }; env?: Record<string, string> } = {},
): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "spacegate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
