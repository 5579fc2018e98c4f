/**
 * The one way artifacts are written outside the store (`polca artifacts download`,
 * ArtifactStore.exportFile): files below a directory OUT, created so that another writer in OUT
 * cannot redirect a write outside it, each placed under its name only once every byte came, and
 * never over an existing file unless asked (PinnedWriter).
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The file-system operations of a write below OUT, in the order one file goes through them. */
export type WriteStep = 'mkdir' | 'open-dir' | 'create' | 'write' | 'place' | 'unlink' | 'check';
/**
 * Called before every file-system operation below OUT, with what is about to happen and the path
 * it concerns (fault injection: a test plays a concurrent writer here).
 */
export type WriteHook = (op: WriteStep, path: string) => void | Promise<void>;

/** A directory below OUT held open, and the identity (device, inode) it had when it was opened. */
interface HeldDir {
  fh: FileHandle;
  /** Its path when it was opened (for messages, and for the path fallback). */
  path: string;
  dev: number;
  ino: number;
}

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const O_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes files below OUT so that another writer in OUT (who may rename, replace or link any
 * name there at any moment) cannot make it create anything outside OUT.
 *
 * Each directory is created and then opened with O_DIRECTORY | O_NOFOLLOW (a symbolic link put
 * in its place is refused, never followed), starting from OUT itself, and held open. Everything
 * below it is then named through the held descriptor, `/proc/self/fd/<fd>/<name>` (Linux; the
 * kernel resolves it to the directory that was opened, whatever its path now leads to), which is
 * what `openat(2)` would give: a file is created there exclusively (O_CREAT | O_EXCL |
 * O_NOFOLLOW), written with the store's verified bytes, and only then linked to its name (or,
 * with `force`, renamed over it; neither follows a link at the name). Every placed file is then
 * found again by its path from OUT with lstat — each directory a real directory, the file the
 * very inode that was written — right after it is placed and once more at the end; a file that
 * is not is an error. Without /proc (not Linux) the held directory's identity is compared with
 * an lstat of its path before every operation instead, which leaves a moment between check and
 * use.
 */
export class PinnedWriter {
  private readonly dirs = new Map<string, HeldDir>();
  private readonly placed: { parts: string[]; dev: number; ino: number }[] = [];

  private constructor(
    private readonly root: HeldDir,
    private readonly pinned: boolean,
    private readonly force: boolean,
    private readonly hook?: WriteHook,
  ) {}

  static async open(realOut: string, force: boolean, hook?: WriteHook): Promise<PinnedWriter> {
    await hook?.('open-dir', realOut);
    const root = await openDir(realOut, realOut);
    let pinned = false;
    try {
      const via = await stat(`/proc/self/fd/${root.fh.fd}`);
      pinned = via.dev === root.dev && via.ino === root.ino;
    } catch {
      pinned = false;
    }
    return new PinnedWriter(root, pinned, force, hook);
  }

  /** The name of `name` inside `dir` for a system call: through the held descriptor when pinned. */
  private async at(dir: HeldDir, name: string): Promise<string> {
    if (this.pinned) return `/proc/self/fd/${dir.fh.fd}/${name}`;
    const st = await lstat(dir.path).catch(() => undefined);
    if (!st || st.isSymbolicLink() || !st.isDirectory() || st.dev !== dir.dev || st.ino !== dir.ino) {
      throw new Error(
        `refusing to write below ${dir.path}: it changed while the download wrote into it (another writer in the output directory?)`,
      );
    }
    return join(dir.path, name);
  }

  /** The held directory of `parts` (directory names below OUT), each created when missing and opened without following links. */
  private async dir(parts: string[]): Promise<HeldDir> {
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      const id = parts.slice(0, i + 1).join('/');
      const held = this.dirs.get(id);
      if (held) {
        cur = held;
        continue;
      }
      const path = join(cur.path, parts[i]);
      await this.hook?.('mkdir', path);
      try {
        await mkdir(await this.at(cur, parts[i]));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      await this.hook?.('open-dir', path);
      const next = await openDir(await this.at(cur, parts[i]), path);
      this.dirs.set(id, next);
      cur = next;
    }
    return cur;
  }

  /** Write `chunks` to the file `parts` below OUT (created exclusively, placed only when every chunk came). */
  async write(parts: string[], chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onBytes?: (n: number) => void): Promise<void> {
    const dir = await this.dir(parts.slice(0, -1));
    const name = parts[parts.length - 1];
    const dest = join(dir.path, name);
    const tmp = `.polca-download-${randomBytes(8).toString('hex')}.tmp`;
    await this.hook?.('create', join(dir.path, tmp));
    const fh = await open(await this.at(dir, tmp), O_NEW, 0o644);
    const st = await fh.stat();
    let linked = false;
    try {
      try {
        for await (const c of chunks) {
          await this.hook?.('write', join(dir.path, tmp));
          for (let off = 0; off < c.byteLength; ) off += (await fh.write(c, off)).bytesWritten;
          onBytes?.(c.byteLength);
        }
      } finally {
        await fh.close();
      }
      await this.hook?.('place', dest);
      if (this.force) {
        await rename(await this.at(dir, tmp), await this.at(dir, name));
        linked = true;
      } else {
        try {
          await link(await this.at(dir, tmp), await this.at(dir, name));
          linked = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${dest} already exists (use --force to overwrite)`);
          throw e;
        }
      }
    } finally {
      if (!(this.force && linked)) await this.unlinkIfOurs(dir, tmp, st);
    }
    this.placed.push({ parts, dev: st.dev, ino: st.ino });
    await this.check(this.placed[this.placed.length - 1]);
  }

  /** Remove the temporary name when it is still the file this download created. */
  private async unlinkIfOurs(dir: HeldDir, tmp: string, ours: Stats): Promise<void> {
    await this.hook?.('unlink', join(dir.path, tmp));
    const path = await this.at(dir, tmp).catch(() => undefined);
    if (!path) return;
    const st = await lstat(path).catch(() => undefined);
    if (st && st.dev === ours.dev && st.ino === ours.ino) await unlink(path).catch(() => undefined);
  }

  /** The placed file, found again by its path from OUT with lstat: real directories, the inode that was written. */
  private async check(f: { parts: string[]; dev: number; ino: number }): Promise<void> {
    let cur = this.root.path;
    await this.hook?.('check', join(cur, ...f.parts));
    for (const [i, p] of f.parts.entries()) {
      cur = join(cur, p);
      const st = await lstat(cur).catch(() => undefined);
      const last = i === f.parts.length - 1;
      const ok = st && !st.isSymbolicLink() && (last ? st.isFile() && st.dev === f.dev && st.ino === f.ino : st.isDirectory());
      if (!ok) {
        const what = !st
          ? 'is gone'
          : st.isSymbolicLink()
            ? 'is now a symbolic link'
            : last
              ? 'is no longer the file written'
              : `is now ${kindOf(st)}`;
        throw new Error(
          `${join(this.root.path, ...f.parts)}: ${cur} ${what}: the output directory changed while the download wrote into it (another writer?); nothing was written outside it`,
        );
      }
    }
  }

  async checkAll(): Promise<void> {
    for (const f of this.placed) await this.check(f);
  }

  async close(): Promise<void> {
    for (const d of [...this.dirs.values()].reverse()) await d.fh.close().catch(() => undefined);
    await this.root.fh.close().catch(() => undefined);
  }
}

/** Open a directory without following a symbolic link at its name; refused (with `shown` in the message) otherwise. */
async function openDir(path: string, shown: string): Promise<HeldDir> {
  let fh: FileHandle;
  try {
    fh = await open(path, O_DIR);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`refusing to write below ${shown}: it is a symbolic link`);
    if (code === 'ENOTDIR') throw new Error(`refusing to write below ${shown}: it is not a directory`);
    throw e;
  }
  const st = await fh.stat();
  return { fh, path: shown, dev: st.dev, ino: st.ino };
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a file';
  return 'a special file';
}

/**
 * Check the components of a destination below `root` with lstat: every existing directory
 * component is a real directory, and the last one, when it exists, a regular file. A symbolic
 * link anywhere is refused. 'file' when the destination exists, 'absent' otherwise.
 */
export async function checkComponents(root: string, parts: string[]): Promise<'file' | 'absent'> {
  let cur = root;
  for (const [i, p] of parts.entries()) {
    cur = join(cur, p);
    let st: import('node:fs').Stats;
    try {
      st = await lstat(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw e;
    }
    const last = i === parts.length - 1;
    if (st.isSymbolicLink()) throw new Error(`refusing to write ${join(root, ...parts)}: ${cur} is a symbolic link`);
    if (!last && !st.isDirectory()) throw new Error(`refusing to write ${join(root, ...parts)}: ${cur} is ${kindOf(st)}, not a directory`);
    if (last && !st.isFile()) throw new Error(`refusing to write ${cur}: it is ${kindOf(st)}`);
  }
  return 'file';
}
