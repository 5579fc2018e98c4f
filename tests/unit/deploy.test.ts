/**
 * The Docker deployment (docker/Dockerfile, docker/compose.yaml, docker/compose.gpu.yaml,
 * docker/.env.example, .dockerignore) checked against the code it deploys: the variable names
 * and defaults come from services/env.ts, artifacts/index.ts (storeOptionsFromEnv) and the AWS
 * SDK, the ports from services/manager.ts, the verb from the commander program, the install
 * command from scripts/setup.mjs. No Docker engine is needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENV_KEY, ENV_SECRET } from '@aws-sdk/credential-provider-env';
import { parse } from 'yaml';
import { storeOptionsFromEnv } from '../../artifacts/index.ts';
import { DEFAULT_PORTS } from '../../services/manager.ts';
import {
  DEFAULT_BUCKET,
  DEFAULT_NAMESPACE,
  DEFAULT_TASK_QUEUE,
  defaultWorkerConcurrency,
  ENV,
  namespace,
  taskQueue,
  workerConcurrency,
} from '../../services/env.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

type Env = Record<string, string | undefined>;
interface Service {
  image?: string;
  build?: {
    context?: string;
    dockerfile?: string;
    args?: Record<string, string>;
  };
  command?: string[] | string;
  entrypoint?: string[] | string;
  container_name?: string;
  ports?: (string | { published?: string | number; target?: number })[];
  environment?: Record<string, string | number | null> | string[];
  env_file?: unknown;
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
}

const compose = parse(read('docker/compose.yaml')) as Compose;
const gpu = parse(read('docker/compose.gpu.yaml')) as Compose;
const workersOnly = parse(read('docker/compose.workers.yaml')) as Compose;
const dockerfile = read('docker/Dockerfile');

// ---- Compose variable interpolation (the subset the Compose spec defines) ----------------------

interface VarRef {
  name: string;
  /** `:-` / `-` default, `:?` / `?` required, or none. */
  op?: ':-' | '-' | ':?' | '?';
  arg?: string;
}

const REF_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Variables referenced (for interpolation by Compose; `$$` is a literal `$` for the container). */
function refs(value: string): VarRef[] {
  const out: VarRef[] = [];
  for (const m of value.matchAll(REF_RE)) {
    if (m[0] === '$$') continue;
    out.push(m[4] ? { name: m[4] } : { name: m[1], op: m[2] as VarRef['op'], arg: m[3] });
  }
  return out;
}

/** Interpolate as `docker compose` does; throws on a missing required variable. */
function interpolate(value: string, env: Env): string {
  return value.replace(REF_RE, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const v = env[name];
    switch (op) {
      case ':-':
        return v ? v : (arg ?? '');
      case '-':
        return v === undefined ? (arg ?? '') : v;
      case ':?':
        if (!v) throw new Error(`required variable ${name} is missing: ${arg}`);
        return v;
      case '?':
        if (v === undefined) throw new Error(`required variable ${name} is missing: ${arg}`);
        return v;
      default:
        return v ?? '';
    }
  });
}

function environmentOf(svc: Service): Record<string, string> {
  const e = svc.environment ?? {};
  if (Array.isArray(e)) {
    return Object.fromEntries(e.map((kv) => [kv.split('=')[0], kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : '']));
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** `KEY=VALUE` lines of an env file; with `commented`, also `#KEY=VALUE` (documented optional settings). */
function parseEnvFile(text: string, commented = false): Env {
  const out: Env = {};
  for (const line of text.split('\n')) {
    const m = (commented ? /^#?([A-Z_][A-Z0-9_]*)=(.*)$/ : /^([A-Z_][A-Z0-9_]*)=(.*)$/).exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const envExample = parseEnvFile(read('docker/.env.example'));
const envExampleAll = parseEnvFile(read('docker/.env.example'), true);

/** The worker's environment as the container would see it, with docker/.env.example as docker/.env. */
function workerEnv(file: Compose = compose, env: Env = envExample): Env {
  const resolved: Env = {};
  for (const [k, v] of Object.entries(environmentOf(file.services.worker))) resolved[k] = interpolate(v, env);
  return resolved;
}

/** Host port published for a container port: the default of its `${VAR:-N}` or the literal. */
function hostPort(svc: Service, containerPort: number): number | undefined {
  for (const p of svc.ports ?? []) {
    const s = String(typeof p === 'string' ? p : `${p.published}:${p.target}`);
    const i = s.lastIndexOf(':');
    if (Number(s.slice(i + 1)) !== containerPort) continue;
    return Number(interpolate(s.slice(0, i), {}));
  }
  return undefined;
}

/** Instructions of the Dockerfile (continuation lines joined, comments dropped), per stage. */
function dockerInstructions(text: string): { stage: string; op: string; args: string }[] {
  const out: { stage: string; op: string; args: string }[] = [];
  let stage = '';
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'FROM') stage = /\bAS\s+(\S+)/i.exec(m[2])?.[1] ?? '';
    out.push({ stage, op: m[1], args: m[2] });
  }
  return out;
}

const instructions = dockerInstructions(dockerfile);
const finalStage = instructions.filter((i) => i.op === 'FROM').at(-1)?.stage as string;
const finalOf = (op: string) => instructions.filter((i) => i.stage === finalStage && i.op === op);

// ---- the names the worker reads -----------------------------------------------------------------

/** ENV names that only concern the local services or a local-directory store, not an S3 worker. */
const NOT_FOR_S3_WORKERS: Record<string, string> = {
  [ENV.cacheDir]: 'cache of the Go-built local service binaries',
  [ENV.temporalBin]: 'local Temporal dev server binary',
  [ENV.minioBin]: 'local MinIO binary',
  [ENV.storeDir]: 'local-directory store (the workers use POLCA_STORE=s3)',
};

/** Every name storeOptionsFromEnv reads when the store is S3 (recorded, not copied). */
function namesReadByStoreOptions(): string[] {
  const seen = new Set<string>();
  const env = new Proxy({ POLCA_STORE: 's3' } as NodeJS.ProcessEnv, {
    get(target, key) {
      if (typeof key === 'string') seen.add(key);
      return target[key as string];
    },
  });
  storeOptionsFromEnv(env);
  return [...seen];
}

describe('docker/compose.yaml: the worker service', () => {
  const worker = compose.services.worker;
  const env = environmentOf(worker);

  test('sets every variable the worker reads (services/env.ts, storeOptionsFromEnv, AWS SDK credentials)', () => {
    for (const name of Object.keys(NOT_FOR_S3_WORKERS)) {
      assert.ok(Object.values(ENV).includes(name as never), `${name} is no longer in services/env.ts ENV`);
    }
    const storeNames = namesReadByStoreOptions();
    assert.ok(storeNames.includes('POLCA_S3_ENDPOINT') && storeNames.includes('AWS_REGION'), `recorded ${storeNames}`);
    const required = new Set([...Object.values(ENV), ...storeNames, ENV_KEY, ENV_SECRET]);
    for (const name of Object.keys(NOT_FOR_S3_WORKERS)) required.delete(name);
    const missing = [...required].filter((n) => !(n in env));
    assert.deepEqual(missing, [], `worker environment lacks ${missing.join(', ')}`);
  });

  test('sets no POLCA_* name the code does not define', () => {
    const known = new Set<string>(Object.values(ENV));
    const unknown = Object.keys(env).filter((k) => k.startsWith('POLCA_') && !known.has(k));
    assert.deepEqual(unknown, []);
  });

  test('resolves (with .env.example as docker/.env) to an S3 store on the bundled MinIO and the code defaults', () => {
    const e = workerEnv();
    const store = storeOptionsFromEnv(e as NodeJS.ProcessEnv);
    assert.equal(store.kind, 's3');
    assert.equal(store.bucket, DEFAULT_BUCKET);
    assert.equal(store.prefix, '');
    assert.equal(taskQueue(e as NodeJS.ProcessEnv), DEFAULT_TASK_QUEUE);
    assert.equal(namespace(e as NodeJS.ProcessEnv), DEFAULT_NAMESPACE);
    assert.equal(workerConcurrency(e as NodeJS.ProcessEnv), undefined);
    // the endpoint and the Temporal address name compose services on the ports they listen on
    const endpoint = new URL(store.endpoint as string);
    assert.ok(compose.services[endpoint.hostname], `no service ${endpoint.hostname}`);
    assert.equal(Number(endpoint.port), 9000);
    assert.ok(hostPort(compose.services[endpoint.hostname], Number(endpoint.port)) !== undefined);
    const [host, port] = (e.TEMPORAL_ADDRESS as string).split(':');
    assert.ok(compose.services[host], `no service ${host}`);
    assert.ok(hostPort(compose.services[host], Number(port)) !== undefined, `${host} does not listen on ${port}`);
    // an empty TEMPORAL_API_KEY is the "no API key" case; an empty POLCA_S3_ENDPOINT means AWS S3
    assert.equal(e.TEMPORAL_API_KEY, '');
    const aws = storeOptionsFromEnv(
      workerEnv(compose, {
        ...envExample,
        POLCA_S3_ENDPOINT: '',
      }) as NodeJS.ProcessEnv,
    );
    assert.equal(aws.endpoint, undefined);
  });

  test('POLCA_WORKER_CONCURRENCY: a positive integer, the backend default when unset or empty', () => {
    assert.equal(workerConcurrency({}), undefined);
    assert.equal(workerConcurrency({ POLCA_WORKER_CONCURRENCY: '' }), undefined);
    assert.equal(defaultWorkerConcurrency('tensorflow', 2), 2);
    assert.equal(defaultWorkerConcurrency('wasm', 2), 2);
    assert.equal(defaultWorkerConcurrency('cpu', 1), 1);
    assert.equal(workerConcurrency({ POLCA_WORKER_CONCURRENCY: '4' }), 4);
    for (const bad of ['0', '-1', '1.5', 'four']) {
      assert.throws(() => workerConcurrency({ POLCA_WORKER_CONCURRENCY: bad }), /^Error: POLCA_WORKER_CONCURRENCY: /);
    }
  });

  test('POLCA_BACKEND values are backends core/model/backend.ts accepts', async () => {
    const { BACKEND_PREFS } = await import('../../core/model/backend.ts');
    assert.ok(BACKEND_PREFS.includes(workerEnv().POLCA_BACKEND as never), workerEnv().POLCA_BACKEND);
    const gpuEnv = environmentOf(gpu.services.worker);
    assert.ok(BACKEND_PREFS.includes(gpuEnv.POLCA_BACKEND as never), gpuEnv.POLCA_BACKEND);
  });

  test('is scalable: built from docker/Dockerfile, no container_name, no published ports', () => {
    assert.equal(worker.container_name, undefined);
    assert.equal(worker.ports, undefined);
    assert.equal(worker.build?.dockerfile, 'docker/Dockerfile');
    assert.equal(join(root, 'docker', worker.build?.context as string), root);
    assert.ok(existsSync(join(root, worker.build?.context as string, '.dockerignore')) || existsSync(join(root, '.dockerignore')));
    for (const dep of Object.keys(worker.depends_on ?? {})) assert.ok(compose.services[dep], `depends on unknown ${dep}`);
  });

  test('runs a real polca verb through the entry the repository uses', async () => {
    const entrypoint = JSON.parse(finalOf('ENTRYPOINT')[0].args) as string[];
    const pkg = JSON.parse(read('package.json')) as {
      bin: Record<string, string>;
    };
    assert.deepEqual(entrypoint, ['node', pkg.bin.polca]);
    const cmd = JSON.parse(finalOf('CMD')[0].args) as string[];
    assert.deepEqual(worker.command, cmd, 'compose command and Dockerfile CMD differ');
    let buildProgram: typeof import('../../cli/index.ts').buildProgram;
    try {
      ({ buildProgram } = await import('../../cli/index.ts'));
    } catch (e) {
      assert.fail(`cli/index.ts does not load yet: ${(e as Error).message}`);
    }
    const program = buildProgram();
    const verb = program.commands.find((c) => c.name() === cmd[0] || c.aliases().includes(cmd[0]));
    assert.ok(verb, `polca has no command ${cmd[0]}; it has ${program.commands.map((c) => c.name()).join(', ')}`);
    const flags = cmd.slice(1).filter((a) => a.startsWith('-'));
    for (const f of flags)
      assert.ok(
        verb.options.some((o) => o.long === f.split('=')[0] || o.short === f),
        `unknown option ${f}`,
      );
  });
});

describe('docker/compose.yaml: services', () => {
  test('host ports default to the ports of `polca services` (services/manager.ts DEFAULT_PORTS)', () => {
    assert.equal(hostPort(compose.services.temporal, 7233), DEFAULT_PORTS.temporal);
    assert.equal(hostPort(compose.services['temporal-ui'], 8080), DEFAULT_PORTS.ui);
    assert.equal(hostPort(compose.services.minio, 9000), DEFAULT_PORTS.minio);
    assert.ok(compose.services.minio.command?.includes('/data'));
  });

  test('the bucket job and the worker use the same bucket and credentials variables', () => {
    const setup = environmentOf(compose.services['minio-setup']);
    const worker = environmentOf(compose.services.worker);
    for (const k of ['POLCA_S3_BUCKET', ENV_KEY, ENV_SECRET]) assert.equal(setup[k], worker[k], k);
    const script = String(compose.services['minio-setup'].command);
    assert.match(script, /mc mb --ignore-existing "store\/\$\$\{POLCA_S3_BUCKET\}"/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose syntax, not a template
    assert.equal(interpolate('$${POLCA_S3_BUCKET}', {}), '${POLCA_S3_BUCKET}', 'container-side reference survives interpolation');
  });

  test('the one-shot jobs are valid sh scripts once Compose has turned $$ into $', () => {
    let scripts = 0;
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!Array.isArray(svc.entrypoint) || svc.entrypoint.join(' ') !== '/bin/sh -c') continue;
      const script = interpolate(String((svc.command as string[])[0]), {});
      const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      scripts++;
    }
    assert.equal(scripts, 3);
  });

  test('every image is pinned to a version tag', () => {
    for (const file of [compose, gpu, workersOnly]) {
      for (const [name, svc] of Object.entries(file.services)) {
        if (!svc.image || svc.build) continue;
        const tag = /:([^/:]+)$/.exec(svc.image)?.[1];
        assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: ${svc.image} is not pinned`);
      }
    }
    for (const m of dockerfile.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)) {
      assert.match(m[2], /:[^:]*\d[^:]*$/, `${m[1]}=${m[2]} is not pinned`);
    }
  });

  test('secrets are never inlined: only $VAR references, and every one is in docker/.env.example', () => {
    const SECRET = /PASSWORD|PWD|SECRET|API_KEY|ACCESS_KEY|ROOT_USER|TOKEN/;
    let checked = 0;
    for (const file of [compose, gpu, workersOnly]) {
      for (const [name, svc] of Object.entries(file.services)) {
        assert.equal(svc.env_file, undefined, `${name}: env_file would pass every variable of the file`);
        for (const [k, v] of Object.entries(environmentOf(svc))) {
          if (!SECRET.test(k)) continue;
          checked++;
          const r = refs(v);
          assert.ok(/^\$\{[^}]+\}$/.test(v) && r.length === 1, `${name}.${k} is not a single \${VAR} reference: ${v}`);
          assert.ok(r[0].op === undefined || r[0].op === ':?' || r[0].op === '?' || r[0].arg === '', `${name}.${k} has a default`);
          assert.ok(r[0].name in envExample, `${r[0].name} is not in docker/.env.example`);
        }
      }
    }
    assert.ok(checked >= 8, `only ${checked} secret settings found`);
    // and the example's placeholder secrets appear nowhere in the compose files
    const text = read('docker/compose.yaml') + read('docker/compose.gpu.yaml') + read('docker/compose.workers.yaml');
    for (const [k, v] of Object.entries(envExample)) {
      if (/PASSWORD|SECRET/.test(k)) {
        assert.match(v as string, /change-me/, `${k} in .env.example is not a placeholder`);
        assert.ok(!text.includes(v as string), `${k}'s value appears in a compose file`);
      }
    }
  });

  test('every variable compose needs without a default is documented in docker/.env.example', () => {
    const text = read('docker/compose.yaml');
    // only interpolated values (comments excluded): walk the parsed document
    const names = new Set<string>();
    const walk = (v: unknown): void => {
      if (typeof v === 'string') for (const r of refs(v)) names.add(`${r.name}\0${r.op ?? ''}`);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(parse(text));
    const undocumented = [...names]
      .map((n) => n.split('\0'))
      .filter(([, op]) => op === '' || op === ':?' || op === '?')
      .map(([n]) => n)
      .filter((n) => !(n in envExampleAll));
    assert.deepEqual(undocumented, []);
    // .env.example with its documented defaults uncommented still satisfies every `:?`
    for (const svc of Object.values(compose.services)) {
      for (const v of Object.values(environmentOf(svc))) interpolate(v, envExampleAll);
    }
    assert.throws(() => workerEnv(compose, {}), /required variable AWS_ACCESS_KEY_ID/);
  });
});

describe('docker/compose.workers.yaml: workers joining a deployment elsewhere', () => {
  const w = workersOnly.services.worker;

  test('is the worker of compose.yaml without the central services', () => {
    assert.deepEqual(Object.keys(workersOnly.services), ['worker']);
    const main = compose.services.worker;
    assert.deepEqual(Object.keys(environmentOf(w)).sort(), Object.keys(environmentOf(main)).sort());
    assert.deepEqual(w.build, main.build);
    assert.deepEqual(w.command, main.command);
    assert.equal(w.image, main.image);
    assert.equal(w.depends_on, undefined);
    assert.equal(w.container_name, undefined);
    assert.equal(w.ports, undefined);
    const same = ['POLCA_STORE', 'POLCA_HOME', 'POLCA_TASK_QUEUE', 'POLCA_WORKER_CONCURRENCY', 'POLCA_S3_BUCKET', ENV_KEY, ENV_SECRET];
    for (const k of same) assert.equal(environmentOf(w)[k], environmentOf(main)[k], k);
  });

  test("needs only the addresses and the workers' S3 key, and requires the addresses", () => {
    const hostEnv = {
      TEMPORAL_ADDRESS: 'central.example.internal:7233',
      POLCA_S3_ENDPOINT: 'http://central.example.internal:9000',
      AWS_ACCESS_KEY_ID: 'polca-worker',
      AWS_SECRET_ACCESS_KEY: 'x',
    };
    const e = workerEnv(workersOnly, hostEnv);
    assert.equal(e.TEMPORAL_ADDRESS, hostEnv.TEMPORAL_ADDRESS);
    const store = storeOptionsFromEnv(e as NodeJS.ProcessEnv);
    assert.equal(store.kind, 's3');
    assert.equal(store.endpoint, hostEnv.POLCA_S3_ENDPOINT);
    assert.equal(
      storeOptionsFromEnv(workerEnv(workersOnly, { ...hostEnv, POLCA_S3_ENDPOINT: '' }) as NodeJS.ProcessEnv).endpoint,
      undefined,
    );
    const { TEMPORAL_ADDRESS: _a, ...noTemporal } = hostEnv;
    assert.throws(() => workerEnv(workersOnly, noTemporal), /required variable TEMPORAL_ADDRESS/);
    const { POLCA_S3_ENDPOINT: _b, ...noEndpoint } = hostEnv;
    assert.throws(() => workerEnv(workersOnly, noEndpoint), /required variable POLCA_S3_ENDPOINT/);
    assert.doesNotMatch(read('docker/compose.workers.yaml').replace(/^#.*$/gm, ''), /POSTGRES|MINIO_ROOT/);
  });
});

describe('docker/Dockerfile', () => {
  test('installs with the command scripts/setup.mjs (npm test, .ci/run) uses, without devDependencies', () => {
    assert.match(read('.ci/run'), /^npm test$/m);
    assert.equal((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.test, 'node scripts/test.mjs');
    assert.match(read('scripts/test.mjs'), /ensureNodeModules\(\)/);
    const setup = read('scripts/setup.mjs');
    const m = /spawnSync\('npm', \[([^\]]*)\]/.exec(setup);
    assert.ok(m, 'no npm invocation in scripts/setup.mjs');
    const args = [...(m[1].matchAll(/'([^']*)'/g) ?? [])].map((x) => x[1]);
    assert.equal(args[0], 'ci');
    const runs = instructions.filter((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    assert.equal(runs.length, 1, 'exactly one npm ci');
    const words = runs[0].args.split(/\s+/);
    const at = words.indexOf('ci');
    assert.equal(words[at - 1], 'npm');
    const dockerArgs = words.slice(at).filter((w) => w === 'ci' || w.startsWith('--'));
    assert.deepEqual(
      dockerArgs.filter((a) => a !== '--omit=dev'),
      args,
      'npm ci flags differ from scripts/setup.mjs',
    );
    assert.ok(dockerArgs.includes('--omit=dev'));
  });

  test('marks node_modules current for the freshness check bin/polca.mjs runs', () => {
    const setup = read('scripts/setup.mjs');
    assert.match(setup, /join\(root, 'node_modules', '\.package-lock\.json'\)/);
    assert.match(read('bin/polca.mjs'), /ensureNodeModules\(\)/);
    const build = instructions.filter((i) => i.stage === 'build');
    const lastNpm = build.map((i) => /\bnpm (ci|install)\b/.test(i.args)).lastIndexOf(true);
    const lastCopy = build.map((i) => i.op === 'COPY').lastIndexOf(true);
    const touch = build.findIndex((i) => i.op === 'RUN' && /touch node_modules\/\.package-lock\.json/.test(i.args));
    assert.ok(touch > lastNpm && touch > lastCopy, 'the touch must follow every npm install and the source COPY');
    assert.ok(
      finalOf('COPY').some((i) => /--from=build \/app \/app/.test(i.args)),
      'runtime copies /app from build as a whole',
    );
  });

  test('runs as a non-root user on Node >= the engines minimum, with one base stage per TFJS_BACKEND', () => {
    const user = finalOf('USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `final USER is ${user}`);
    const pkg = JSON.parse(read('package.json')) as {
      engines: { node: string };
    };
    const [minMajor, minMinor] = (/>=(\d+)\.(\d+)/.exec(pkg.engines.node) as RegExpExecArray).slice(1).map(Number);
    const node = /^ARG NODE_IMAGE=node:(\d+)\.(\d+)\.\d+/m.exec(dockerfile);
    assert.ok(node, 'NODE_IMAGE is not a node:<x.y.z> tag');
    const [major, minor] = [Number(node[1]), Number(node[2])];
    assert.ok(major === minMajor && minor >= minMinor, `node ${major}.${minor} vs engines ${pkg.engines.node}`);
    assert.match(dockerfile, /^ARG TFJS_BACKEND=wasm$/m);
    const stages = new Set(instructions.filter((i) => i.op === 'FROM').map((i) => i.stage));
    for (const b of ['wasm', 'tfjs-node', 'tfjs-node-gpu']) assert.ok(stages.has(`base-${b}`), `no stage base-${b}`);
    assert.match(dockerfile, /^FROM base-\$\{TFJS_BACKEND\} AS base$/m);
    // every base stage fixes the backend, so a container never installs one at start-up
    for (const b of ['wasm', 'tfjs-node', 'tfjs-node-gpu']) {
      const env = instructions.filter((i) => i.stage === `base-${b}` && i.op === 'ENV').map((i) => i.args);
      assert.deepEqual(env, [`POLCA_BACKEND=${b === 'wasm' ? 'wasm' : 'tensorflow'}`], `base-${b}`);
    }
    // the native variants are built by the same script as `npm test` and `polca run` use
    assert.match(dockerfile, /tfjs-node\) node scripts\/native\.mjs/);
    assert.match(dockerfile, /TFJS_PKG=@tensorflow\/tfjs-node-gpu TF_WHEEL=tensorflow node scripts\/native\.mjs/);
    assert.equal(gpu.services.worker.build?.args?.TFJS_BACKEND, 'tfjs-node-gpu');
  });

  test('every package the worker imports at run time is a dependency, not a devDependency', () => {
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // installed by the Dockerfile for the native variants only, imported when present
    const optionalNative = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
    const builtins = new Set(builtinModules);
    const files: string[] = ['bin/polca.mjs', 'scripts/setup.mjs'];
    const walk = (dir: string) => {
      if (!existsSync(join(root, dir))) return;
      for (const f of readdirSync(join(root, dir))) {
        const p = join(dir, f);
        if (statSync(join(root, p)).isDirectory()) walk(p);
        else if (/\.(ts|mjs|js)$/.test(f) && !/\.test\.ts$/.test(f)) files.push(p);
      }
    };
    // every top-level source folder the image carries, except the test, benchmark and script folders
    const notRuntime = new Set(['node_modules', 'tests', 'bench', 'scripts', 'docs', 'docker', 'test-output']);
    for (const d of readdirSync(root)) {
      if (!d.startsWith('.') && !notRuntime.has(d) && statSync(join(root, d)).isDirectory()) walk(d);
    }
    assert.ok(files.some((f) => f.startsWith('worker/')) && files.some((f) => f.startsWith('cli/')));
    const wrong: string[] = [];
    for (const f of files) {
      // comments and type-only imports (erased at run time) dropped
      const src = readFileSync(join(root, f), 'utf8')
        .replace(/^\s*(\/\/|\*).*$/gm, '')
        .replace(/^\s*(import|export)\s+type\b[^;]*;/gm, '');
      for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)(['"])([^'".][^'"]*)\1/g)) {
        const spec = m[2];
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (optionalNative.has(name) || name in pkg.dependencies) continue;
        wrong.push(
          `${relative(root, join(root, f))}: ${name}${name in pkg.devDependencies ? ' (devDependency)' : ' (not in package.json)'}`,
        );
      }
    }
    assert.ok(files.length > 20, `only ${files.length} source files found`);
    assert.deepEqual(wrong, []);
  });
});

describe('.dockerignore and .gitignore', () => {
  const lines = (p: string) =>
    read(p)
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .filter((l) => l && !l.startsWith('#'));

  test('the build context leaves out node_modules, .polca, test-output and docker/.env', () => {
    const ignore = lines('.dockerignore');
    for (const p of ['node_modules', '.polca', 'test-output', 'docker/.env']) assert.ok(ignore.includes(p), p);
    assert.ok(!ignore.some((l) => ['bin', 'cli', 'core', 'scripts', 'workflows', 'activities', 'package-lock.json'].includes(l)));
  });

  test('docker/.env is git-ignored and docker/.env.example is not', () => {
    const ignore = lines('.gitignore');
    assert.ok(ignore.includes('docker/.env'));
    assert.ok(!ignore.includes('docker/.env.example') && !ignore.includes('*.example'));
  });
});
