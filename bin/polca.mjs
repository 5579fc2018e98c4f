#!/usr/bin/env node
// The `polca` command. Plain JavaScript so it runs on a fresh clone: installs npm packages when
// they are missing, then loads the TypeScript CLI through tsx.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { ensureNodeModules } = await import(join(root, 'scripts', 'setup.mjs'));
ensureNodeModules();
const { ensureNativeBackend } = await import(join(root, 'scripts', 'native.mjs'));
ensureNativeBackend();
const { register } = await import('tsx/esm/api');
register();
const { main } = await import(join(root, 'cli', 'index.ts'));
await main(process.argv);
// Open handles (Temporal connections, the TF.js runtime) must not keep a finished command alive.
process.exit(process.exitCode ?? 0);
