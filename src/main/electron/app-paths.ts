/**
 * Where the built app's pieces are, relative to the main bundle (`out/main/index.js`): the preload, the
 * renderer, and the notifier entry Electron starts as a utility process. Also the one test of "is this URL our
 * own page", used for navigation blocking and IPC sender validation.
 *
 * Runtime: electron-main. In `electron-vite dev`, ELECTRON_RENDERER_URL names the dev server, and only that
 * origin counts as the app; in a build only the exact `index.html` file does.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface AppPaths {
  preloadFile: string;
  rendererIndexFile: string;
  notifierEntryFile: string;
  syncProcessEntryFile: string;
  /** Set only under `electron-vite dev`. */
  devServerUrl: string | undefined;
}

export function appPaths(env: NodeJS.ProcessEnv = process.env): AppPaths {
  const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));
  return {
    preloadFile: here('../preload/index.cjs'),
    rendererIndexFile: here('../renderer/index.html'),
    notifierEntryFile: here('./notifier.js'),
    syncProcessEntryFile: here('./sync-process.js'),
    devServerUrl: env.ELECTRON_RENDERER_URL || undefined,
  };
}

/** Returns a predicate that accepts only the app's own page (ignoring its query and fragment). */
export function appUrlMatcher(paths: AppPaths): (url: string) => boolean {
  const indexHref = pathToFileURL(paths.rendererIndexFile).href;
  const devOrigin = paths.devServerUrl ? new URL(paths.devServerUrl).origin : undefined;
  return (url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (devOrigin !== undefined) return parsed.origin === devOrigin;
    parsed.hash = '';
    parsed.search = '';
    return parsed.href === indexHref;
  };
}
