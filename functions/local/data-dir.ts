import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";

/**
 * Keeps the data directory to the user running the product: it and every directory below it 0700,
 * every file 0600, including those an earlier version left readable. The process then creates its
 * files with umask 077, since LevelDB opens its files 0644 whatever it is asked.
 */
export function securePrivateDir(directory: string) {
  process.umask(0o077);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  tighten(directory);
}

function tighten(target: string) {
  const stat = lstatSync(target);
  if (stat.isSymbolicLink()) return;
  const mode = stat.isDirectory() ? 0o700 : 0o600;
  if ((stat.mode & 0o777) !== mode) chmodSync(target, mode);
  if (stat.isDirectory()) for (const entry of readdirSync(target)) tighten(path.join(target, entry));
}
