/**
 * The content-addressed artifact store: one interface, two backends (a local directory and S3).
 *
 * Layout (both backends): `<root>/objects/<key>/<file>` for the files and
 * `<root>/objects/<key>/manifest.json`, written last: an artifact without a manifest is
 * incomplete and invisible. Runs: `<root>/runs/<name>.json` (a run record maps step names to keys).
 * Reads verify each file's size and SHA-256 against the manifest.
 *
 * Objects of an artifact are created only-if-absent (local: link(2) of a complete temporary file;
 * S3: If-None-Match: *), so they are immutable once written and concurrent writers of one key end
 * with one manifest that matches the stored bytes. A write that fails part-way leaves complete
 * files but no manifest; retrying the put reuses them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type StepSpec, sha256Hex, stepKey } from './keys.ts';

export interface FileEntry {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  key: string;
  step: string;
  version: string;
  params: unknown;
  inputs: Record<string, string>;
  files: FileEntry[];
  projectVersion: string;
  createdAt: string;
  meta?: Record<string, unknown>;
}

export interface RunRecord {
  name: string;
  workflowId?: string;
  config?: unknown;
  /** Step name (e.g. `train/2`, `polca/17`, `cluster/loss`) → artifact key. */
  steps: Record<string, string>;
  createdAt: string;
  [extra: string]: unknown;
}

export class IntegrityError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'IntegrityError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export const PROJECT_VERSION = '0.1.0';
const FILE_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function checkFileName(name: string): void {
  if (!FILE_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..' || p.includes('.tmp-')) || name === 'manifest.json') {
    throw new Error(
      `artifact file name ${JSON.stringify(name)}: allowed: letters, digits, '.', '_', '-' and '/' separators (not manifest.json, no '..', no '.tmp-')`,
    );
  }
}

const KEY_CHARS = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** An artifact key is one path segment: letters, digits, '.', '_', '-', not starting with '.'. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY_CHARS.test(key) || key.includes('.tmp-') || key.length > 200) {
    throw new Error(`artifact key ${JSON.stringify(key)}: allowed: one segment of letters, digits, '.', '_', '-' (as made by stepKey)`);
  }
}

/** The raw object operations a backend provides; ArtifactStore builds the contract on them. */
export interface ObjectBackend {
  readonly location: string;
  getObject(path: string): Promise<Uint8Array | undefined>;
  /** Write an object so that readers see it whole or not at all. */
  putObject(path: string, data: Uint8Array): Promise<void>;
  list(prefix: string): Promise<string[]>;
  deletePrefix(prefix: string): Promise<void>;
  /** Create an object only when none exists at `path` (atomic); false when one already did. */
  putObjectIfAbsent(path: string, data: Uint8Array): Promise<boolean>;
  deleteObject(path: string): Promise<void>;
  /** Optional: the object's bytes as a stream (large files without holding them in memory). */
  getObjectStream?(path: string): Promise<AsyncIterable<Uint8Array> | undefined>;
}

export class ArtifactStore {
  constructor(readonly backend: ObjectBackend) {}

  get location(): string {
    return this.backend.location;
  }

  async manifest(key: string): Promise<Manifest | undefined> {
    checkKey(key);
    const raw = await this.backend.getObject(`objects/${key}/manifest.json`);
    if (!raw) return undefined;
    let m: Manifest;
    try {
      m = JSON.parse(Buffer.from(raw).toString('utf8')) as Manifest;
    } catch (e) {
      throw new IntegrityError(`artifact ${key}: manifest.json is not valid JSON (${(e as Error).message})`, key, 'manifest.json');
    }
    if (m.key !== key || !Array.isArray(m.files)) {
      throw new IntegrityError(
        `artifact ${key}: manifest.json does not describe this artifact (key ${JSON.stringify(m.key)})`,
        key,
        'manifest.json',
      );
    }
    return m;
  }

  async has(key: string): Promise<boolean> {
    return (await this.manifest(key)) !== undefined;
  }

  /**
   * Store an artifact: files first, the manifest last. Idempotent: when a complete artifact with
   * this key already exists it is returned untouched (content addressing makes the two equal).
   *
   * Concurrent writers of one key: every file and the manifest are created only-if-absent, so the
   * first complete copy of each object wins and is never overwritten; a writer that finds a file
   * already there records that file's actual size and hash, and a writer that loses the manifest
   * race returns the winner's manifest. All writers therefore return one manifest that matches
   * the stored bytes, even when the writers' contents differ.
   */
  async put(spec: StepSpec, files: Record<string, Uint8Array>, meta?: Record<string, unknown>, key = stepKey(spec)): Promise<Manifest> {
    checkKey(key);
    const existing = await this.manifest(key);
    if (existing) return existing;
    const names = Object.keys(files).sort();
    for (const name of names) checkFileName(name);
    const entries: FileEntry[] = [];
    for (const name of names) entries.push(await this.putFile(key, name, files[name]));
    const manifest: Manifest = {
      key,
      step: spec.step,
      version: spec.version,
      params: spec.params ?? null,
      inputs: spec.inputs,
      files: entries,
      projectVersion: PROJECT_VERSION,
      createdAt: new Date().toISOString(),
      ...(meta ? { meta } : {}),
    };
    const won = await this.backend.putObjectIfAbsent(`objects/${key}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 2)));
    if (won) return manifest;
    const winner = await this.manifest(key);
    if (!winner) throw new Error(`artifact ${key}: another writer's manifest exists but could not be read (${this.location})`);
    return winner;
  }

  /**
   * Create one file of an artifact unless it exists; the entry describes the bytes actually
   * stored (ours, or those of a writer that got there first).
   */
  private async putFile(key: string, name: string, data: Uint8Array): Promise<FileEntry> {
    const path = `objects/${key}/${name}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.backend.putObjectIfAbsent(path, data)) return { name, size: data.byteLength, sha256: sha256Hex(data) };
      // written before, by a concurrent writer or an earlier attempt that did not finish
      const stored = await this.backend.getObject(path);
      if (stored) return { name, size: stored.byteLength, sha256: sha256Hex(stored) };
      // deleted in between: try again
    }
    throw new Error(`artifact ${key}: file ${name} exists but could not be read back (${this.location})`);
  }

  /** A file of a complete artifact, verified against its manifest. */
  async get(key: string, name: string): Promise<Uint8Array> {
    checkFileName(name);
    const m = await this.manifest(key);
    if (!m) throw new NotFoundError(`artifact ${key} is not in the store (${this.location})`);
    const entry = m.files.find((f) => f.name === name);
    if (!entry) throw new NotFoundError(`artifact ${key} has no file ${name}; it has: ${m.files.map((f) => f.name).join(', ')}`);
    const data = await this.backend.getObject(`objects/${key}/${name}`);
    if (!data) throw new IntegrityError(`artifact ${key}: file ${name} is listed in the manifest but missing`, key, name);
    if (data.byteLength !== entry.size) {
      throw new IntegrityError(`artifact ${key}: file ${name} has ${data.byteLength} bytes, the manifest says ${entry.size}`, key, name);
    }
    const h = sha256Hex(data);
    if (h !== entry.sha256)
      throw new IntegrityError(`artifact ${key}: file ${name} has SHA-256 ${h}, the manifest says ${entry.sha256}`, key, name);
    return data;
  }

  /** Verify every file of an artifact (streamed when the backend can); false when missing or corrupt. */
  async verify(key: string): Promise<boolean> {
    try {
      const m = await this.manifest(key);
      if (!m) return false;
      for (const f of m.files) {
        const { size, sha256 } = await this.hashObject(key, f.name);
        if (size !== f.size || sha256 !== f.sha256) return false;
      }
      return true;
    } catch (e) {
      if (e instanceof IntegrityError) return false;
      throw e;
    }
  }

  private async hashObject(key: string, name: string): Promise<{ size: number; sha256: string }> {
    const path = `objects/${key}/${name}`;
    const stream = this.backend.getObjectStream ? await this.backend.getObjectStream(path) : undefined;
    if (!stream) {
      const data = await this.backend.getObject(path);
      if (!data) throw new IntegrityError(`artifact ${key}: file ${name} is listed in the manifest but missing`, key, name);
      return { size: data.byteLength, sha256: sha256Hex(data) };
    }
    const h = createHash('sha256');
    let size = 0;
    for await (const chunk of stream) {
      h.update(chunk as Uint8Array);
      size += (chunk as Uint8Array).byteLength;
    }
    return { size, sha256: h.digest('hex') };
  }

  /**
   * Copy one file of a complete artifact to `dest`, streamed, verified against the manifest before
   * it appears under its name (written to a temporary name next to it first). Without
   * `overwrite`, an existing `dest` is an error and is left untouched.
   */
  async exportFile(
    key: string,
    name: string,
    dest: string,
    opts: { overwrite?: boolean; onBytes?: (n: number) => void } = {},
  ): Promise<FileEntry> {
    checkFileName(name);
    const m = await this.manifest(key);
    if (!m) throw new NotFoundError(`artifact ${key} is not in the store (${this.location})`);
    const entry = m.files.find((f) => f.name === name);
    if (!entry) throw new NotFoundError(`artifact ${key} has no file ${name}; it has: ${m.files.map((f) => f.name).join(', ')}`);
    const path = `objects/${key}/${name}`;
    let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined;
    if (this.backend.getObjectStream) source = await this.backend.getObjectStream(path);
    else {
      const data = await this.backend.getObject(path);
      source = data ? [data] : undefined;
    }
    if (!source) throw new IntegrityError(`artifact ${key}: file ${name} is listed in the manifest but missing`, key, name);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const h = createHash('sha256');
    let size = 0;
    const out = createWriteStream(tmp, { flags: 'wx' });
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
          for await (const c of chunks) {
            h.update(c);
            size += c.byteLength;
            opts.onBytes?.(c.byteLength);
            yield c;
          }
        },
        out,
      );
      if (size !== entry.size)
        throw new IntegrityError(`artifact ${key}: file ${name} has ${size} bytes, the manifest says ${entry.size}`, key, name);
      const got = h.digest('hex');
      if (got !== entry.sha256)
        throw new IntegrityError(`artifact ${key}: file ${name} has SHA-256 ${got}, the manifest says ${entry.sha256}`, key, name);
      if (opts.overwrite) await rename(tmp, dest);
      else {
        try {
          await link(tmp, dest);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${dest} already exists (use --force to overwrite)`);
          throw e;
        }
      }
      return entry;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    // manifest first, so that a half-deleted artifact is never seen as complete
    checkKey(key);
    await this.backend.deleteObject(`objects/${key}/manifest.json`);
    await this.backend.deletePrefix(`objects/${key}/`);
  }

  async list(): Promise<Manifest[]> {
    const paths = await this.backend.list('objects/');
    const keys = paths
      .filter((p) => p.endsWith('/manifest.json'))
      .map((p) => p.slice('objects/'.length, -'/manifest.json'.length))
      .filter((k) => !k.includes('/'));
    const out: Manifest[] = [];
    for (const k of keys.sort()) {
      const m = await this.manifest(k);
      if (m) out.push(m);
    }
    return out;
  }

  async putRun(name: string, record: RunRecord): Promise<void> {
    checkFileName(name);
    await this.backend.putObject(`runs/${name}.json`, Buffer.from(JSON.stringify(record, null, 2)));
  }

  async getRun(name: string): Promise<RunRecord | undefined> {
    checkFileName(name);
    const raw = await this.backend.getObject(`runs/${name}.json`);
    return raw ? (JSON.parse(Buffer.from(raw).toString('utf8')) as RunRecord) : undefined;
  }

  async listRuns(): Promise<string[]> {
    return (await this.backend.list('runs/'))
      .filter((p) => p.endsWith('.json'))
      .map((p) => p.slice(5, -5))
      .sort();
  }
}

/** A local directory: writes go to a temporary name in the same directory and are renamed. */
export class LocalBackend implements ObjectBackend {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  get location(): string {
    return `local:${this.root}`;
  }
  async getObject(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.root, path)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  async putObject(path: string, data: Uint8Array): Promise<void> {
    const full = join(this.root, path);
    await mkdir(join(full, '..'), { recursive: true });
    const tmp = `${full}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data);
    await rename(tmp, full);
  }
  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string) => {
      let names: string[];
      try {
        names = await readdir(join(this.root, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        if ((await stat(join(this.root, r))).isDirectory()) await walk(r);
        else if (!n.includes('.tmp-')) out.push(r);
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    return out.filter((p) => p.startsWith(prefix)).sort();
  }
  async deletePrefix(prefix: string): Promise<void> {
    await rm(join(this.root, prefix), { recursive: true, force: true });
  }
  async putObjectIfAbsent(path: string, data: Uint8Array): Promise<boolean> {
    const full = join(this.root, path);
    await mkdir(join(full, '..'), { recursive: true });
    // Write the content to a temporary name, then link it into place: link(2) fails with EEXIST
    // when the name is taken, and a reader never sees a partly written object.
    const tmp = `${full}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data);
    try {
      await link(tmp, full);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  async deleteObject(path: string): Promise<void> {
    await rm(join(this.root, path), { force: true });
  }
  async getObjectStream(path: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const full = join(this.root, path);
    try {
      if (!(await stat(full)).isFile()) return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return createReadStream(full, { highWaterMark: 1 << 20 });
  }
}
