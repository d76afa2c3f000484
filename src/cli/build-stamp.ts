/**
 * Whether a build output is current: a stamp of every source file's path, size and modification time, kept
 * next to the output. A build is reused only when the stamp of the sources now equals the stored one, so an
 * edited, added or removed file triggers a rebuild, and an unchanged tree never does.
 *
 * Runtime: node. The walk is bounded (`maxFiles`) because it runs on every `todevice start`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const maxFiles = 20_000;

/** A hash over the files under `roots` (directories or single files); missing roots count as empty. */
export function sourceStamp(roots: string[]): string {
  const hash = createHash('sha256');
  let files = 0;
  const visit = (entry: string): void => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(entry);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(entry).sort()) visit(path.join(entry, name));
      return;
    }
    files += 1;
    if (files > maxFiles) throw new Error(`sourceStamp: more than ${maxFiles} files under ${roots.join(', ')}`);
    hash.update(`${entry}\0${stat.size}\0${stat.mtimeMs}\n`);
  };
  for (const root of roots) visit(root);
  return hash.digest('hex');
}

export function readStamp(stampFile: string): string | undefined {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeStamp(stampFile: string, stamp: string): void {
  fs.writeFileSync(stampFile, `${stamp}\n`);
}
