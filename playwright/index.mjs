// `todevice/playwright`: Playwright fixtures (and the same parts for plain scripts) for testing any Matrix
// client's to-device handling against todevice's reference homeserver. Types: ./index.d.ts.
//
// How it ships: this file is plain JavaScript that Node and Playwright import from node_modules like any
// published package's. It loads the implementation (src/kit/*.ts) through tsx's `tsImport`, the same way the
// `todevice` command runs its TypeScript (bin/todevice.mjs): tsx is a runtime dependency, so a consumer needs no
// build step and the repository holds no generated code. `tsImport` registers its loader for this import only
// (a namespaced loader), so the consumer's own module loading, and Playwright's TypeScript transform, are
// untouched. A build at `prepare` time was the alternative; it would not run for a linked install
// (`npm install --install-links=false <path>`), and would leave two copies of the code to keep in step.
//
// `@playwright/test` is imported from wherever this package resolves it. In a project with its own copy (a
// linked install resolves this package's), extend your own `test` instead:
// `import { todeviceFixtures } from 'todevice/playwright'; export const test = base.extend(todeviceFixtures);`
import { test as base, expect } from '@playwright/test';
import { tsImport } from 'tsx/esm/api';

const kit = await tsImport('../src/kit/kit.ts', import.meta.url);

export const todeviceFixtures = kit.todeviceFixtures;
export const test = base.extend(todeviceFixtures);
export { expect };
export const createKit = kit.createKit;
export const judgeHandled = kit.judgeHandled;
export const describeVerdict = kit.describeVerdict;
export const chooseSeed = kit.chooseSeed;
export const KitRun = kit.KitRun;
export const KitHttpError = kit.KitHttpError;
