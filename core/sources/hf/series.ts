/**
 * A series of Hugging Face checkpoints on disk, in training order, and each checkpoint read as
 * polca's model shape and flat θ (core/sources/hf/config.ts, weights.ts). Three layouts:
 *   folder     a directory with one sub-directory per checkpoint, named stepN, step-N, step_N or
 *              checkpoint-N (the HF Trainer's name); N is the training step
 *   list       a JSON file [{"step": N, "path": "…"}, …]; paths relative to the file
 *   hub cache  the cache `from_pretrained` fills (HF_HUB_CACHE, ~/.cache/huggingface/hub):
 *              models--ORG--NAME/refs/<revision> holds a commit hash, snapshots/<hash>/ the files;
 *              selected by the model's name ORG/NAME and revisions named stepN (Pythia's), offline
 * Every checkpoint needs config.json and safetensors weights; all of a series must have one
 * config (the fields that give the shape and the architecture) — a checkpoint whose differ is
 * refused, naming the field. Duplicate steps and an empty series are refused. Reads files only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ModelShape } from '../../model/layout.ts';
import type { SequenceShape } from '../../tasks/task.ts';
import { type HfModelSpec, readHfConfig } from './config.ts';
import { checkTensors, readCheckpointTensors, toTheta, weightFiles } from './weights.ts';

export interface CheckpointRef {
  step: number;
  /** The folder name, list entry or revision it came from. */
  label: string;
  /** The directory holding config.json and the weights. */
  dir: string;
}

export type SeriesSource =
  | { layout: 'folder'; path: string }
  | { layout: 'list'; path: string }
  | { layout: 'hub-cache'; cacheDir: string; model: string; revisions: string[] };

const STEP_NAME = /^(?:step|checkpoint)[-_]?(\d+)$/;

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function ordered(refs: CheckpointRef[], where: string): CheckpointRef[] {
  if (refs.length === 0) throw new Error(`${where}: no checkpoints`);
  const sorted = [...refs].sort((a, b) => a.step - b.step);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].step === sorted[i - 1].step)
      throw new Error(
        `${where}: step ${sorted[i].step} is given twice (${sorted[i - 1].label}, ${sorted[i].label}); every checkpoint needs its own step`,
      );
  return sorted;
}

/** Checkpoint folders stepN / checkpoint-N under a directory, by step. */
export function folderSeries(path: string): CheckpointRef[] {
  if (!isDir(path)) throw new Error(`checkpoint folder ${path}: not a directory`);
  const refs: CheckpointRef[] = [];
  for (const name of readdirSync(path)) {
    const m = STEP_NAME.exec(name);
    if (m && isDir(join(path, name))) refs.push({ step: Number(m[1]), label: name, dir: join(path, name) });
  }
  if (refs.length === 0)
    throw new Error(
      `checkpoint folder ${path}: no sub-directories named stepN, step-N, step_N or checkpoint-N; give a list file [{step, path}] instead`,
    );
  return ordered(refs, `checkpoint folder ${path}`);
}

/** Checkpoints listed in a JSON file [{step, path}], by step. */
export function listSeries(file: string): CheckpointRef[] {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint list ${file}: not readable JSON (${(e as Error).message}); allowed: [{"step": N, "path": "dir"}, …]`);
  }
  if (!Array.isArray(list)) throw new Error(`checkpoint list ${file}: not an array; allowed: [{"step": N, "path": "dir"}, …]`);
  const refs = list.map((entry, i) => {
    const e = entry as { step?: unknown; path?: unknown };
    if (typeof e !== 'object' || e === null || !Number.isInteger(e.step) || (e.step as number) < 0)
      throw new Error(`checkpoint list ${file}: entry ${i} field "step" is ${JSON.stringify(e?.step)}; allowed: an integer ≥ 0`);
    if (typeof e.path !== 'string' || e.path === '')
      throw new Error(`checkpoint list ${file}: entry ${i} field "path" is ${JSON.stringify(e.path)}; allowed: a checkpoint directory`);
    const dir = isAbsolute(e.path) ? e.path : resolve(dirname(file), e.path);
    if (!isDir(dir)) throw new Error(`checkpoint list ${file}: entry ${i} field "path": ${dir} is not a directory`);
    return { step: e.step as number, label: e.path, dir };
  });
  return ordered(refs, `checkpoint list ${file}`);
}

/** The cache directory of a hub model ORG/NAME: models--ORG--NAME. */
export function hubRepoDir(cacheDir: string, model: string): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(model))
    throw new Error(`hub model ${JSON.stringify(model)}: allowed: a name ORG/NAME, e.g. EleutherAI/pythia-14m`);
  return join(cacheDir, `models--${model.replace('/', '--')}`);
}

/** Revisions stepN of a model in the hub cache, by step (offline: only what the cache holds). */
export function hubCacheSeries(cacheDir: string, model: string, revisions: readonly string[]): CheckpointRef[] {
  const repo = hubRepoDir(cacheDir, model);
  if (!isDir(repo))
    throw new Error(`hub cache ${cacheDir}: holds no ${model} (no ${repo}); download it once with from_pretrained or huggingface-cli`);
  const available = existsSync(join(repo, 'refs')) ? readdirSync(join(repo, 'refs')).sort() : [];
  const refs = revisions.map((rev) => {
    const m = STEP_NAME.exec(rev);
    if (!m)
      throw new Error(
        `hub revision ${JSON.stringify(rev)} of ${model}: allowed: names stepN (the training step), as Pythia's revisions are named`,
      );
    const refFile = join(repo, 'refs', rev);
    if (!existsSync(refFile))
      throw new Error(`hub cache: ${model} revision ${rev} is not in the cache (cached revisions: ${available.join(', ') || 'none'})`);
    const commit = readFileSync(refFile, 'utf8').trim();
    const dir = join(repo, 'snapshots', commit);
    if (!isDir(dir)) throw new Error(`hub cache: ${model} revision ${rev} names snapshot ${commit}, which the cache does not hold`);
    return { step: Number(m[1]), label: rev, dir };
  });
  return ordered(refs, `hub cache ${model}`);
}

export function seriesRefs(src: SeriesSource): CheckpointRef[] {
  if (src.layout === 'folder') return folderSeries(src.path);
  if (src.layout === 'list') return listSeries(src.path);
  return hubCacheSeries(src.cacheDir, src.model, src.revisions);
}

/** A checkpoint's config.json as its model spec. */
export function readCheckpointSpec(ref: CheckpointRef): HfModelSpec {
  const file = join(ref.dir, 'config.json');
  if (!existsSync(file)) throw new Error(`checkpoint ${ref.label} (${ref.dir}): no config.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  return readHfConfig(json, `checkpoint ${ref.label} (${ref.dir})`);
}

/** The one spec of a series: every checkpoint's config must agree on every field read. */
export function seriesSpec(refs: readonly CheckpointRef[]): HfModelSpec {
  const first = readCheckpointSpec(refs[0]);
  for (const ref of refs.slice(1)) {
    const spec = readCheckpointSpec(ref);
    const fields = new Set([...Object.keys(first.fields), ...Object.keys(spec.fields)]);
    for (const f of fields) {
      const a = JSON.stringify(first.fields[f]);
      const b = JSON.stringify(spec.fields[f]);
      if (a !== b)
        throw new Error(
          `checkpoint ${ref.label}: config.json field "${f}" is ${b}, checkpoint ${refs[0].label}'s is ${a}; every checkpoint of a series must have one shape and architecture`,
        );
    }
  }
  return first;
}

/**
 * The model shape of a series for a sequence shape (the task's): the checkpoint's sizes and
 * architecture; the vocabulary must be the checkpoint's and the context within its positions.
 */
export function hfModelShape(spec: HfModelSpec, seq: SequenceShape): ModelShape {
  if (seq.vocabSize !== spec.vocabSize)
    throw new Error(
      `vocabulary: the sequences have ${seq.vocabSize} token ids, the checkpoint's config.json "vocab_size" is ${spec.vocabSize}`,
    );
  if (seq.contextLength > spec.maxPositions)
    throw new Error(
      `context length ${seq.contextLength} exceeds the checkpoint's config.json "${spec.maxPositionsField}" (${spec.maxPositions}); allowed: 1 … ${spec.maxPositions}`,
    );
  return { ...spec.model, ...seq, arch: spec.arch };
}

/** The files a checkpoint is read from (config.json and the weights): what keys an imported checkpoint. */
export function checkpointFiles(ref: CheckpointRef): string[] {
  return [join(ref.dir, 'config.json'), ...weightFiles(ref.dir)];
}

/** A checkpoint's θ in the layout of `shape` (from `hfModelShape`), every tensor checked first. */
export function readCheckpointTheta(spec: HfModelSpec, shape: ModelShape, ref: CheckpointRef): Float32Array {
  const tensors = readCheckpointTensors(ref.dir);
  const sources = checkTensors(spec, shape, tensors, `checkpoint ${ref.label} (${ref.dir})`);
  return toTheta(sources, shape, (name) => (tensors.get(name) as { data: Float32Array }).data);
}
