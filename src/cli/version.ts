/**
 * The version `todevice --version` prints: package.json's, read at run time so it never drifts from it.
 *
 * Runtime: node. The CLI runs from the sources (bin/todevice.mjs), two folders below package.json.
 */
import fs from 'node:fs';

export function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}
