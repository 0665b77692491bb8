/** How a header value is shown once saved: `••••` and the last four characters of a long one. */
export function mask(value: string): string {
  return value.length >= 16 ? `••••${value.slice(-4)}` : "••••";
}
