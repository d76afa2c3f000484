// The files an ES module loads before its body runs: its static imports, followed through the files they name,
// and the packages (bare specifiers) they import. Read from the bundler's output text, so it sees exactly what
// Node will load; dynamic `import()`s are not followed (they load later, when called).
import fs from 'node:fs';
import path from 'node:path';

export function staticClosure(file: string): { files: string[]; specifiers: Set<string> } {
  const files: string[] = [];
  const specifiers = new Set<string>();
  const visit = (current: string): void => {
    if (files.includes(current)) return;
    files.push(current);
    const text = fs.readFileSync(current, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gms)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(current), specifier));
      else specifiers.add(specifier);
    }
  };
  visit(file);
  return { files, specifiers };
}
