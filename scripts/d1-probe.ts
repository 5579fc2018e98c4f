// d1 (forward-pass stencils) against tf.grad on the tiny trajectory: the worst tokens in detail.
import { resolveConfig } from '../config/index.ts';
import { extendBasis } from '../core/basis/basis.ts';
import { initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import { encodeSequences, makeSplits } from '../core/tasks/arithmetic/task.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { initTrainState, trainSegment } from '../core/train/train.ts';
import { directionalDerivatives } from '../core/model/finite-differences.ts';
await initBackend('wasm');
const config = resolveConfig({ preset: 'tiny' });
const seg = await trainSegment(config, initTrainState(config), 120);
const data = makeSplits(config);
const model = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples));
const B: Float64Array[] = [];
for (const it of [40, 80, 120])
  B.push(...extendBasis(model, seg.checkpoints.find((c) => c.iteration === it)!.params, B, config.basis, config.seed).vectors);
let worstPick = 0;
let worstBase = 0;
for (const [cpIter, j] of [
  [40, 0],
  [80, 1],
  [120, 2],
] as const) {
  const theta = seg.checkpoints.find((c) => c.iteration === cpIter)!.params;
  const f0 = model.tokenLosses(theta);
  const hs = [1.5e-3, 3e-3, 1e-2];
  const rs = hs.map((h) => directionalDerivatives(model, theta, [B[j]], h, 5, undefined, { refine: false }));
  const ref = directionalDerivatives(model, theta, [B[j]], 3e-3, 5);
  const rows: string[] = [];
  for (let x = j; x < model.numTokens; x += 9) {
    const g = model.tokenGrad(theta, x);
    let exact = 0;
    for (let i = 0; i < g.length; i++) exact += g[i] * B[j][i];
    const rel = rs.map((r) => Math.abs(r.d1[x] - exact) / Math.abs(exact));
    const a = rs[1].d1[x];
    const b = rs[0].d1[x];
    const T = (Math.abs(a - b) * 16) / 15;
    const R = (4 * 1.5 * 6e-8 * Math.max(1, f0[x])) / 1.5e-3;
    const pick = T > 2 * R ? (16 * b - a) / 15 : a;
    const relPick = Math.abs(pick - exact) / Math.abs(exact);
    if (Math.abs(exact) >= 0.05) {
      worstPick = Math.max(worstPick, relPick);
      worstBase = Math.max(worstBase, rel[1]);
    }
    const relRef = Math.abs(ref.d1[x] - exact) / Math.abs(exact);
    if (Math.abs(exact) >= 0.1 && relRef > 4e-4)
      rows.push(
        `   REFINED x ${x} |d1| ${Math.abs(exact).toFixed(3)} loss ${f0[x].toFixed(2)} d2 ${rs[1].d2[x].toExponential(2)} rel ${relRef.toExponential(2)}`,
      );
    if (Math.abs(exact) >= 0.05 && relPick > 3e-4)
      rows.push(`   PICK x ${x} ${T > 2 * R ? 'richardson' : 'base'} rel ${relPick.toExponential(1)}`);
    if (rel[1] > 3e-4)
      rows.push(
        `x ${x} loss ${f0[x].toFixed(3)} exact ${exact.toExponential(3)} d2 ${rs[1].d2[x].toExponential(2)} rel@h ${rel.map((e) => e.toExponential(1)).join(' ')}`,
      );
  }
  console.log(`checkpoint ${cpIter} b${j}:\n  ${rows.join('\n  ')}`);
}
console.log('worst |d1|>=0.05: base', worstBase, 'adaptive', worstPick);
