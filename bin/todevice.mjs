#!/usr/bin/env node
// The `todevice` command. The project runs its TypeScript sources directly through tsx, so `npx todevice`
// works right after `npm ci` with no build step; this file only registers the loader and hands over.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
