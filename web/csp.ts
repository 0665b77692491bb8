/**
 * The admin UI's Content-Security-Policy: its own scripts and styles only (style attributes too, for
 * React's `style`), data: images for the inline icon, and calls to its own origin and the API's.
 * The local product sends it as a header, with frame-ancestors; a static build carries it in a meta
 * tag, where frame-ancestors does not apply.
 */
export const uiContentSecurityPolicy = (apiOrigin?: string) => ({
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'", ...(apiOrigin ? [apiOrigin] : [])],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
});

/** The policy as a header or meta value: `default-src 'self'; script-src 'self'; …`. */
export const serializePolicy = (policy: Record<string, string[]>) =>
  Object.entries(policy)
    .map(
      ([directive, sources]) =>
        `${directive.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${sources.join(" ")}`,
    )
    .join("; ");
