/**
 * The first command on a fresh checkout installs what is missing (npm packages, the native
 * TensorFlow backend from its cache) before it runs: that install must never write to stdout,
 * which belongs to the command (`config show`, `--json`) and which a script may be parsing. The
 * checkout is this working tree's files (tracked and untracked, not ignored: what a clone of it
 * would hold) copied without node_modules; the install runs the real `npm ci` against the registry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { root } from '../../bench/experiment.ts';

const dir = mkdtempSync(join(tmpdir(), 'polca-first-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The files a clone of this working tree would hold (tracked, and untracked ones git does not ignore). */
function copyCheckout(to: string): number {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.split('\0').filter((f) => f !== '' && f !== 'node_modules' && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(root, f), join(to, f), { verbatimSymlinks: true });
  }
  return files.length;
}

test('the first command of a checkout without node_modules prints only its own output on stdout', { timeout: 600_000 }, () => {
  const checkout = join(dir, 'polca');
  assert.ok(copyCheckout(checkout) > 100, 'the checkout has its files');
  assert.ok(!existsSync(join(checkout, 'node_modules')), 'no node_modules before the first command');
  const r = spawnSync(process.execPath, [join(checkout, 'bin', 'polca.mjs'), 'config', 'show', '--preset', 'tiny'], {
    cwd: checkout,
    env: { ...process.env, POLCA_HOME: join(dir, 'home'), NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 580_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `exit ${r.status}\nstderr: ${r.stderr.slice(-3000)}`);
  // The install happened in this command (so that its output had the chance to reach stdout)…
  assert.match(r.stderr, /installing npm packages \(npm ci\)/);
  assert.ok(existsSync(join(checkout, 'node_modules', '.polca-lock-sha256')), 'npm ci installed the packages');
  // …and stdout is exactly the resolved config.
  const shown = JSON.parse(r.stdout) as { preset?: string; train?: { iterations?: number } };
  assert.equal(shown.preset, 'tiny');
  assert.equal(shown.train?.iterations, 120);
  // npm's report went to stderr instead.
  assert.match(r.stderr, /added \d+ packages/);
});
