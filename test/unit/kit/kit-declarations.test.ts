// playwright/index.d.ts is written by hand; this file makes the type checker hold the implementation to it:
// each runtime export of playwright/index.mjs comes from src/kit/kit.ts and must be assignable to its
// declaration (tsc -p tsconfig.node.json covers test/). At run time it checks that the entry exports exactly
// those names, so a new export cannot ship undeclared.
import { describe, expect, it } from 'vitest';
import type * as Declared from '../../../playwright/index';
import * as implementation from '../../../src/kit/kit';

type RuntimeExports = Pick<typeof Declared, 'todeviceFixtures' | 'createKit' | 'judgeHandled' | 'describeVerdict' | 'chooseSeed' | 'KitRun' | 'KitHttpError'>;
const fromImplementation: RuntimeExports = implementation;

describe('todevice/playwright declarations', () => {
  it('kit declarations: the implementation exports what the entry re-exports, each as declared', () => {
    expect(Object.keys(fromImplementation).sort()).toEqual(['KitHttpError', 'KitRun', 'chooseSeed', 'createKit', 'describeVerdict', 'judgeHandled', 'todeviceFixtures']);
    expect(Object.keys(implementation.todeviceFixtures).sort()).toEqual(['accounts', 'homeserver', 'homeserverOptions', 'kitRun', 'oracle', 'processes', 'seed', 'sender']);
  });
});
