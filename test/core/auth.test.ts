import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "../../functions/api/app";
import { Auth } from "../../functions/core/auth";
import { SecretName } from "../../functions/core/secrets";
import { ADMIN_PASSWORD, startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(() => t.close());

const signsIn = (password: string) =>
  Auth.login(password).then(
    () => true,
    () => false,
  );

describe("the admin password on AWS (the admin-password secret)", () => {
  it("is generated into the secret when it has none, then follows every change to it", async () => {
    const { secrets } = t.runtime;

    await Auth.ensureAdminFromSecret();
    const generated = await secrets.get(SecretName.adminPassword);
    expect(generated).toMatch(/^[\w-]{24}$/);
    expect(await signsIn(generated ?? "")).toBe(true);
    expect(await signsIn(ADMIN_PASSWORD)).toBe(false);

    await secrets.put(SecretName.adminPassword, "chosen by the admin, long enough\n");
    await Auth.ensureAdminFromSecret();
    expect(await signsIn("chosen by the admin, long enough")).toBe(true);
    expect(await signsIn(generated ?? "")).toBe(false);
  });

  it("refuses a blank secret instead of locking the admin out, and the API says so", async () => {
    await t.runtime.secrets.put(SecretName.adminPassword, "  \n");
    await expect(Auth.ensureAdminFromSecret()).rejects.toThrow(/admin-password secret is blank/);
    expect(await signsIn("chosen by the admin, long enough")).toBe(true);

    const api = createApi({ ready: Auth.ensureAdminFromSecret });
    const response = await api.request("/api/health");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: "admin_password_blank" });
  });
});
