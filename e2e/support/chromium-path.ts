/**
 * Which Chromium Playwright drives: `CHROMIUM_PATH` when set, else Debian's `/usr/bin/chromium` when present,
 * else undefined (Playwright's own downloaded build, where one was installed).
 */
export function chromiumExecutablePath(exists: (path: string) => boolean): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (exists(candidate)) return candidate;
  }
  return undefined;
}
