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
// Open handles (Temporal connections, the TF.js runtime) must not keep a finished command alive,
// but what was written must reach the reader: a pipe takes 64 KiB at a time, and process.exit
// drops whatever is still queued. Wait until stdout and stderr have flushed, then exit.
const flushed = (stream) =>
  new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.once('error', resolve); // a reader that went away (EPIPE): nothing left to wait for
    stream.write('', () => resolve());
  });
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(process.exitCode ?? 0);
