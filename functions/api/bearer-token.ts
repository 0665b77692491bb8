/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export const bearerToken = (header: string | undefined) =>
  header?.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : undefined;
