/**
 * The Python environment of the peers (bench/peers.py on PyTorch, bench/peers_jax.py on JAX): a
 * virtual environment under the user's cache directory (`$POLCA_PEERS_VENV`, else
 * `$XDG_CACHE_HOME/polca/venv-peers`, else `~/.cache/polca/venv-peers`) with torch and CPU jax
 * (jax with jaxlib, whose PyPI wheels are the CPU build) from PyPI at pinned versions, made once
 * and reused.
 *
 * PyPI serves no CPU-only torch for Linux x86-64 (the `+cpu` builds live on PyTorch's own index):
 * the wheel there is the CUDA build, whose libraries (libtorch_cuda.so, linked by libtorch.so)
 * need the CUDA runtime, cuBLAS, cuDNN, NCCL … at load time, so `--no-deps` does not import. The
 * environment therefore holds the default wheel with its NVIDIA dependencies (about 5 GB on disk;
 * the size is printed after install); the bench runs it on the CPU only. numpy comes along only to
 * keep torch from warning at import; the peer does not use it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const TORCH_VERSION = '2.15.0';
export const JAX_VERSION = '0.10.2';
const STAMP = 'polca-peers.json';

export function peersVenvDir(): string {
  if (process.env.POLCA_PEERS_VENV) return process.env.POLCA_PEERS_VENV;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'polca', 'venv-peers');
}

/** The environment's python when a finished install of the pinned torch and jax is there; never installs. */
export function peersPython(dir = peersVenvDir()): string | undefined {
  const python = join(dir, 'bin', 'python');
  if (!existsSync(python) || !existsSync(join(dir, STAMP))) return undefined;
  try {
    const stamp = JSON.parse(readFileSync(join(dir, STAMP), 'utf8')) as { torch?: string; jax?: string };
    return stamp.torch?.split('+')[0] === TORCH_VERSION && stamp.jax === JAX_VERSION ? python : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (${cmd} ${args.join(' ')}, exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout || '').slice(-2000)}`,
    );
  }
  return r.stdout;
}

/**
 * The environment's python, installing torch and jax first when they are missing (minutes: about
 * 3 GB to download). The base interpreter is `$POLCA_PYTHON` or `python3`.
 */
export function ensurePeersPython(log: (line: string) => void = console.log): string {
  const dir = peersVenvDir();
  const ready = peersPython(dir);
  if (ready) return ready;
  const base = process.env.POLCA_PYTHON || 'python3';
  log(
    `installing torch==${TORCH_VERSION} and jax==${JAX_VERSION} from PyPI into ${dir} (once; torch's default wheel with its CUDA libraries)`,
  );
  const t0 = performance.now();
  if (!existsSync(join(dir, 'bin', 'python'))) run(base, ['-m', 'venv', dir], `creating the virtual environment with ${base}`);
  const python = join(dir, 'bin', 'python');
  run(
    python,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--progress-bar',
      'off',
      `torch==${TORCH_VERSION}`,
      `jax==${JAX_VERSION}`,
      `jaxlib==${JAX_VERSION}`,
      'numpy',
    ],
    'pip install torch jax',
  );
  const version = run(python, ['-c', 'import torch; print(torch.__version__)'], 'importing torch').trim();
  if (version.split('+')[0] !== TORCH_VERSION) throw new Error(`torch in ${dir} reports version ${version}, expected ${TORCH_VERSION}`);
  const jax = run(python, ['-c', 'import jax; print(jax.__version__)'], 'importing jax').trim();
  if (jax !== JAX_VERSION) throw new Error(`jax in ${dir} reports version ${jax}, expected ${JAX_VERSION}`);
  const bytes = Number(run('du', ['-sb', dir], 'measuring the environment').split(/\s/)[0]);
  writeFileSync(join(dir, STAMP), `${JSON.stringify({ torch: version, jax, bytes, installed: new Date().toISOString() })}\n`);
  log(
    `torch ${version} and jax ${jax} installed in ${((performance.now() - t0) / 1000).toFixed(0)} s; the environment takes ${(bytes / 2 ** 30).toFixed(2)} GiB`,
  );
  return python;
}

/** Size of the environment in bytes as measured at install time (undefined when unknown). */
export function peersVenvBytes(dir = peersVenvDir()): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, STAMP), 'utf8')) as { bytes?: number }).bytes;
  } catch {
    return undefined;
  }
}
