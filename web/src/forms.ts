import type { z } from "zod";
import { ApiError } from "./api/client";
import type { HeaderRow } from "./components/ui";

/** Field path ("database.host", "headers.X-Api-Key") → what to fix there, in plain words. */
export type FieldErrors = Record<string, string>;

/** The first problem of each field, as the API reports them too. */
export function fieldErrorsOf(issues: readonly { path: readonly PropertyKey[]; message: string }[]) {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const path = issue.path.map(String).join(".");
    if (!(path in errors)) errors[path] = issue.message;
  }
  return errors;
}

/** Validates `value` with the schema the API uses: its data, or the errors to show on the fields. */
export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
): { data: z.output<T>; errors?: undefined } | { data?: undefined; errors: FieldErrors } {
  const result = schema.safeParse(value);
  return result.success ? { data: result.data } : { errors: fieldErrorsOf(result.error.issues) };
}

/**
 * The field errors an API answer carries (invalid_request, password_required), with each path
 * renamed by `rename` to the form's own (null drops it). Empty when the answer names no field.
 */
export function serverFieldErrors(error: unknown, rename: (path: string) => string | null = (path) => path) {
  if (!(error instanceof ApiError)) return {};
  const errors: FieldErrors = {};
  for (const [path, message] of Object.entries(error.fieldErrors())) {
    const field = rename(path);
    if (field !== null && !(field in errors)) errors[field] = message;
  }
  return errors;
}

/** Every field error under `prefix` ("headers"), keyed by the rest of the path (a header's name). */
export function errorsUnder(errors: FieldErrors, prefix: string): FieldErrors {
  const under: FieldErrors = {};
  for (const [path, message] of Object.entries(errors))
    if (path.startsWith(`${prefix}.`)) under[path.slice(prefix.length + 1)] = message;
  return under;
}

/** A typed value under a header without a name: the schema never sees it, so it is caught here. */
export function unnamedHeaderErrors(rows: HeaderRow[], prefix = "headers"): FieldErrors {
  const errors: FieldErrors = {};
  for (const row of rows)
    if (!row.name.trim() && row.value !== "") errors[`${prefix}.#${row.key}`] = "Give the header a name";
  return errors;
}

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;
