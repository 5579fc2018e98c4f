/** The `check` script as a test: strict type-checking (tsc) and the linter/formatter (biome) pass. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('types check (tsc --noEmit, strict)', { timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', root], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('lint and format (biome check)', { timeout: 120_000 }, () => {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['check', root], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
