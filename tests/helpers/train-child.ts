// Child process for the resume test: trains the tiny preset from a saved state (or from the
// start) until a step, writes the end state, and prints a hash of every checkpoint.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';
import { initTrainState, type TrainState, trainSegment } from '../../core/train/train.ts';

const [, , from, until, out] = process.argv;
const config = resolveConfig({ preset: 'tiny' });
await initBackend();
let state: TrainState = initTrainState(config);
if (from !== '-') {
  const s = JSON.parse(readFileSync(from, 'utf8'));
  state = { step: s.step, params: Float32Array.from(s.params), m: Float32Array.from(s.m), v: Float32Array.from(s.v) };
}
const r = await trainSegment(config, state, Number(until));
writeFileSync(out, JSON.stringify({ step: r.state.step, params: [...r.state.params], m: [...r.state.m], v: [...r.state.v] }));
const h = (a: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');
console.log(JSON.stringify(r.checkpoints.map((c) => [c.iteration, h(c.params)])));
