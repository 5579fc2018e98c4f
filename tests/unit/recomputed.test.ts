/**
 * A stored artifact that is damaged in any way and computed again is reported `recomputed`
 * (never `cached`, never a plain first computation): a deleted manifest with its files left, a
 * manifest that is not JSON, one that describes another key, one whose file list disagrees with
 * the files, a file missing, short or changed, and a changed file with its manifest deleted. Both
 * store paths: the local directory (atomic publish) and an object store without rename (the S3
 * path, here in memory). After each recomputation the store holds the computed bytes again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runStep, type StepContext } from '../../activities/steps/context.ts';
import { ArtifactStore, LocalBackend, type ObjectBackend, sha256Hex, stepKey } from '../../artifacts/index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An object store without rename or atomic publish (what S3 offers), in memory. */
class MemoryBackend implements ObjectBackend {
  readonly objects = new Map<string, Uint8Array>();
  readonly location = 'memory:';
  async getObject(path: string) {
    return this.objects.get(path)?.slice();
  }
  async putObject(path: string, data: Uint8Array) {
    this.objects.set(path, data.slice());
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async deletePrefix(prefix: string) {
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix)) this.objects.delete(k);
  }
  async putObjectIfAbsent(path: string, data: Uint8Array) {
    if (this.objects.has(path)) return false;
    this.objects.set(path, data.slice());
    return true;
  }
  async deleteObject(path: string) {
    this.objects.delete(path);
  }
}

const files = {
  'a.bin': Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 251),
  'sub/b.bin': new TextEncoder().encode('b'.repeat(500)),
};
const spec = { step: 'probe', version: '1', params: { n: 1 }, inputs: {} };
const key = stepKey(spec);

type Damage = (store: ArtifactStore) => Promise<void>;
const obj = (name: string) => `objects/${key}/${name}`;
const get = async (s: ArtifactStore, name: string) => (await s.backend.getObject(obj(name)))!;
const flip = async (s: ArtifactStore, name: string) => {
  const d = await get(s, name);
  d[d.byteLength >> 1] ^= 0x20;
  await s.backend.putObject(obj(name), d);
};
const editManifest = async (s: ArtifactStore, edit: (m: Record<string, unknown> & { files: { size: number }[] }) => void) => {
  const m = JSON.parse(Buffer.from(await get(s, 'manifest.json')).toString('utf8'));
  edit(m);
  await s.backend.putObject(obj('manifest.json'), Buffer.from(JSON.stringify(m)));
};

const damages: [string, Damage][] = [
  ['a deleted manifest, its files left', (s) => s.backend.deleteObject(obj('manifest.json'))],
  ['a manifest that is not JSON', (s) => s.backend.putObject(obj('manifest.json'), Buffer.from('{"key": "probe-'))],
  ['a manifest that describes another key', (s) => editManifest(s, (m) => (m.key = `${key}x`))],
  ['a manifest whose file list disagrees with the files', (s) => editManifest(s, (m) => (m.files[0].size += 1))],
  ['a file missing', (s) => s.backend.deleteObject(obj('a.bin'))],
  ['a short file', async (s) => s.backend.putObject(obj('a.bin'), (await get(s, 'a.bin')).subarray(0, 2000))],
  ['a changed file (same size)', (s) => flip(s, 'sub/b.bin')],
  [
    'a changed file and a deleted manifest',
    async (s) => {
      await flip(s, 'a.bin');
      await s.backend.deleteObject(obj('manifest.json'));
    },
  ],
];

const backends: [string, () => ArtifactStore][] = [
  [
    'local',
    () => {
      const d = mkdtempSync(join(tmpdir(), 'polca-recomputed-'));
      dirs.push(d);
      return new ArtifactStore(new LocalBackend(join(d, 'store')));
    },
  ],
  ['object store without rename', () => new ArtifactStore(new MemoryBackend())],
];

for (const [backendName, open] of backends) {
  describe(`a damaged artifact computed again says recomputed (${backendName})`, () => {
    const store = open();
    let computed = 0;
    const ctx: StepContext = { store, heartbeat: () => undefined, owner: 'test-owner', hitHashMaxBytes: 1 << 20 };
    const step = () =>
      runStep(ctx, 'probe', spec, async () => {
        computed++;
        return { files: { ...files }, meta: { n: 1 } };
      });
    const sound = async () => {
      assert.ok(await store.verify(key), 'the artifact verifies');
      const m = (await store.manifest(key))!;
      assert.deepEqual(
        m.files.map((f) => [f.name, f.size, f.sha256]),
        Object.entries(files).map(([n, d]) => [n, d.byteLength, sha256Hex(d)]),
      );
    };

    test('first computation: neither cached nor recomputed; then a cache hit', async () => {
      const first = await step();
      assert.equal(first.cached, false);
      assert.equal(first.recomputed, undefined);
      const hit = await step();
      assert.equal(hit.cached, true);
      assert.equal(hit.recomputed, undefined);
      assert.equal(computed, 1);
      await sound();
    });

    for (const [what, damage] of damages) {
      test(`${what}: computed again, recomputed: true, cached: false`, async () => {
        await damage(store);
        const before = computed;
        const r = await step();
        assert.equal(computed, before + 1, 'computed once more');
        assert.equal(r.cached, false);
        assert.equal(r.recomputed, true, `${what}: recomputed`);
        await sound();
        const hit = await step();
        assert.equal(hit.cached, true, 'a cache hit again');
        assert.equal(computed, before + 1);
      });
    }

    test('nothing stored under the key at all: a first computation again, not a recomputation', async () => {
      await store.delete(key);
      assert.deepEqual(await store.backend.list(`objects/${key}/`), []);
      const r = await step();
      assert.equal(r.cached, false);
      assert.equal(r.recomputed, undefined);
      await sound();
    });
  });
}
