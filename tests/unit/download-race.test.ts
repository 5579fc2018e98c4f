/**
 * `artifacts download` against another writer in --out: whatever that writer renames, replaces
 * with a symbolic link or plants while a download runs, nothing is created (or changed) outside
 * --out at any moment. Two attackers:
 *   - deterministic: the download's `beforeStep` hook hands control to the attacker before every
 *     file-system operation it makes below --out; at one step (each in turn) or at every step, the
 *     attacker replaces the directory being written into, the top directory below --out, or the
 *     very name about to be used with a symbolic link to a directory (or file) outside;
 *   - concurrent: a separate process that swaps every directory it finds in --out for such a link,
 *     in a loop, while downloads run one after another.
 * An inotify watch on the outside directories records any entry created there at any moment;
 * their content is compared too. A download may fail (it says the output directory changed) or
 * succeed; when it succeeds every file is at its path, a regular file with the stored bytes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  type FSWatcher,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, test } from 'node:test';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { type DownloadStep, downloadArtifacts } from '../../cli/artifacts.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + ((i >> 8) ^ seed)) & 255);

/** A store with one run of nested step names (train/2, report/figures/...). */
async function fixture() {
  const base = mkdtempSync(join(tmpdir(), 'polca-download-race-'));
  dirs.push(base);
  const store = new ArtifactStore(new LocalBackend(join(base, 'store')));
  const data = await store.put({ step: 'data', version: '1', params: {}, inputs: {} }, { 'tokens.parquet': bytes(3000, 1) });
  const t2 = await store.put({ step: 'train', version: '1', params: { s: 2 }, inputs: {} }, { 'state.safetensors': bytes(5000, 2) });
  const report = await store.put(
    { step: 'report', version: '1', params: {}, inputs: {} },
    { 'index.html': Buffer.from('<html></html>'), 'figures/loss.svg': Buffer.from('<svg/>') },
  );
  await store.putRun('exp', {
    name: 'exp',
    steps: { data: data.key, 'train/2': t2.key, report: report.key },
    createdAt: new Date().toISOString(),
  });
  const expected = new Map<string, string>();
  for (const [dir, m] of [
    ['data', data],
    ['train/2', t2],
    ['report', report],
  ] as const) {
    for (const f of m.files) expected.set(`${dir}/${f.name}`, f.sha256);
    expected.set(`${dir}/manifest.json`, sha(Buffer.from(JSON.stringify(await store.manifest(m.key), null, 2))));
  }
  const outside = join(base, 'outside');
  mkdirSync(join(outside, 'd'), { recursive: true });
  writeFileSync(join(outside, 'f'), 'outside');
  return { base, store, expected, outside };
}

/** A directory tree: relative path → content, link target or 'dir' (links are not followed). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = sha(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Every entry created, removed or changed in the outside directories, as inotify reports it. */
function watchOutside(outside: string): { events: string[]; close(): void } {
  const events: string[] = [];
  const ws: FSWatcher[] = [join(outside), join(outside, 'd')].map((d) =>
    watch(d, (type, name) => {
      events.push(`${type} ${join(d, String(name))}`);
    }),
  );
  return {
    events,
    close: () => {
      for (const w of ws) w.close();
    },
  };
}
/** Let inotify's events in (they are queued by the system call itself; one turn of the event loop reads them). */
const settle = (ms = 0) => new Promise((r) => (ms ? setTimeout(r, ms) : setImmediate(r)));

/** After a download that succeeded: every planned file at its path, a regular file, with the stored bytes. */
function assertComplete(out: string, expected: Map<string, string>, label: string) {
  for (const [rel, hash] of expected) {
    let cur = out;
    for (const p of rel.split('/')) {
      cur = join(cur, p);
      assert.ok(!lstatSync(cur).isSymbolicLink(), `${label}: ${cur} is not a link`);
    }
    assert.ok(lstatSync(cur).isFile(), `${label}: ${cur} is a file`);
    assert.equal(sha(readFileSync(cur)), hash, `${label}: ${rel}`);
  }
}

type Attack = 'parent' | 'top' | 'name';

/**
 * Replace `victim` (a path below `out`) with a symbolic link outside: a directory is first moved
 * aside inside `out` (so what was written into it stays inside), a missing name is simply planted.
 */
function swap(out: string, victim: string, outside: string, n: number): void {
  if (relative(out, victim).startsWith('..') || victim === out) return;
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(victim);
  } catch {
    st = undefined;
  }
  if (st?.isSymbolicLink()) return;
  if (st) renameSync(victim, `${victim}.moved-${n}`);
  else if (!existsSync(dirname(victim))) return;
  symlinkSync(st?.isFile() ? join(outside, 'f') : join(outside, 'd'), victim);
}

function victimOf(attack: Attack, out: string, op: DownloadStep, path: string): string {
  const isDirOp = op === 'mkdir' || op === 'open-dir';
  if (attack === 'name') return path;
  if (attack === 'top') return join(out, relative(out, path).split(sep)[0]);
  return isDirOp ? path : dirname(path);
}

test('a writer in --out that swaps directories and names for symbolic links at any step creates nothing outside --out', async () => {
  const { base, store, expected, outside } = await fixture();
  const before = snapshot(outside);
  // A clean download: the steps it goes through.
  const steps: [DownloadStep, string][] = [];
  const ref = join(base, 'ref');
  await downloadArtifacts(store, 'exp', { out: ref, beforeStep: (op, p) => void steps.push([op, p]) });
  assertComplete(ref, expected, 'clean');
  const ops = new Set(steps.map(([op]) => op));
  for (const op of ['mkdir', 'open-dir', 'create', 'write', 'place', 'check'] as const) assert.ok(ops.has(op), `the hook sees ${op}`);
  assert.ok(steps.length >= 40, `${steps.length} steps`);

  const watcher = watchOutside(outside);
  let runs = 0;
  let refused = 0;
  try {
    for (const force of [false, true]) {
      for (const attack of ['parent', 'top', 'name'] as Attack[]) {
        // at each step in turn, and (index -1) at every step
        for (let at = -1; at < steps.length; at++) {
          const out = join(base, `out-${runs++}`);
          mkdirSync(out);
          let i = 0;
          const label = `${attack} at ${at < 0 ? 'every step' : `step ${at} (${steps[at][0]} ${relative(ref, steps[at][1])})`}, force ${force}`;
          const hook = async (op: DownloadStep, path: string) => {
            await settle();
            assert.deepEqual(watcher.events, [], `${label}: nothing created outside --out before step ${i}`);
            if (at < 0 || i === at) swap(out, victimOf(attack, out, op, path), outside, i);
            i++;
          };
          try {
            await downloadArtifacts(store, 'exp', { out, force, beforeStep: hook });
            assertComplete(out, expected, label);
          } catch (e) {
            if (e instanceof assert.AssertionError) throw e;
            refused++;
            assert.match(
              (e as Error).message,
              /symbolic link|changed while the download|already exists|not a directory|no such file|ENOENT|ENOTDIR|EEXIST/,
              label,
            );
          }
          await settle(5);
          assert.deepEqual(watcher.events, [], `${label}: nothing created outside --out`);
          assert.deepEqual(snapshot(outside), before, `${label}: the outside directory is unchanged`);
          rmSync(out, { recursive: true, force: true });
        }
      }
    }
  } finally {
    watcher.close();
  }
  assert.ok(refused > 0 && refused < runs, `${refused} of ${runs} attacked downloads refused`);
});

test('a concurrent process swapping every directory in --out for a symbolic link, in a loop, gets nothing written outside', {
  timeout: 120_000,
}, async () => {
  const { base, store, expected, outside } = await fixture();
  const before = snapshot(outside);
  const out = join(base, 'out');
  const script = `
    const fs = require('node:fs'), path = require('node:path');
    const [out, target] = process.argv.slice(1);
    let n = 0;
    const end = Date.now() + 60000;
    const visit = (d, depth) => {
      let names = [];
      try { names = fs.readdirSync(d); } catch { return; }
      for (const name of names) {
        const p = path.join(d, name);
        try {
          const st = fs.lstatSync(p);
          if (!st.isDirectory() || name.includes('.moved-')) continue;
          if (depth < 2 && n % 3 === 1) { n++; visit(p, depth + 1); continue; }
          fs.renameSync(p, p + '.moved-' + n++);
          fs.symlinkSync(target, p);
        } catch {}
      }
    };
    process.stdout.write('ready');
    while (Date.now() < end) visit(out, 0);
  `;
  const attacker = spawn(process.execPath, ['-e', script, out, join(outside, 'd')], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    attacker.stdout.once('data', resolve);
    attacker.once('exit', (code) => reject(new Error(`the attacker process exited (${code}) before it started`)));
  });
  const watcher = watchOutside(outside);
  let ok = 0;
  let refused = 0;
  try {
    const t0 = Date.now();
    for (let n = 0; Date.now() - t0 < 4000 || ok + refused < 20; n++) {
      // the previous download's tree out of the attacker's way (rm while it swaps would race)
      if (existsSync(out)) renameSync(out, join(base, `done-${n}`));
      try {
        await downloadArtifacts(store, 'exp', { out });
        // the attacker may have swapped a directory after the final check: only a clean tree counts
        ok++;
      } catch {
        refused++;
      }
      if (ok + refused > 400) break;
    }
  } finally {
    attacker.kill('SIGKILL');
    await new Promise((r) => attacker.once('exit', r));
    await settle(50);
    watcher.close();
  }
  assert.deepEqual(watcher.events, [], 'nothing created outside --out at any moment');
  assert.deepEqual(snapshot(outside), before, 'the outside directory is unchanged');
  assert.ok(refused > 0, `${refused} of ${ok + refused} downloads met the attacker`);
  // and without the attacker a download is whole
  if (existsSync(out)) renameSync(out, join(base, 'done-last'));
  await downloadArtifacts(store, 'exp', { out });
  assertComplete(out, expected, 'after the attack');
});
