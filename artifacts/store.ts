/**
 * The content-addressed artifact store: one interface, two backends (a local directory and S3).
 *
 * Layout (both backends): `<root>/objects/<key>/<file>` for the files and
 * `<root>/objects/<key>/manifest.json`, written last: an artifact without a manifest is
 * incomplete and invisible. Runs: `<root>/runs/<name>.json` (a run record maps step names to keys).
 * Reads verify each file's size and SHA-256 against the manifest.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
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
  if (!FILE_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..') || name === 'manifest.json') {
    throw new Error(`artifact file name ${JSON.stringify(name)}: allowed: letters, digits, '.', '_', '-' and '/' separators (not manifest.json, no '..')`);
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
}

export class ArtifactStore {
  constructor(readonly backend: ObjectBackend) {}

  get location(): string {
    return this.backend.location;
  }

  async manifest(key: string): Promise<Manifest | undefined> {
    const raw = await this.backend.getObject(`objects/${key}/manifest.json`);
    if (!raw) return undefined;
    return JSON.parse(Buffer.from(raw).toString('utf8')) as Manifest;
  }

  async has(key: string): Promise<boolean> {
    return (await this.manifest(key)) !== undefined;
  }

  /**
   * Store an artifact: files first, the manifest last. Idempotent: when a complete artifact with
   * this key already exists it is returned untouched (content addressing makes the two equal).
   */
  async put(spec: StepSpec, files: Record<string, Uint8Array>, meta?: Record<string, unknown>, key = stepKey(spec)): Promise<Manifest> {
    const existing = await this.manifest(key);
    if (existing) return existing;
    const entries: FileEntry[] = [];
    for (const [name, data] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      checkFileName(name);
      await this.backend.putObject(`objects/${key}/${name}`, data);
      entries.push({ name, size: data.byteLength, sha256: sha256Hex(data) });
    }
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
    await this.backend.putObject(`objects/${key}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 2)));
    return manifest;
  }

  /** A file of a complete artifact, verified against its manifest. */
  async get(key: string, name: string): Promise<Uint8Array> {
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
    if (h !== entry.sha256) throw new IntegrityError(`artifact ${key}: file ${name} has SHA-256 ${h}, the manifest says ${entry.sha256}`, key, name);
    return data;
  }

  /** Verify every file of an artifact; false when missing or corrupt. */
  async verify(key: string): Promise<boolean> {
    const m = await this.manifest(key);
    if (!m) return false;
    try {
      for (const f of m.files) await this.get(key, f.name);
      return true;
    } catch (e) {
      if (e instanceof IntegrityError) return false;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    // manifest first, so that a half-deleted artifact is never seen as complete
    await this.backend.deletePrefix(`objects/${key}/manifest.json`);
    await this.backend.deletePrefix(`objects/${key}/`);
  }

  async list(): Promise<Manifest[]> {
    const paths = await this.backend.list('objects/');
    const keys = paths.filter((p) => p.endsWith('/manifest.json')).map((p) => p.slice('objects/'.length, -'/manifest.json'.length));
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
    return (await this.backend.list('runs/')).filter((p) => p.endsWith('.json')).map((p) => p.slice(5, -5)).sort();
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
}
