/**
 * The one error type the product shows to people. `code` is stable and documented; `message` says
 * what to do; `status` is the HTTP status the API answers with.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;

  constructor(
    code: string,
    message: string,
    options: { status?: number; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? 400;
    this.details = options.details;
  }

  toJSON() {
    return {
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export const notFound = (what: string, id: string) =>
  new AppError("not_found", `${what} ${id} does not exist.`, { status: 404, details: { id } });

export const conflict = (message: string, details?: unknown) =>
  new AppError("conflict", message, { status: 409, details });

/** Refuses an update made from a stale read: the caller sent the version it read, and it moved on. */
export function assertVersion(what: string, expected: number | undefined, actual: number) {
  if (expected !== undefined && expected !== actual) {
    throw conflict(`The ${what} was changed by someone else since it was read. Reload it and try again.`, {
      expectedVersion: expected,
      actualVersion: actual,
    });
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
