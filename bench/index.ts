/**
 * `npm run bench [-- name ...]`: every benchmark in turn (or the named ones), each in its own
 * process so that one's memory does not disturb the next. `peers` (polca against PyTorch) and
 * `paper` (the `paper` preset's steps) run only when named. Figures go to stdout; BENCHMARKS.md
 * records them with the machine and date.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = ['train', 'polca', 'families', 'hdbscan', 'store', 'report', 'e2e'];
/** Run only when named: `peers` installs PyTorch (gigabytes) into the user's cache on first use;
 * `paper` times the `paper` preset's steps (minutes). */
const ON_REQUEST = ['peers', 'paper'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
let failed = 0;
for (const name of wanted) {
  if (!ALL.includes(name) && !ON_REQUEST.includes(name)) {
    console.error(`unknown bench ${JSON.stringify(name)}; allowed: ${[...ALL, ...ON_REQUEST].join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## ${name}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench ${name} failed (exit ${r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
