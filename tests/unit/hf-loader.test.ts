/**
 * Reading Hugging Face checkpoint series (core/sources/hf/): the three layouts in step order, the
 * sharded index, float16 / bfloat16 weights, transformers 5's rope_parameters beside Pythia's
 * rotary_pct, and every refusal, each with the field or tensor it names: another architecture, an
 * unsupported activation or setting, a missing, unexpected, misshapen or non-finite tensor, a
 * tied copy that differs, configs that differ between checkpoints, a pickle (with the conversion
 * command), a context past the positions, duplicate steps, unknown revisions.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeSafetensors, type Tensor } from '../../artifacts/safetensors.ts';
import { readHfConfig } from '../../core/sources/hf/config.ts';
import {
  checkpointFiles,
  folderSeries,
  hfModelShape,
  hubCacheSeries,
  listSeries,
  readCheckpointTheta,
  seriesSpec,
} from '../../core/sources/hf/series.ts';
import { CONVERT_COMMAND, readCheckpointTensors, readSafetensors } from '../../core/sources/hf/weights.ts';

const FIX = 'tests/fixtures/hf';
const GPT2 = `${FIX}/gpt2`;
const CACHE = `${FIX}/cache`;
const NEOX = 'polca-fixtures/tiny-neox';
const tmp = mkdtempSync(join(tmpdir(), 'polca-hf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const gpt2Config = () => JSON.parse(readFileSync(`${GPT2}/step0/config.json`, 'utf8')) as Record<string, unknown>;
const neoxRef = () => hubCacheSeries(CACHE, NEOX, ['step0'])[0];
const neoxConfig = () => JSON.parse(readFileSync(join(neoxRef().dir, 'config.json'), 'utf8')) as Record<string, unknown>;
const seq = { vocabSize: 288, contextLength: 16, outputsPerSequence: 16 };

/** A copy of GPT-2 step 0 under tmp/name with its tensors (and config) changed. */
function alteredCheckpoint(
  name: string,
  edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void,
  config = gpt2Config(),
): { dir: string; label: string; step: number } {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const tensors = readCheckpointTensors(`${GPT2}/step0`);
  edit(tensors);
  const out: Record<string, Tensor> = {};
  for (const [k, t] of tensors) out[k] = { dtype: 'F32', shape: t.shape, data: t.data };
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(out));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { dir, label: name, step: 0 };
}

function readAltered(ref: { dir: string; label: string; step: number }): Float32Array {
  const spec = seriesSpec([ref]);
  return readCheckpointTheta(spec, hfModelShape(spec, seq), ref);
}

test('folder layout: stepN folders in step order (not name order), sharded step read like the others', () => {
  const refs = folderSeries(GPT2);
  assert.deepEqual(
    refs.map((r) => r.step),
    [0, 30, 90, 180, 300],
  );
  const spec = seriesSpec(refs);
  assert.equal(spec.architecture, 'GPT2LMHeadModel');
  assert.deepEqual(spec.model, { nLayers: 2, dModel: 32, nHeads: 4, dMlp: 64 });
  assert.deepEqual(spec.arch, {
    positions: 'learned',
    rotaryDims: 0,
    rotaryBase: 0,
    unembed: 'tied',
    parallelResidual: false,
    activation: 'gelu_tanh',
    lnEps: 1e-5,
  });
  const sharded = refs.find((r) => r.step === 180)!;
  const files = checkpointFiles(sharded);
  assert.equal(files.length, 4, files.join(', ')); // config, index, 2 shards
  assert.ok(files[1].endsWith('model.safetensors.index.json'));
  const shape = hfModelShape(spec, seq);
  const theta = readCheckpointTheta(spec, shape, sharded);
  // 288·32 (W_E) + 16·32 (the first 16 of 32 position rows) + 2 blocks + ln_final, no unembedding
  assert.equal(theta.length, 288 * 32 + 16 * 32 + 2 * (4 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 32 * 64 + 64 + 64 * 32 + 32) + 64);
  const t = readCheckpointTensors(sharded.dir);
  assert.deepEqual(theta.slice(0, 10), t.get('transformer.wte.weight')!.data.slice(0, 10));
});

test('list file: [{step, path}] relative to the file, ordered; bad entries and duplicate steps refused', () => {
  const list = join(tmp, 'list.json');
  const rel = (s: number) => join(process.cwd(), GPT2, `step${s}`);
  writeFileSync(
    list,
    JSON.stringify([
      { step: 300, path: rel(300) },
      { step: 0, path: rel(0) },
    ]),
  );
  assert.deepEqual(
    listSeries(list).map((r) => r.step),
    [0, 300],
  );
  writeFileSync(
    list,
    JSON.stringify([
      { step: 5, path: rel(0) },
      { step: 5, path: rel(30) },
    ]),
  );
  assert.throws(() => listSeries(list), /step 5 is given twice/);
  writeFileSync(list, JSON.stringify([{ step: -1, path: rel(0) }]));
  assert.throws(() => listSeries(list), /entry 0 field "step" is -1; allowed: an integer ≥ 0/);
  writeFileSync(list, JSON.stringify([{ step: 1, path: 'nowhere' }]));
  assert.throws(() => listSeries(list), /entry 0 field "path": .*nowhere is not a directory/);
  writeFileSync(list, JSON.stringify({ step: 1 }));
  assert.throws(() => listSeries(list), /not an array/);
  assert.throws(() => folderSeries(join(tmp)), /no sub-directories named stepN/);
});

test('hub cache: revisions by step through refs/ and snapshots/; Pythia and transformers 5 rotary fields alike', () => {
  const refs = hubCacheSeries(CACHE, NEOX, ['step300', 'step0', 'step90']);
  assert.deepEqual(
    refs.map((r) => r.step),
    [0, 90, 300],
  );
  const spec = seriesSpec(refs);
  assert.equal(spec.architecture, 'GPTNeoXForCausalLM');
  assert.deepEqual(spec.arch, {
    positions: 'rotary',
    rotaryDims: 4,
    rotaryBase: 10000,
    unembed: 'untied',
    parallelResidual: true,
    activation: 'gelu_erf',
    lnEps: 1e-6,
  });
  const cfg = neoxConfig();
  const { rotary_pct, rotary_emb_base, ...rest } = cfg;
  const v5 = readHfConfig(
    { ...rest, rope_parameters: { rope_type: 'default', rope_theta: rotary_emb_base, partial_rotary_factor: rotary_pct } },
    'x',
  );
  assert.deepEqual(v5.arch, spec.arch);
  assert.throws(
    () => hubCacheSeries(CACHE, NEOX, ['step1']),
    /revision step1 is not in the cache \(cached revisions: main, step0, step180/,
  );
  assert.throws(() => hubCacheSeries(CACHE, NEOX, ['main']), /hub revision "main" .*allowed: names stepN/);
  assert.throws(() => hubCacheSeries(CACHE, 'polca-fixtures/absent', ['step0']), /holds no polca-fixtures\/absent/);
  assert.throws(() => hubCacheSeries(CACHE, 'no-slash', ['step0']), /allowed: a name ORG\/NAME/);
});

test('config.json refusals name the field, its value and what is supported', () => {
  const g = gpt2Config();
  const n = neoxConfig();
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ...g, architectures: ['LlamaForCausalLM'] },
      /field "architectures" is \["LlamaForCausalLM"\]; supported: exactly one of GPT2LMHeadModel, GPTNeoXForCausalLM/,
    ],
    [{ ...g, architectures: undefined }, /field "architectures" is undefined/],
    [{ ...g, activation_function: 'relu' }, /field "activation_function" is "relu"; supported: gelu_new, gelu_pytorch_tanh, gelu/],
    [{ ...n, hidden_act: 'silu' }, /field "hidden_act" is "silu"; supported: gelu_new, gelu_pytorch_tanh, gelu/],
    [{ ...g, scale_attn_by_inverse_layer_idx: true }, /field "scale_attn_by_inverse_layer_idx" is true; supported: false only/],
    [{ ...g, scale_attn_weights: false }, /field "scale_attn_weights" is false; supported: true only/],
    [{ ...g, add_cross_attention: true }, /field "add_cross_attention" is true; supported: false only/],
    [{ ...g, n_embd: 0 }, /field "n_embd" is 0; allowed: a positive integer/],
    [{ ...g, n_head: 5 }, /heads \(5\) does not divide the model width \(32\)/],
    [{ ...n, attention_bias: false }, /field "attention_bias" is false; supported: true only/],
    [{ ...n, rotary_pct: 0.1 }, /field "rotary_pct" is 0\.1; it gives 1 rotary dimensions of a head of 16/],
    [{ ...n, rope_scaling: { type: 'linear', factor: 2 } }, /field "rope_scaling.rope_type" is "linear"; supported: "default" only/],
    [{ ...n, layer_norm_eps: -1 }, /field "layer_norm_eps" is -1; allowed: a positive number/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => readHfConfig(cfg, 'ckpt'), re);
});

test('tensor refusals: missing, unexpected, misshapen, non-finite, a differing tied copy', () => {
  // the unaltered copy reads (and a tied copy equal to wte is accepted)
  const ok = alteredCheckpoint('ok', (t) => t.set('lm_head.weight', t.get('transformer.wte.weight')!));
  assert.ok(readAltered(ok).length > 0);
  const missing = alteredCheckpoint('missing', (t) => t.delete('transformer.h.1.mlp.c_fc.bias'));
  assert.throws(
    () => readAltered(missing),
    /tensor "transformer\.h\.1\.mlp\.c_fc\.bias" is missing; a GPT2LMHeadModel checkpoint needs it/,
  );
  const extra = alteredCheckpoint('extra', (t) => t.set('score.weight', { shape: [2, 32], data: new Float32Array(64) }));
  assert.throws(() => readAltered(extra), /tensor "score\.weight" is not part of a GPT2LMHeadModel as polca reads it/);
  const buffers = alteredCheckpoint('buffers', (t) =>
    t.set('transformer.h.0.attn.bias', { shape: [1, 1, 32, 32], data: new Float32Array(1024) }),
  );
  assert.ok(readAltered(buffers).length > 0, 'attention-mask buffers are skipped');
  const shape = alteredCheckpoint('shape', (t) => {
    const w = t.get('transformer.h.0.attn.c_attn.weight')!;
    t.set('transformer.h.0.attn.c_attn.weight', { shape: [96, 32], data: w.data });
  });
  assert.throws(
    () => readAltered(shape),
    /tensor "transformer\.h\.0\.attn\.c_attn\.weight" has shape \[96,32\]; config\.json implies \[32,96\]/,
  );
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const nonFinite = alteredCheckpoint(`nonfinite-${bad}`, (t) => {
      t.get('transformer.ln_f.weight')!.data[7] = bad;
    });
    assert.throws(
      () => readAltered(nonFinite),
      new RegExp(`tensor "transformer\\.ln_f\\.weight" holds a non-finite value \\(${bad}\\) at flat index 7`),
    );
  }
  const tied = alteredCheckpoint('tied', (t) => {
    const w = t.get('transformer.wte.weight')!;
    t.set('lm_head.weight', { shape: w.shape, data: w.data.map((x) => x + 1) });
  });
  assert.throws(() => readAltered(tied), /tensor "lm_head\.weight" is not equal to "transformer\.wte\.weight", yet config\.json ties them/);
  // the untied form reads lm_head as the unembedding
  const untied = alteredCheckpoint(
    'untied',
    (t) => {
      const w = t.get('transformer.wte.weight')!;
      t.set('lm_head.weight', { shape: w.shape, data: w.data.map((x) => 2 * x) });
    },
    { ...gpt2Config(), tie_word_embeddings: false },
  );
  const theta = readAltered(untied);
  const tiedTheta = readAltered(ok);
  assert.equal(theta.length, tiedTheta.length + 32 * 288);
});

test('checkpoints of a series must agree on their config; pickles are refused with the conversion', () => {
  const series = join(tmp, 'series');
  cpSync(`${GPT2}/step0`, join(series, 'step0'), { recursive: true });
  cpSync(`${GPT2}/step30`, join(series, 'step30'), { recursive: true });
  writeFileSync(join(series, 'step30', 'config.json'), JSON.stringify({ ...gpt2Config(), n_inner: 128 }));
  assert.throws(() => seriesSpec(folderSeries(series)), /checkpoint step30: config\.json field "n_inner" is 128, checkpoint step0's is 64/);
  writeFileSync(join(series, 'step30', 'config.json'), JSON.stringify({ ...gpt2Config(), layer_norm_epsilon: 1e-6 }));
  assert.throws(() => seriesSpec(folderSeries(series)), /field "layer_norm_epsilon" is 0\.000001, checkpoint step0's is 0\.00001/);

  const pickle = join(tmp, 'pickle', 'step0');
  mkdirSync(pickle, { recursive: true });
  writeFileSync(join(pickle, 'config.json'), JSON.stringify(gpt2Config()));
  writeFileSync(join(pickle, 'pytorch_model.bin'), 'not read');
  const ref = { dir: pickle, label: 'step0', step: 0 };
  const spec = seriesSpec([ref]);
  assert.throws(
    () => readCheckpointTheta(spec, hfModelShape(spec, seq), ref),
    (e: Error) => e.message.includes('pytorch_model.bin') && e.message.includes(CONVERT_COMMAND.replaceAll('DIR', pickle)),
  );
  assert.throws(
    () => checkpointFiles({ dir: join(tmp, 'pickle'), label: 'x', step: 0 }),
    /no model\.safetensors or model\.safetensors\.index\.json/,
  );
});

test("model shape: the context within the positions, the vocabulary the checkpoint's", () => {
  const spec = seriesSpec(folderSeries(GPT2));
  assert.throws(
    () => hfModelShape(spec, { ...seq, contextLength: 33, outputsPerSequence: 33 }),
    /context length 33 exceeds the checkpoint's config\.json "n_positions" \(32\); allowed: 1 … 32/,
  );
  assert.throws(() => hfModelShape(spec, { ...seq, vocabSize: 300 }), /"vocab_size" is 288/);
  const neox = seriesSpec(hubCacheSeries(CACHE, NEOX, ['step0']));
  assert.throws(() => hfModelShape(neox, { ...seq, contextLength: 64, outputsPerSequence: 64 }), /"max_position_embeddings" \(32\)/);
});

test('safetensors: F16 and BF16 read as float32, unsupported dtypes refused', () => {
  const encode = (dtype: string, shape: number[], bytes: Uint8Array) => {
    let json = JSON.stringify({ w: { dtype, shape, data_offsets: [0, bytes.length] } });
    while (json.length % 8) json += ' ';
    const out = new Uint8Array(8 + json.length + bytes.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(Buffer.from(json), 8);
    out.set(bytes, 8 + json.length);
    return out;
  };
  const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
  // float16: 1, −2, 0.5, 65504 (largest), 2⁻²⁴ (smallest subnormal), −0
  const h = readSafetensors(encode('F16', [6], u16([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000])), 'f16').get('w')!;
  assert.deepEqual(Array.from(h.data), [1, -2, 0.5, 65504, 2 ** -24, -0]);
  // bfloat16: 1, −2, 3.140625 (0x4049)
  const b = readSafetensors(encode('BF16', [3], u16([0x3f80, 0xc000, 0x4049])), 'bf16').get('w')!;
  assert.deepEqual(Array.from(b.data), [1, -2, 3.140625]);
  assert.throws(
    () => readSafetensors(encode('I8', [2], new Uint8Array(2)), 'i8'),
    /tensor "w" has dtype I8; supported: F32, F16, BF16, F64/,
  );
  assert.throws(() => readSafetensors(new Uint8Array(4), 'short'), /not a safetensors file/);
});
