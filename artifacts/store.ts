/**
 * The content-addressed artifact store: one interface, two backends (a local directory and S3).
 *
 * Layout (both backends): `<root>/objects/<key>/<file>` for the files and
 * `<root>/objects/<key>/manifest.json`, written last: an artifact without a manifest is
 * incomplete and invisible. Runs: `<root>/runs/<name>.json` (a run record maps step names to keys).
 * Leases: `<root>/locks/<key>` (who computes a key now, until when). Resume points of a step
 * being computed: `<root>/scratch/<key>/<name>`. The store's methods are the only code that
 * knows these paths. Reads verify each file's size and SHA-256 against the manifest.
 *
 * An artifact becomes visible only whole and only as the bytes its writer computed; files that
 * happen to be present under its key (left by a crash, a partial restore, or damage) are never
 * adopted. Local: the files and the manifest are staged in a private directory, read back and
 * checked against the computed hashes, then published by one rename(2) of the directory (a
 * directory already there without a valid manifest is moved aside first). S3 (no rename): each
 * file is created only-if-absent; a file already there whose bytes differ from the computed
 * ones is replaced; the manifest is created only-if-absent last, and a writer that met other
 * bytes checks the stored artifact against the final manifest and removes it when they disagree.
 *
 * Symbolic links inside a local store are refused, never followed (UnsafePathError).
 * `check(key)` is the cache-hit check: the manifest parses and every file exists with its size,
 * and, up to a byte limit, every file's SHA-256 matches; files under a key without a manifest
 * are reported (`orphaned`), not taken for an absent artifact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PinnedWriter } from './export.ts';
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

/** A path inside a local store that is (or passes through) a symbolic link: refused, not followed. */
export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

/** What the cache-hit check found: no artifact, a sound one, or a damaged one (and why). */
export type CheckResult =
  | { state: 'absent' }
  | { state: 'ok'; manifest: Manifest; hashed: boolean }
  | { state: 'damaged'; problem: string }
  /** Files under the key without a manifest: left by a crash, a partial restore, a deleted manifest (or, on S3, a writer still writing). */
  | { state: 'orphaned'; problem: string };

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
  /** Optional: the object's size in bytes without reading it (undefined when absent). */
  sizeOf?(path: string): Promise<number | undefined>;
  /**
   * Optional: make a whole artifact visible at once under `dir` (`objects/<key>`): the files and
   * then `manifest.json`, staged privately and checked against `files` first. Returns false, and
   * changes nothing, when a complete artifact (`isComplete(manifest bytes)`) is already there;
   * anything else found there is replaced.
   */
  publishArtifact?(
    dir: string,
    files: [string, Uint8Array][],
    manifest: Uint8Array,
    isComplete: (manifest: Uint8Array) => boolean,
  ): Promise<boolean>;
}

const sameEntries = (a: FileEntry[], b: FileEntry[]) =>
  a.length === b.length && a.every((f, i) => f.name === b[i].name && f.size === b[i].size && f.sha256 === b[i].sha256);

export class ArtifactStore {
  constructor(readonly backend: ObjectBackend) {}

  get location(): string {
    return this.backend.location;
  }

  async manifest(key: string): Promise<Manifest | undefined> {
    checkKey(key);
    const raw = await this.read(key, 'manifest.json', () => this.backend.getObject(`objects/${key}/manifest.json`));
    if (!raw) return undefined;
    return parseManifest(key, raw);
  }

  /** A backend read of one object of an artifact; a refused path (a symbolic link) is damage. */
  private async read<T>(key: string, name: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof UnsafePathError) throw new IntegrityError(`artifact ${key}: ${e.message}`, key, name);
      throw e;
    }
  }

  /**
   * The cache-hit check: the manifest parses and describes `key`, every listed file exists with
   * its size, and when the artifact holds at most `hashMaxBytes` bytes every file's SHA-256
   * matches too. Never throws for damage: it reports it.
   */
  async check(key: string, hashMaxBytes: number): Promise<CheckResult> {
    let m: Manifest | undefined;
    try {
      m = await this.manifest(key);
    } catch (e) {
      if (e instanceof IntegrityError) return { state: 'damaged', problem: e.message };
      throw e;
    }
    if (!m) {
      const left = await this.filesWithoutManifest(key);
      if (left.length === 0) return { state: 'absent' };
      const shown = left.slice(0, 3).join(', ') + (left.length > 3 ? `, … (${left.length} files)` : '');
      return { state: 'orphaned', problem: `artifact ${key}: files without a manifest (${shown})` };
    }
    try {
      const total = m.files.reduce((a, f) => a + f.size, 0);
      const hash = total <= hashMaxBytes;
      for (const f of m.files) {
        const got = hash ? await this.hashObject(key, f.name) : { size: await this.sizeOf(key, f.name), sha256: f.sha256 };
        if (got.size === undefined)
          return { state: 'damaged', problem: `artifact ${key}: file ${f.name} is listed in the manifest but missing` };
        if (got.size !== f.size)
          return { state: 'damaged', problem: `artifact ${key}: file ${f.name} has ${got.size} bytes, the manifest says ${f.size}` };
        if (got.sha256 !== f.sha256)
          return { state: 'damaged', problem: `artifact ${key}: file ${f.name} has SHA-256 ${got.sha256}, the manifest says ${f.sha256}` };
      }
      return { state: 'ok', manifest: m, hashed: hash };
    } catch (e) {
      if (e instanceof IntegrityError) return { state: 'damaged', problem: e.message };
      throw e;
    }
  }

  /** The names of whatever is stored under `key` (no manifest among them, or the artifact would be complete). */
  private async filesWithoutManifest(key: string): Promise<string[]> {
    const prefix = `objects/${key}/`;
    try {
      return (await this.backend.list(prefix)).filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
    } catch (e) {
      if (e instanceof UnsafePathError) return [key];
      throw e;
    }
  }

  private async sizeOf(key: string, name: string): Promise<number | undefined> {
    const path = `objects/${key}/${name}`;
    if (this.backend.sizeOf) return this.read(key, name, () => this.backend.sizeOf!(path));
    return (await this.read(key, name, () => this.backend.getObject(path)))?.byteLength;
  }

  async has(key: string): Promise<boolean> {
    return (await this.manifest(key)) !== undefined;
  }

  /**
   * Store an artifact whose files are exactly `files`. When a complete artifact with this key is
   * already stored it is returned (content addressing makes the two equal); when its files differ
   * from `files` it is returned only if its bytes match its own manifest, and replaced otherwise.
   * A damaged manifest (not JSON, another key) is removed first. Files found under the key
   * without a manifest are never adopted (see the file comment for how each backend ensures it).
   */
  async put(spec: StepSpec, files: Record<string, Uint8Array>, meta?: Record<string, unknown>, key = stepKey(spec)): Promise<Manifest> {
    checkKey(key);
    const names = Object.keys(files).sort();
    for (const name of names) checkFileName(name);
    const entries: FileEntry[] = names.map((name) => ({ name, size: files[name].byteLength, sha256: sha256Hex(files[name]) }));
    const existing = await this.soundExisting(key, entries);
    if (existing) return existing;
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
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
    if (this.backend.publishArtifact) {
      const isComplete = (raw: Uint8Array) => {
        try {
          parseManifest(key, raw);
          return true;
        } catch {
          return false;
        }
      };
      const published = await this.backend.publishArtifact(
        `objects/${key}`,
        names.map((n) => [n, files[n]]),
        manifestBytes,
        isComplete,
      );
      if (published) return manifest;
      const winner = await this.soundExisting(key, entries);
      if (winner) return winner;
      throw new Error(`artifact ${key}: another writer's artifact appeared but does not verify (${this.location}); retry`);
    }
    // Backends without an atomic publish (S3): write every file as computed, the manifest last.
    let metOthers = false;
    for (const name of names) if (await this.putFile(key, name, files[name])) metOthers = true;
    const won = await this.backend.putObjectIfAbsent(`objects/${key}/manifest.json`, manifestBytes);
    const final = won ? manifest : await this.manifest(key);
    if (!final) throw new Error(`artifact ${key}: another writer's manifest exists but could not be read (${this.location})`);
    if (won && !metOthers) return manifest;
    if (!won && sameEntries(final.files, entries) && !metOthers) return final;
    // Another writer's bytes were met (or its manifest won with other content): the artifact as
    // stored must agree with its manifest, or it is removed and this write fails loudly.
    if (await this.verify(key)) return final;
    await this.delete(key);
    throw new Error(
      `artifact ${key}: concurrent writers stored different bytes under one key; the artifact was removed (${this.location}); retry`,
    );
  }

  /**
   * The stored artifact with this key if it is complete and sound: its manifest lists exactly
   * `entries` (then its bytes were checked when it was read or written), or its bytes match its
   * own manifest. A damaged artifact (unparsable manifest, bytes that disagree) is removed.
   */
  private async soundExisting(key: string, entries: FileEntry[]): Promise<Manifest | undefined> {
    let m: Manifest | undefined;
    try {
      m = await this.manifest(key);
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      await this.delete(key);
      return undefined;
    }
    if (!m) return undefined;
    if (sameEntries(m.files, entries) || (await this.verify(key))) return m;
    await this.delete(key);
    return undefined;
  }

  /**
   * Write one file of an artifact as computed: created only-if-absent; a file already there
   * whose bytes differ is replaced. True when other bytes were found there.
   */
  private async putFile(key: string, name: string, data: Uint8Array): Promise<boolean> {
    const path = `objects/${key}/${name}`;
    if (await this.backend.putObjectIfAbsent(path, data)) return false;
    const stored = await this.backend.getObject(path);
    if (stored && stored.byteLength === data.byteLength && sha256Hex(stored) === sha256Hex(data)) return false;
    await this.backend.putObject(path, data);
    return true;
  }

  /** A file of a complete artifact, verified against its manifest. */
  async get(key: string, name: string): Promise<Uint8Array> {
    checkFileName(name);
    const m = await this.manifest(key);
    if (!m) throw new NotFoundError(`artifact ${key} is not in the store (${this.location})`);
    const entry = m.files.find((f) => f.name === name);
    if (!entry) throw new NotFoundError(`artifact ${key} has no file ${name}; it has: ${m.files.map((f) => f.name).join(', ')}`);
    const data = await this.read(key, name, () => this.backend.getObject(`objects/${key}/${name}`));
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
    const stream = this.backend.getObjectStream ? await this.read(key, name, () => this.backend.getObjectStream!(path)) : undefined;
    if (!stream) {
      const data = await this.read(key, name, () => this.backend.getObject(path));
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

  /** The entry of `name` in the manifest of `key` and a stream of its stored bytes (not yet verified). */
  private async source(key: string, name: string): Promise<{ entry: FileEntry; chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }> {
    checkFileName(name);
    const m = await this.manifest(key);
    if (!m) throw new NotFoundError(`artifact ${key} is not in the store (${this.location})`);
    const entry = m.files.find((f) => f.name === name);
    if (!entry) throw new NotFoundError(`artifact ${key} has no file ${name}; it has: ${m.files.map((f) => f.name).join(', ')}`);
    const path = `objects/${key}/${name}`;
    let chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined;
    if (this.backend.getObjectStream) chunks = await this.read(key, name, () => this.backend.getObjectStream!(path));
    else {
      const data = await this.read(key, name, () => this.backend.getObject(path));
      chunks = data ? [data] : undefined;
    }
    if (!chunks) throw new IntegrityError(`artifact ${key}: file ${name} is listed in the manifest but missing`, key, name);
    return { entry, chunks };
  }

  /**
   * The bytes of one file of a complete artifact, streamed chunk by chunk; after the last chunk,
   * an IntegrityError when their size or SHA-256 disagrees with the manifest. Whatever the caller
   * wrote from them must not be used before the iteration has ended without an error.
   */
  async *verifiedChunks(key: string, name: string, onEntry?: (entry: FileEntry) => void): AsyncGenerator<Uint8Array> {
    const { entry, chunks } = await this.source(key, name);
    onEntry?.(entry);
    const h = createHash('sha256');
    let size = 0;
    for await (const c of chunks) {
      h.update(c);
      size += c.byteLength;
      yield c;
    }
    if (size !== entry.size)
      throw new IntegrityError(`artifact ${key}: file ${name} has ${size} bytes, the manifest says ${entry.size}`, key, name);
    const got = h.digest('hex');
    if (got !== entry.sha256)
      throw new IntegrityError(`artifact ${key}: file ${name} has SHA-256 ${got}, the manifest says ${entry.sha256}`, key, name);
  }

  /**
   * Copy one file of a complete artifact to `dest`, streamed, verified against the manifest before
   * it appears under its name, through the one safe writer (artifacts/export.ts PinnedWriter, as
   * `polca artifacts download`): created exclusively inside the held directory of `dest`, then
   * linked into place (an existing `dest` is an error and is left untouched) or, with
   * `overwrite`, renamed over it. The manifest and the source are opened, and a missing file
   * reported, before anything is created.
   */
  async exportFile(
    key: string,
    name: string,
    dest: string,
    opts: { overwrite?: boolean; onBytes?: (n: number) => void } = {},
  ): Promise<FileEntry> {
    let entry: FileEntry | undefined;
    const chunks = this.verifiedChunks(key, name, (e) => (entry = e));
    const first = await chunks.next();
    const dir = dirname(resolve(dest));
    await mkdir(dir, { recursive: true });
    const writer = await PinnedWriter.open(await realpath(dir), opts.overwrite ?? false);
    try {
      await writer.write(
        [basename(dest)],
        (async function* () {
          for (let r = first; !r.done; r = await chunks.next()) yield r.value;
        })(),
        opts.onBytes,
      );
    } finally {
      await writer.close();
    }
    return entry!;
  }

  async delete(key: string): Promise<void> {
    // manifest first, so that a half-deleted artifact is never seen as complete
    checkKey(key);
    try {
      await this.backend.deleteObject(`objects/${key}/manifest.json`);
    } catch (e) {
      // `objects/<key>` itself is a symbolic link: deletePrefix removes the link
      if (!(e instanceof UnsafePathError)) throw e;
    }
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
      try {
        const m = await this.manifest(k);
        if (m) out.push(m);
      } catch (e) {
        // a damaged manifest (or a refused link) is not a complete artifact: not listed
        if (!(e instanceof IntegrityError)) throw e;
      }
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

  /** Every key with something under `objects/<key>/`, a manifest or not (sorted). */
  async objectKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const p of await this.backend.list('objects/')) {
      const k = p.slice('objects/'.length).split('/')[0];
      if (k) keys.add(k);
    }
    return [...keys].sort();
  }

  // ---- leases: `locks/<key>`, one computation of a key at a time across runs and workers ----

  private async readLease(key: string): Promise<Lease | undefined> {
    const raw = await this.backend.getObject(`locks/${key}`);
    if (!raw) return undefined;
    try {
      return JSON.parse(Buffer.from(raw).toString('utf8')) as Lease;
    } catch {
      // unreadable: taken for an abandoned lease
      return { owner: '?', expiresAt: 0 };
    }
  }

  private leaseBody(owner: string, ttlMs: number): Uint8Array {
    return Buffer.from(JSON.stringify({ owner, expiresAt: Date.now() + ttlMs } satisfies Lease));
  }

  /**
   * Take the lease of `key` for `owner`, living `ttlMs` without renewal: created atomically when
   * absent; taken over when it is the owner's own (an earlier attempt) or has expired. Otherwise
   * not taken, with the holder's name.
   */
  async takeLease(key: string, owner: string, ttlMs: number): Promise<{ taken: true } | { taken: false; holder?: string }> {
    const path = `locks/${key}`;
    if (await this.backend.putObjectIfAbsent(path, this.leaseBody(owner, ttlMs))) return { taken: true };
    const lease = await this.readLease(key);
    if (lease && (lease.owner === owner || lease.expiresAt < Date.now())) {
      await this.backend.putObject(path, this.leaseBody(owner, ttlMs));
      return { taken: true };
    }
    return { taken: false, holder: lease?.owner };
  }

  /** Extend a held lease by `ttlMs` from now. */
  async renewLease(key: string, owner: string, ttlMs: number): Promise<void> {
    await this.backend.putObject(`locks/${key}`, this.leaseBody(owner, ttlMs));
  }

  /** Give the lease back, when `owner` still holds it. */
  async releaseLease(key: string, owner: string): Promise<void> {
    const lease = await this.readLease(key).catch(() => undefined);
    if (lease?.owner === owner) await this.backend.deleteObject(`locks/${key}`);
  }

  // ---- resume points: `scratch/<key>/<name>`, where a retry on any worker finds them ----

  async getScratch(key: string, name: string): Promise<Uint8Array | undefined> {
    return this.backend.getObject(`scratch/${key}/${name}`);
  }

  async putScratch(key: string, name: string, data: Uint8Array): Promise<void> {
    await this.backend.putObject(`scratch/${key}/${name}`, data);
  }

  /** Remove every resume point of `key` (of no use once the step is stored). */
  async clearScratch(key: string): Promise<void> {
    await this.backend.deletePrefix(`scratch/${key}/`);
  }

  /**
   * Prove the store writable: write `data` under `doctor/<name>/`, read it back and remove it.
   * Throws when the bytes read back differ.
   */
  async probe(name: string, data: Uint8Array): Promise<void> {
    checkFileName(name);
    await this.backend.putObject(`doctor/${name}/probe.bin`, data);
    const back = await this.backend.getObject(`doctor/${name}/probe.bin`);
    await this.backend.deletePrefix(`doctor/${name}/`);
    if (!back || !Buffer.from(back).equals(Buffer.from(data))) throw new Error('the object read back differs from the one written');
  }
}

/** A step's lease as stored. */
interface Lease {
  owner: string;
  expiresAt: number;
}

/** A manifest from its bytes; IntegrityError when it is not JSON or does not describe `key`. */
function parseManifest(key: string, raw: Uint8Array): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(Buffer.from(raw).toString('utf8')) as Manifest;
  } catch (e) {
    throw new IntegrityError(`artifact ${key}: manifest.json is not valid JSON (${(e as Error).message})`, key, 'manifest.json');
  }
  if (typeof m !== 'object' || m === null || m.key !== key || !Array.isArray(m.files)) {
    throw new IntegrityError(
      `artifact ${key}: manifest.json does not describe this artifact (key ${JSON.stringify((m as Manifest | null)?.key)})`,
      key,
      'manifest.json',
    );
  }
  return m;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * A local directory. Single objects are written to a temporary name in the same directory and
 * renamed; artifacts are staged in a private directory and published by one rename. No path
 * component below the root may be a symbolic link: such a path is refused (UnsafePathError).
 */
export class LocalBackend implements ObjectBackend {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  get location(): string {
    return `local:${this.root}`;
  }

  /**
   * The absolute path of `path`, after checking that no existing component below the root (the
   * last one excepted with `leaf: false`) is a symbolic link.
   */
  private async safe(path: string, opts: { leaf?: boolean } = {}): Promise<string> {
    const parts = path.split('/').filter((p) => p !== '');
    let cur = this.root;
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && opts.leaf === false) return join(cur, p);
      if (p === '..' || p === '.') throw new UnsafePathError(`refusing path ${JSON.stringify(path)} in the store`);
      cur = join(cur, p);
      try {
        if ((await lstat(cur)).isSymbolicLink()) {
          throw new UnsafePathError(`refusing ${cur}: a symbolic link inside the store (${this.root}) is not followed`);
        }
      } catch (e) {
        if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return join(this.root, ...parts);
        throw e;
      }
    }
    return cur;
  }

  /** Open a file for reading without following a symbolic link at its last component; undefined when absent. */
  private async openNoFollow(full: string): Promise<Awaited<ReturnType<typeof open>> | undefined> {
    try {
      return await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      if (errno(e) === 'ELOOP') throw new UnsafePathError(`refusing ${full}: a symbolic link inside the store is not followed`);
      throw e;
    }
  }

  async getObject(path: string): Promise<Uint8Array | undefined> {
    const fh = await this.openNoFollow(await this.safe(path));
    if (!fh) return undefined;
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      return new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  }
  async putObject(path: string, data: Uint8Array): Promise<void> {
    const full = await this.safe(path);
    await mkdir(dirname(full), { recursive: true });
    await this.safe(path);
    const tmp = `${full}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(tmp, data, { flag: 'wx' });
      await rename(tmp, full);
    } catch (e) {
      // A write that failed half way (no space left) must not keep the space it took.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }
  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(join(this.root, rel), { withFileTypes: true });
      } catch (e) {
        if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return;
        throw e;
      }
      for (const d of entries) {
        if (d.name.includes('.tmp-')) continue; // staging and temporary names are never objects
        const r = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) await walk(r);
        else out.push(r); // files, and symbolic links (reading one is refused, which reports it)
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    return out.filter((p) => p.startsWith(prefix)).sort();
  }
  async deletePrefix(prefix: string): Promise<void> {
    // Without a trailing '/': rm of `link/` would resolve a symbolic link and empty its target;
    // rm of `link` removes the link itself.
    const full = await this.safe(prefix.replace(/\/+$/, ''), { leaf: false });
    await rm(full, { recursive: true, force: true });
  }
  async putObjectIfAbsent(path: string, data: Uint8Array): Promise<boolean> {
    const full = await this.safe(path);
    await mkdir(dirname(full), { recursive: true });
    await this.safe(path);
    // Write the content to a temporary name, then link it into place: link(2) fails with EEXIST
    // when the name is taken, and a reader never sees a partly written object.
    const tmp = `${full}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data, { flag: 'wx' });
    try {
      await link(tmp, full);
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  async deleteObject(path: string): Promise<void> {
    // rm of a symbolic link removes the link, not its target; a linked directory is refused
    await rm(await this.safe(path, { leaf: false }), { force: true });
  }
  async getObjectStream(path: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const fh = await this.openNoFollow(await this.safe(path));
    if (!fh) return undefined;
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      return undefined;
    }
    return fh.createReadStream({ highWaterMark: 1 << 20 });
  }
  async sizeOf(path: string): Promise<number | undefined> {
    const full = await this.safe(path);
    try {
      const st = await lstat(full);
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * Stage the artifact in `<dir>.tmp-<pid>-<random>` (created exclusively, files created with
   * O_EXCL), read every file back and compare it with the computed bytes, write the manifest,
   * then rename the directory to `dir`. rename(2) fails when `dir` exists and is not empty: a
   * complete artifact there wins (false); anything else there (files without a valid manifest, a
   * symbolic link) is renamed aside, removed, and the publish retried.
   */
  async publishArtifact(
    dir: string,
    files: [string, Uint8Array][],
    manifest: Uint8Array,
    isComplete: (manifest: Uint8Array) => boolean,
  ): Promise<boolean> {
    const target = await this.safe(dir);
    await mkdir(dirname(target), { recursive: true });
    await this.safe(dir);
    const staging = `${target}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
    await mkdir(staging);
    try {
      for (const [name, data] of files) {
        const f = join(staging, ...name.split('/'));
        await mkdir(dirname(f), { recursive: true });
        await writeFile(f, data, { flag: 'wx' });
      }
      for (const [name, data] of files) {
        const back = await this.readNoFollow(join(staging, ...name.split('/')));
        if (!back || back.byteLength !== data.byteLength || sha256Hex(back) !== sha256Hex(data)) {
          throw new Error(`staged file ${name} of ${dir} reads back different from what was written (${staging})`);
        }
      }
      await writeFile(join(staging, 'manifest.json'), manifest, { flag: 'wx' });
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await rename(staging, target);
          return true;
        } catch (e) {
          if (!['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(errno(e) ?? '')) throw e;
        }
        const st = await lstat(target).catch(() => undefined);
        if (st?.isDirectory()) {
          const m = await this.readNoFollow(join(target, 'manifest.json')).catch(() => undefined);
          if (m && isComplete(m)) return false;
        }
        if (!st) continue;
        const aside = `${target}.tmp-discard-${randomBytes(8).toString('hex')}`;
        try {
          await rename(target, aside);
        } catch (e) {
          if (errno(e) === 'ENOENT') continue;
          throw e;
        }
        await rm(aside, { recursive: true, force: true });
      }
      throw new Error(`could not publish ${dir} in ${this.root}: it kept being replaced by other writers`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async readNoFollow(full: string): Promise<Uint8Array | undefined> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ELOOP') return undefined;
      throw e;
    }
    try {
      return new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  }
}
