// Lint, including the import-layer table of ARCHITECTURE.md: each folder of src/ names the layers it may not
// import. A layer violation is an error, so the table in the docs and the code cannot drift apart.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layers = ['shared', 'sqlite', 'store', 'engine', 'crypto', 'device', 'homeserver', 'main', 'notifier', 'preload', 'renderer', 'cli', 'harness', 'conformance'];
const cryptoLibrary = '@matrix-org/matrix-sdk-crypto-wasm';
// libolm is reached only through src/crypto/olm-library.ts, so that vodozemac can replace it in one place.
const olmLibrary = '@matrix-org/olm';
const olmLibraryModule = 'src/crypto/olm-library.ts';

/** Builds a no-restricted-imports rule that forbids the given project layers and packages. */
function forbid(folder, forbiddenLayers, forbiddenPackages = [], { allowOlm = false } = {}) {
  const patterns = forbiddenLayers.map((layer) => ({
    group: [`**/${layer}`, `**/${layer}/**`],
    message: `src/${folder} may not import src/${layer} (see the layer table in ARCHITECTURE.md).`,
  }));
  const paths = forbiddenPackages.map((name) => ({
    name,
    message: `src/${folder} may not import ${name} (see the layer table in ARCHITECTURE.md).`,
  }));
  if (!allowOlm) paths.push({ name: olmLibrary, message: `only ${olmLibraryModule} imports ${olmLibrary}, so vodozemac can replace it in one place.` });
  return { 'no-restricted-imports': ['error', { patterns, paths }] };
}

const except = (...allowed) => layers.filter((layer) => !allowed.includes(layer));
const nodeBuiltins = ['fs', 'node:fs', 'path', 'node:path', 'child_process', 'node:child_process', 'http', 'node:http', 'os', 'node:os'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-results/**', 'playwright-report/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain Node scripts (bin/, scripts/): TypeScript does not check them, so name their globals here.
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly', setTimeout: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['src/shared/**/*.ts'], rules: forbid('shared', except('shared'), ['electron', 'better-sqlite3', cryptoLibrary, ...nodeBuiltins]) },
  { files: ['src/crypto/**/*.ts'], ignores: [olmLibraryModule], rules: forbid('crypto', except('shared', 'crypto'), ['electron', 'better-sqlite3']) },
  { files: [olmLibraryModule], rules: forbid('crypto', except('shared', 'crypto'), ['electron', 'better-sqlite3'], { allowOlm: true }) },
  { files: ['src/sqlite/**/*.ts'], rules: forbid('sqlite', except('sqlite'), ['electron']) },
  { files: ['src/homeserver/**/*.ts'], rules: forbid('homeserver', except('shared', 'sqlite', 'homeserver'), ['electron']) },
  { files: ['src/store/**/*.ts'], rules: forbid('store', except('shared', 'sqlite', 'store'), ['electron']) },
  { files: ['src/engine/**/*.ts'], rules: forbid('engine', except('shared', 'store', 'engine'), ['electron']) },
  { files: ['src/device/**/*.ts'], rules: forbid('device', except('shared', 'store', 'engine', 'crypto', 'device'), ['electron']) },
  { files: ['src/notifier/**/*.ts'], rules: forbid('notifier', except('shared', 'store', 'engine', 'crypto', 'device', 'notifier'), ['electron']) },
  {
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/index.ts', 'src/main/electron/**/*.ts'],
    rules: forbid('main', ['preload', 'renderer', 'cli', 'notifier'], ['electron']),
  },
  { files: ['src/main/index.ts', 'src/main/electron/**/*.ts'], rules: forbid('main', ['preload', 'renderer', 'cli', 'notifier']) },
  { files: ['src/preload/**/*.ts'], rules: forbid('preload', except('shared', 'preload'), nodeBuiltins) },
  { files: ['src/renderer/**/*.ts'], rules: forbid('renderer', except('shared', 'renderer'), ['electron', 'better-sqlite3', cryptoLibrary, ...nodeBuiltins]) },
  { files: ['src/conformance/**/*.ts'], rules: forbid('conformance', except('shared', 'conformance'), ['electron', 'better-sqlite3']) },
  { files: ['src/cli/**/*.ts', 'src/harness/**/*.ts', 'src/bench/**/*.ts'], rules: forbid('cli', ['preload', 'renderer'], ['electron']) },
  { files: ['test/**/*.ts', 'e2e/**/*.ts', 'scripts/**/*.mjs'], rules: forbid('tests', []) },
  {
    // no-restricted-imports does not see import() or require(), so those are caught by their syntax.
    ignores: [olmLibraryModule],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...["ImportExpression[source.value='@matrix-org/olm']", "CallExpression[callee.name='require'][arguments.0.value='@matrix-org/olm']"].map(
          (selector) => ({ selector, message: `only ${olmLibraryModule} imports ${olmLibrary}, so vodozemac can replace it in one place.` }),
        ),
      ],
    },
  },
);
