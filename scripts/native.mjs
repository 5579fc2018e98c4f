// The native TensorFlow backend for TF.js (`@tensorflow/tfjs-node`) without its install-time
// downloads, which fail where only package registries are reachable:
//
//   libtensorflow (the TF C API)  <- the PyPI wheel `tensorflow-cpu` (TF_VERSION): its
//                                    tensorflow/libtensorflow_cc.so.2 exports TF_* / TFE_*, and
//                                    the wheel carries the C-API headers;
//   tfjs_binding.node             <- compiled here from the package's own sources with npm's
//                                    bundled node-gyp against the local Node headers.
//
// Both are cached under ~/.cache/polca/libtensorflow (XDG_CACHE_HOME honoured), keyed by wheel,
// TF version, tfjs-node version and Node ABI, so a second install (a fresh clone, `npm ci`) only
// links them into node_modules: no download, no compile. The package's `deps/` folder becomes a
// symlink to the cached libraries (binding.gyp's rpath is $ORIGIN/../../deps/lib).
//
// Where this cannot work (not linux x86_64, no Python/pip, no C++ compiler, no Node headers, no
// registry) it prints one line saying why and the project runs on wasm. The failure is remembered
// per key (delete the cache folder's `failed-*.txt`, or set POLCA_NATIVE_RETRY=1, to try again).
//
// GPU: TFJS_PKG=@tensorflow/tfjs-node-gpu with TF_WHEEL=tensorflow builds the CUDA variant the same
// way: the `tensorflow` wheel carries the CUDA kernels, and the nvidia-*-cu12 wheels that its
// `and-cuda` extra pins (read from the wheel's METADATA) are installed beside the libraries, their
// shared objects linked into the library folder, which libtensorflow's RUNPATH ($ORIGIN/) searches
// when it loads CUDA. Only the host's NVIDIA driver (libcuda.so.1) must come from outside.
// scripts/gpu-check.sh checks that path end to end on a machine with a GPU; docker/ uses it.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const NATIVE = {
  pkg: process.env.TFJS_PKG ?? '@tensorflow/tfjs-node',
  wheel: process.env.TF_WHEEL ?? 'tensorflow-cpu',
  tfVersion: process.env.TF_VERSION ?? '2.18.1',
  /** N-API version the addon is built for: the package's highest (`binary.napi_versions`). */
  napi: 8,
};

const cacheRoot = () => join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'polca', 'libtensorflow');
const pkgDir = () => join(root, 'node_modules', ...NATIVE.pkg.split('/'));
const log = (msg) => process.stderr.write(`${msg}\n`);

function pkgVersion() {
  return JSON.parse(readFileSync(join(pkgDir(), 'package.json'), 'utf8')).version;
}

/** Where the libraries of this wheel live, and where the addon built for this Node and package lives. */
function paths() {
  const libDir = join(cacheRoot(), `${NATIVE.wheel}-${NATIVE.tfVersion}`);
  const tag = `${NATIVE.pkg.replace('/', '+')}-${pkgVersion()}-napi${NATIVE.napi}-node${process.versions.modules}`;
  return {
    libDir,
    addon: join(libDir, 'addons', tag, 'tfjs_binding.node'),
    failed: join(libDir, `failed-${tag}.txt`),
    target: join(pkgDir(), 'lib', `napi-v${NATIVE.napi}`, 'tfjs_binding.node'),
  };
}

/** The addon and its libraries are in place in node_modules (a cheap check; no loading). */
export function nativeInstalled() {
  if (!existsSync(join(pkgDir(), 'package.json'))) return false;
  const p = paths();
  return existsSync(p.target) && existsSync(join(pkgDir(), 'deps', 'lib', 'libtensorflow.so'));
}

function nodeHeaders() {
  for (const dir of [process.env.NODEDIR, join(dirname(process.execPath), '..'), '/usr', '/usr/local']) {
    if (dir && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

function has(cmd, args = ['--version']) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** Download the wheel (kept), extract the two libraries and the C-API headers. */
function fetchLibtensorflow(libDir) {
  if (existsSync(join(libDir, 'lib', 'libtensorflow_cc.so.2')) && existsSync(join(libDir, 'include', 'tensorflow', 'c', 'c_api.h'))) return;
  mkdirSync(libDir, { recursive: true });
  const prefix = `${NATIVE.wheel.replaceAll('-', '_')}-${NATIVE.tfVersion}-`;
  let wheel = readdirSync(libDir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  if (!wheel) {
    log(`native backend: downloading ${NATIVE.wheel}==${NATIVE.tfVersion} from PyPI (about 250 MB, once)…`);
    const r = spawnSync(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--implementation',
        'cp',
        '--python-version',
        '3.11',
        '--platform',
        'manylinux2014_x86_64',
        '-d',
        libDir,
        '--quiet',
        `${NATIVE.wheel}==${NATIVE.tfVersion}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    if (r.status !== 0)
      throw new Error(`pip download ${NATIVE.wheel}==${NATIVE.tfVersion} failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
    wheel = readdirSync(libDir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip download left no ${prefix}*.whl in ${libDir}`);
  }
  // Extract into a private folder, then rename: a killed extraction leaves nothing half-made.
  const tmp = join(libDir, `.extract-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const py = `
import sys, zipfile, os, shutil
whl, out = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
hdr = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/",
       "tensorflow/include/tsl/", "tensorflow/include/xla/tsl/c/", "tensorflow/include/xla/tsl/platform/")
found = set()
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n in libs:
            dst = os.path.join(out, "lib", os.path.basename(n)); found.add(n)
        elif n.startswith(hdr) and n.endswith(".h"):
            dst = os.path.join(out, "include", n[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(n) as src, open(dst, "wb") as f:
            shutil.copyfileobj(src, f, 1 << 20)
if libs - found:
    sys.exit("the wheel lacks %s" % sorted(libs - found))
`;
  execFileSync('python3', ['-c', py, join(libDir, wheel), tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  // binding.gyp links -ltensorflow and -ltensorflow_framework.
  symlinkSync('libtensorflow_cc.so.2', join(tmp, 'lib', 'libtensorflow.so'));
  symlinkSync('libtensorflow_framework.so.2', join(tmp, 'lib', 'libtensorflow_framework.so'));
  for (const d of ['lib', 'include']) {
    rmSync(join(libDir, d), { recursive: true, force: true });
    renameSync(join(tmp, d), join(libDir, d));
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** For the CUDA build: the nvidia-*-cu12 wheels the TensorFlow wheel pins, linked beside its libraries. */
function fetchCudaLibraries(libDir) {
  if (!NATIVE.pkg.endsWith('-gpu')) return;
  const marker = join(libDir, 'lib', '.cuda-linked');
  if (existsSync(marker)) return;
  const prefix = `${NATIVE.wheel.replaceAll('-', '_')}-${NATIVE.tfVersion}-`;
  const wheel = readdirSync(libDir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  const pins = execFileSync(
    'python3',
    [
      '-c',
      `import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
for line in z.read(meta).decode().splitlines():
    m = re.match(r'Requires-Dist: (nvidia-[^;]+);.*extra == "and-cuda"', line)
    if m: print(m.group(1).replace(' ', ''))`,
      join(libDir, wheel),
    ],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')
    .filter(Boolean);
  if (pins.length === 0) throw new Error(`${wheel} pins no nvidia-* wheels under its and-cuda extra`);
  log(`native backend: installing ${pins.length} CUDA wheels (${pins.join(', ')}) from PyPI, once…`);
  const target = join(libDir, 'site');
  const r = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--no-deps', '--only-binary=:all:', '--target', target, ...pins], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`pip install of the CUDA wheels failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  const nvidia = join(target, 'nvidia');
  for (const pkg of readdirSync(nvidia)) {
    const lib = join(nvidia, pkg, 'lib');
    if (!existsSync(lib)) continue;
    for (const f of readdirSync(lib))
      if (/\.so(\.|$)/.test(f) && !existsSync(join(libDir, 'lib', f))) symlinkSync(join(lib, f), join(libDir, 'lib', f));
  }
  writeFileSync(marker, `${pins.join('\n')}\n`);
}

/** Point the package's deps/ at the cached libraries. */
function linkDeps(libDir) {
  const deps = join(pkgDir(), 'deps');
  try {
    if (lstatSync(deps).isSymbolicLink() && readlinkSync(deps) === libDir) return;
  } catch {
    // absent
  }
  rmSync(deps, { recursive: true, force: true });
  symlinkSync(libDir, deps);
}

/** Compile tfjs_binding.node with npm's bundled node-gyp (no Node headers download: --nodedir). */
function buildAddon(addon) {
  const nodedir = nodeHeaders();
  if (!nodedir) throw new Error('no Node headers (include/node/node_api.h; Debian: apt-get install libnode-dev, or set NODEDIR)');
  if (!has('g++') || !has('make')) throw new Error('no C++ compiler (g++ and make; Debian: apt-get install build-essential)');
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const gyp = join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(gyp)) throw new Error(`npm's bundled node-gyp is not at ${gyp}`);
  log(`native backend: compiling tfjs_binding.node against libtensorflow ${NATIVE.tfVersion} (about a minute, once)…`);
  const build = join(pkgDir(), 'lib', `napi-v${NATIVE.napi}`);
  const r = spawnSync(
    process.execPath,
    [
      gyp,
      'rebuild',
      `--nodedir=${nodedir}`,
      '--module_name=tfjs_binding',
      `--module_path=${build}`,
      `--napi_build_version=${NATIVE.napi}`,
      `--jobs=${process.env.JOBS ?? 'max'}`,
    ],
    { cwd: pkgDir(), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`node-gyp failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  mkdirSync(dirname(addon), { recursive: true });
  copyFileSync(join(build, 'tfjs_binding.node'), `${addon}.tmp-${process.pid}`);
  renameSync(`${addon}.tmp-${process.pid}`, addon);
}

/** Load it in a child process: the backend must be `tensorflow` and a matmul must be right. */
function smokeTest() {
  const code = `const tf = require(${JSON.stringify(NATIVE.pkg)});
if (tf.getBackend() !== 'tensorflow') { console.error('backend is ' + tf.getBackend()); process.exit(1); }
const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
if (y[0] !== 17 || y[1] !== 39) { console.error('wrong matmul ' + y); process.exit(1); }
console.log(tf.backend().binding.TF_Version);`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status !== 0) throw new Error(`it does not load: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
  return r.stdout.trim();
}

/**
 * Make the native backend usable, idempotently. Returns true when it is in place; prints one line
 * and returns false when it cannot be here (the project then runs on wasm).
 */
export function ensureNativeBackend() {
  const forced = process.env.POLCA_BACKEND;
  if (forced === 'wasm' || forced === 'cpu') return false;
  if (!existsSync(join(pkgDir(), 'package.json'))) {
    log(`native backend: ${NATIVE.pkg} is not in node_modules (an optional dependency that was not installed); running on wasm`);
    return false;
  }
  if (nativeInstalled()) return true;
  const p = paths();
  if (existsSync(p.failed) && !process.env.POLCA_NATIVE_RETRY) {
    log(`native backend unavailable (${readFileSync(p.failed, 'utf8').trim()}); running on wasm`);
    return false;
  }
  try {
    if (process.platform !== 'linux' || process.arch !== 'x64')
      throw new Error(`only linux x86_64 has a libtensorflow wheel covered here, this is ${process.platform} ${process.arch}`);
    if (!has('python3', ['-m', 'pip', '--version'])) throw new Error('no python3 with pip to fetch the libtensorflow wheel');
    fetchLibtensorflow(p.libDir);
    fetchCudaLibraries(p.libDir);
    linkDeps(p.libDir);
    if (existsSync(p.addon)) {
      mkdirSync(dirname(p.target), { recursive: true });
      copyFileSync(p.addon, p.target);
    } else {
      buildAddon(p.addon);
    }
    const version = smokeTest();
    log(`native backend: ${NATIVE.pkg} on libtensorflow ${version} (from PyPI ${NATIVE.wheel}==${NATIVE.tfVersion})`);
    rmSync(p.failed, { force: true });
    return true;
  } catch (e) {
    rmSync(p.target, { force: true });
    const why = e instanceof Error ? e.message : String(e);
    mkdirSync(dirname(p.failed), { recursive: true });
    writeFileSync(p.failed, `${why}\n`);
    log(`native backend unavailable (${why}); running on wasm`);
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(ensureNativeBackend() ? 0 : 1);
