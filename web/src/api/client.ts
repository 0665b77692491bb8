import createClient from "openapi-fetch";
import type { paths } from "./schema";

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Ok<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody: { content: { "application/json": infer T } };
}
  ? T
  : never;

export type Session = Ok<"/api/auth/login", "post">;
export type Platform = Ok<"/api/platforms/{id}", "get">;
export type PlatformCreate = Body<"/api/platforms", "post">;
export type PlatformUpdate = Body<"/api/platforms/{id}", "patch">;
export type DatabaseInput = Body<"/api/platforms/check", "post">;
export type CheckResult = Ok<"/api/platforms/check", "post">;
export type CheckFailure = Extract<CheckResult, { ok: false }>;
export type Space = Ok<"/api/platforms/{id}/spaces", "get">["items"][number];
export type Instance = Ok<"/api/instances/{id}", "get">;
export type InstanceCreate = Body<"/api/instances", "post">;
export type InstanceUpdate = Body<"/api/instances/{id}", "patch">;
export type ToolsSnapshot = NonNullable<Ok<"/api/instances/{id}/tools", "get">>;
export type Tool = ToolsSnapshot["tools"][number];
export type Grant = Ok<"/api/instances/{id}/access", "get">["items"][number];
export type UsageReport = Ok<"/api/instances/{id}/usage", "get">;
export type UsagePoint = UsageReport["series"][number];
export type GrantPatch = Body<"/api/instances/{id}/access/{platformId}/{spaceId}", "patch">;
export type SyncStart = Body<"/api/syncs", "post">;
export type SyncJob = Ok<"/api/syncs/{id}", "get">["job"];
export type SyncDetail = Ok<"/api/syncs/{id}", "get">;
export type SyncItem = SyncDetail["items"][number];
export type AuditEvent = Ok<"/api/audit", "get">["items"][number];
export type AuditQuery = NonNullable<paths["/api/audit"]["get"]["parameters"]["query"]>;
export type HeaderUpdate = NonNullable<InstanceUpdate["headers"]>;

/** An error the API answered ({code, message, details?}), or that it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The `details` of an invalid_request as field path → message. */
  fieldErrors(): Record<string, string> {
    if (!Array.isArray(this.details)) return {};
    const fields: Record<string, string> = {};
    for (const entry of this.details as Array<{ path?: unknown; message?: unknown }>) {
      const key = Array.isArray(entry.path) ? entry.path.join(".") : String(entry.path ?? "");
      if (typeof entry.message === "string" && !(key in fields)) fields[key] = entry.message;
    }
    return fields;
  }
}

const SESSION_KEY = "spacegate.session";
const listeners = new Set<() => void>();

/** The signed-in session, kept for the browser tab only. */
export const session = {
  get(): Session | null {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    try {
      const value = JSON.parse(raw) as Session;
      return Date.parse(value.expiresAt) > Date.now() ? value : null;
    } catch {
      return null;
    }
  },
  set(value: Session) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
    for (const listener of listeners) listener();
  },
  clear() {
    if (sessionStorage.getItem(SESSION_KEY) === null) return;
    sessionStorage.removeItem(SESSION_KEY);
    for (const listener of listeners) listener();
  },
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};

/** The API's origin, given at build time (VITE_API_URL); the page's own origin by default. */
export const apiBase = (import.meta.env.VITE_API_URL ?? "").replace(/\/+$/, "");

export const api = createClient<paths>({ baseUrl: apiBase });

api.use({
  onRequest({ request }) {
    const token = session.get()?.token;
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.endsWith("/api/auth/login"))
      session.clear();
    return response;
  },
});

/** Awaits an openapi-fetch call and returns its data, or throws an ApiError a person can read. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Exclude<T, undefined>> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(
      "network_error",
      "Could not reach the Spacegate API. Check that it is running and try again.",
      0,
    );
  }
  const { data, error, response } = result;
  if (!response.ok) {
    const body = (error ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    throw new ApiError(
      typeof body.code === "string" ? body.code : `http_${response.status}`,
      typeof body.message === "string" ? body.message : `The API answered ${response.status}.`,
      response.status,
      body.details,
    );
  }
  return data as Exclude<T, undefined>;
}

/** Everything of a paginated list, page by page. */
export async function collect<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
  max = 2000,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}

export const errorMessage = (error: unknown) =>
  error instanceof Error ? error.message : "Something went wrong. Try again.";
