/**
 * `polca artifacts ls [run]` and `polca artifacts download <run|key> --out DIR`: the content of the
 * artifact store chosen by the environment (POLCA_STORE=local|s3, POLCA_STORE_DIR,
 * POLCA_S3_ENDPOINT, POLCA_S3_BUCKET, POLCA_S3_PREFIX, AWS_*; see artifacts/index.ts).
 *
 * Downloads are verified against the manifests (size and SHA-256) before a file appears under its
 * name, never write outside DIR, and never overwrite an existing file without --force. Every
 * path component below DIR is checked (lstat) before anything is created: a symbolic link, or a
 * file where a directory belongs, is refused. Another writer in DIR during the download (one that
 * renames, replaces or links names there at any moment) cannot redirect a write outside DIR:
 * each directory is opened without following links and held open, and every file is created
 * exclusively inside the held directory and linked (or, with --force, renamed) into place
 * through it (artifacts/export.ts PinnedWriter, the store's one way to write outside itself); a placed file that is not found again at its path is an
 * error. No staging directory is used. Symbolic links inside a local store are refused by the
 * store.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { checkComponents, PinnedWriter, type WriteStep } from '../artifacts/export.ts';
import { type ArtifactStore, checkFileName, IntegrityError, type Manifest, NotFoundError } from '../artifacts/store.ts';

export interface ArtifactRow {
  step: string;
  key: string;
  size: number;
  files: number;
  createdAt: string;
}

export interface RunRow {
  name: string;
  steps: number;
  createdAt: string;
}

export interface StoreListing {
  store: string;
  runs: RunRow[];
  artifacts: ArtifactRow[];
}

export interface RunStepRow {
  step: string;
  key: string;
  /** Absent when the run names an artifact the store does not hold (deleted, or never finished). */
  size?: number;
  files?: number;
  present: boolean;
}

export interface RunListing {
  store: string;
  run: string;
  createdAt: string;
  workflowId?: string;
  steps: RunStepRow[];
}

const totalSize = (m: Manifest) => m.files.reduce((a, f) => a + f.size, 0);

async function getRunOrUndefined(store: ArtifactStore, name: string) {
  try {
    return await store.getRun(name);
  } catch (e) {
    // a name that cannot be a run record's name is simply not a run
    if (/artifact file name/.test((e as Error).message)) return undefined;
    throw e;
  }
}

/** Everything in the store, or one run's steps with their keys and sizes. */
export async function listArtifacts(store: ArtifactStore, run?: string): Promise<StoreListing | RunListing> {
  if (run !== undefined) {
    const rec = await getRunOrUndefined(store, run);
    if (!rec) {
      const runs = await store.listRuns();
      throw new NotFoundError(`no run ${JSON.stringify(run)} in ${store.location}; runs: ${runs.length ? runs.join(', ') : '(none)'}`);
    }
    const steps: RunStepRow[] = [];
    for (const step of Object.keys(rec.steps).sort(compareStepNames)) {
      const key = rec.steps[step];
      const m = await store.manifest(key).catch((e: unknown) => {
        if (e instanceof IntegrityError) return undefined; // damaged: not a usable artifact
        throw e;
      });
      steps.push(m ? { step, key, size: totalSize(m), files: m.files.length, present: true } : { step, key, present: false });
    }
    return {
      store: store.location,
      run: rec.name ?? run,
      createdAt: rec.createdAt,
      ...(rec.workflowId ? { workflowId: rec.workflowId } : {}),
      steps,
    };
  }
  const runs: RunRow[] = [];
  for (const name of await store.listRuns()) {
    const rec = await store.getRun(name);
    if (rec) runs.push({ name, steps: Object.keys(rec.steps ?? {}).length, createdAt: rec.createdAt });
  }
  const artifacts = (await store.list()).map((m) => ({
    step: m.step,
    key: m.key,
    size: totalSize(m),
    files: m.files.length,
    createdAt: m.createdAt,
  }));
  artifacts.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.key < b.key ? -1 : 1));
  return { store: store.location, runs, artifacts };
}

/** `train/10` after `train/9`: numeric parts compare as numbers. */
function compareStepNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function table(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (right.includes(j) ? c.padStart(widths[j]) : c.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

export function formatListing(l: StoreListing | RunListing): string {
  if ('run' in l) {
    const rows = l.steps.map((s) => [s.step, s.key, s.present ? formatBytes(s.size!) : 'missing', s.present ? String(s.files) : '-']);
    const total = l.steps.reduce((a, s) => a + (s.size ?? 0), 0);
    return [
      `run ${l.run} (created ${l.createdAt}${l.workflowId ? `, workflow ${l.workflowId}` : ''}) in ${l.store}`,
      rows.length ? table(['STEP', 'KEY', 'SIZE', 'FILES'], rows, [2, 3]) : '  (no steps)',
      `${l.steps.length} steps, ${formatBytes(total)}`,
    ].join('\n');
  }
  const out = [`store ${l.store}`, `runs (${l.runs.length}):`];
  out.push(
    l.runs.length
      ? table(
          ['NAME', 'STEPS', 'CREATED'],
          l.runs.map((r) => [r.name, String(r.steps), r.createdAt]),
          [1],
        )
      : '  (none)',
  );
  out.push(`artifacts (${l.artifacts.length}, ${formatBytes(l.artifacts.reduce((a, x) => a + x.size, 0))}):`);
  out.push(
    l.artifacts.length
      ? table(
          ['STEP', 'KEY', 'SIZE', 'CREATED'],
          l.artifacts.map((a) => [a.step, a.key, formatBytes(a.size), a.createdAt]),
          [2],
        )
      : '  (none)',
  );
  return out.join('\n');
}

export interface DownloadOptions {
  out: string;
  force?: boolean;
  /** Show a progress bar on stderr when the download is at least `progressMinBytes` (default 16 MiB). */
  progress?: boolean;
  progressMinBytes?: number;
  /**
   * Called before every file-system operation the download makes below OUT, with what it is
   * about to do and the path it concerns (fault injection: a test plays a concurrent writer here).
   */
  beforeStep?: (op: DownloadStep, path: string) => void | Promise<void>;
}

/** The operations of a download below OUT, in the order one file goes through them. */
export type DownloadStep = WriteStep;

export interface DownloadResult {
  kind: 'run' | 'key';
  target: string;
  out: string;
  artifacts: { dir: string; key: string; files: number; bytes: number }[];
  files: number;
  bytes: number;
}

interface PlannedFile {
  key: string;
  name: string;
  dest: string;
  size: number;
}

/** `dest` (inside `root`, both absolute) or an error: no path may leave the output directory. */
function inside(root: string, parts: string[], what: string): string {
  for (const p of parts) {
    if (isAbsolute(p) || p.split(/[\\/]/).some((s) => s === '..' || s === '.' || s === '') || p.includes('\0')) {
      throw new Error(`refusing ${what}: ${JSON.stringify(p)} would escape the output directory`);
    }
  }
  const dest = resolve(root, ...parts);
  const rel = relative(root, dest);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`refusing ${what}: ${dest} is outside ${root}`);
  return dest;
}

/**
 * Download a run (every step's artifact into OUT/<step name>/...) or one artifact (OUT/<key>/...),
 * each with its manifest.json. Plans every path first: nothing is written when a path would escape
 * OUT or (without `force`) a file already exists.
 */
export async function downloadArtifacts(store: ArtifactStore, target: string, opts: DownloadOptions): Promise<DownloadResult> {
  const out = resolve(opts.out);
  let kind: 'run' | 'key';
  let dirs: { dir: string; key: string }[];
  const asKey = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(target) ? await store.manifest(target) : undefined;
  if (asKey) {
    kind = 'key';
    dirs = [{ dir: target, key: target }];
  } else {
    const rec = await getRunOrUndefined(store, target);
    if (!rec)
      throw new NotFoundError(`no run or artifact ${JSON.stringify(target)} in ${store.location} (\`polca artifacts ls\` lists them)`);
    kind = 'run';
    dirs = Object.keys(rec.steps)
      .sort(compareStepNames)
      .map((step) => ({ dir: step, key: rec.steps[step] }));
  }
  const plan: PlannedFile[] = [];
  const manifests: { dest: string; manifest: Manifest }[] = [];
  const summary: DownloadResult['artifacts'] = [];
  for (const { dir, key } of dirs) {
    const m = kind === 'key' ? asKey : await store.manifest(key);
    if (!m) throw new NotFoundError(`run ${target}: step ${dir} names artifact ${key}, which is not in ${store.location}`);
    const base = inside(out, [dir], `step ${JSON.stringify(dir)}`);
    for (const f of m.files) {
      checkFileName(f.name);
      plan.push({ key, name: f.name, dest: inside(base, [f.name], `file ${JSON.stringify(f.name)} of ${key}`), size: f.size });
    }
    manifests.push({ dest: join(base, 'manifest.json'), manifest: m });
    summary.push({ dir: base, key, files: m.files.length, bytes: totalSize(m) });
  }
  await mkdir(out, { recursive: true });
  const realOut = await realpath(out);
  // Every destination as components below OUT, checked before anything is created.
  const rel = (dest: string) => relative(out, dest).split(sep);
  const dests = [...plan.map((p) => p.dest), ...manifests.map((m) => m.dest)];
  const existing: string[] = [];
  for (const d of dests) if ((await checkComponents(realOut, rel(d))) === 'file') existing.push(d);
  if (!opts.force && existing.length) {
    const shown = existing.slice(0, 5).join(', ');
    throw new Error(
      `${existing.length} file(s) already exist in ${out} (${shown}${existing.length > 5 ? ', …' : ''}); use --force to overwrite`,
    );
  }
  const total = plan.reduce((a, p) => a + p.size, 0);
  const bar = opts.progress && total >= (opts.progressMinBytes ?? 16 * 1024 * 1024) ? await progressBar(total) : undefined;
  let done = 0;
  const writer = await PinnedWriter.open(realOut, opts.force ?? false, opts.beforeStep);
  try {
    for (const p of plan) {
      await writer.write(rel(p.dest), store.verifiedChunks(p.key, p.name), (n) => {
        done += n;
        bar?.update(done);
      });
    }
    for (const { dest, manifest } of manifests) {
      await writer.write(rel(dest), [Buffer.from(JSON.stringify(manifest, null, 2))]);
    }
    // What another writer in OUT did after a file was placed: every file is still where it was put.
    await writer.checkAll();
  } finally {
    bar?.stop();
    await writer.close();
  }
  return { kind, target, out, artifacts: summary, files: plan.length, bytes: total };
}

async function progressBar(total: number): Promise<{ update(n: number): void; stop(): void }> {
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const bar = new SingleBar(
    { stream: process.stderr, format: 'downloading [{bar}] {percentage}% | {done}/{all} MiB | ETA {eta_formatted}', hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0, { done: mb(0), all: mb(total) });
  return {
    update: (n) => bar.update(n, { done: mb(n) }),
    stop: () => bar.stop(),
  };
}

async function defaultStore(): Promise<ArtifactStore> {
  const { openStore } = await import('../artifacts/index.ts');
  return openStore();
}

export function register(program: Command, open: () => Promise<ArtifactStore> = defaultStore): void {
  const artifacts = program
    .command('artifacts')
    .description('List and download stored step artifacts (store from POLCA_STORE, POLCA_STORE_DIR, POLCA_S3_*)');
  artifacts
    .command('ls')
    .description('Without a run: all runs and artifacts (step, key, size, created). With a run: its steps, keys and sizes')
    .argument('[run]', 'a run name')
    .option('--json', 'print JSON')
    .action(async (run: string | undefined, opts: { json?: boolean }) => {
      const listing = await listArtifacts(await open(), run);
      console.log(opts.json ? JSON.stringify(listing, null, 2) : formatListing(listing));
    });
  artifacts
    .command('download')
    .description('Download a run (into DIR/<step>/...) or one artifact (into DIR/<key>/...), verifying every file')
    .argument('<run|key>', 'a run name or an artifact key')
    .requiredOption('--out <dir>', 'the directory to download into')
    .option('--force', 'overwrite files that already exist')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print a JSON summary')
    .action(async (target: string, opts: { out: string; force?: boolean; progress: boolean; json?: boolean }) => {
      const r = await downloadArtifacts(await open(), target, {
        out: opts.out,
        force: opts.force,
        progress: opts.progress && process.stderr.isTTY,
      });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else
        console.log(
          `downloaded ${r.kind} ${r.target}: ${r.files} files, ${formatBytes(r.bytes)} in ${r.artifacts.length} artifact(s), verified, to ${r.out}`,
        );
    });
}
