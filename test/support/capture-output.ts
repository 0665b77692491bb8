/** Collects everything the process writes to stdout and stderr (log lines included) until stopped. */
export function captureOutput() {
  const chunks: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const capture =
    (original: typeof stdout) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = capture(stdout) as typeof process.stdout.write;
  process.stderr.write = capture(stderr) as typeof process.stderr.write;
  return {
    text: () => chunks.join(""),
    stop() {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    },
  };
}
