#!/usr/bin/env node
// The `chanmesh` command. It runs the TypeScript sources through tsx, so a
// fresh `npm ci` is all a user needs: no separate build step.
import { register } from 'tsx/esm/api';

register();
await import('../lib/cli/main.ts');
