// The map must match the territory: every file or folder that ARCHITECTURE.md, the README and docs/performance.md
// name exists in the tree, and no comment or document explains itself by an issue number that a newcomer cannot
// look up.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Every file of the work tree that git knows or would add (tracked, or untracked and not ignored). */
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && fs.existsSync(path.join(root, file)));
const folders = new Set(files.flatMap((file) => file.split('/').slice(0, -1).map((_, i, parts) => `${parts.slice(0, i + 1).join('/')}/`)));

/** Backticked words that name a file or folder: a path from the root, or a file name with an extension we keep. */
function namedPaths(markdown: string): string[] {
  const names = [...markdown.matchAll(/`([^`\s]+)`/g)].map((match) => match[1] ?? '');
  return names.filter((name) => /^(src|test|e2e|docs|scripts|bin)\//.test(name) || /^[\w.*-]+\.(ts|mjs|md|sql)$/.test(name) || /^[\w-]+\/$/.test(name));
}

function exists(name: string): boolean {
  const pattern = new RegExp(`(^|/)${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}${name.endsWith('/') ? '' : '$'}`);
  if (name.endsWith('/')) return [...folders].some((folder) => pattern.test(folder) && folder.endsWith(name.slice(-1)));
  return files.some((file) => pattern.test(file)) || folders.has(`${name}/`);
}

describe('documents true to the tree', () => {
  for (const doc of ['ARCHITECTURE.md', 'README.md', 'docs/performance.md']) {
    it(`docs: every path ${doc} names exists`, () => {
      const missing = namedPaths(fs.readFileSync(path.join(root, doc), 'utf8')).filter((name) => !exists(name));
      expect(missing).toEqual([]);
    });
  }

  it('docs: no comment or document refers to an issue by number', () => {
    const offenders = files
      .filter((file) => /\.(ts|mjs|md|html|css)$/.test(file) && !file.startsWith('docs/drafts/'))
      .flatMap((file) => {
        const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
        return lines.flatMap((line, index) => (/\bissues? #?\d+\b/i.test(line) && !/rust-sdk issues|iOS #\d/.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : []));
      });
    expect(offenders).toEqual([]);
  });
});
