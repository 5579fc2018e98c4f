import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/backend.ts';
import { makeData } from '../core/data.ts';
import { makeTokenLossModel, initParams } from '../core/model.ts';
import { uniform } from '../core/rng.ts';
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const config = resolveConfig({ preset: 'tiny' });
const data = makeData(config);
const model = makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples);
const d = model.numParams;
const theta = initParams(config.model, 0);
const b = new Float64Array(d);
for (let i = 0; i < d; i++) b[i] = uniform(7, 9, i) - 0.5;
const nb = Math.hypot(...b); for (let i = 0; i < d; i++) b[i] /= nb;
const { grad } = model.hessianLossGrad(theta);
let gb = 0; for (let i = 0; i < d; i++) gb += grad[i] * b[i];
const L = (s: number) => { const th = new Float32Array(d); for (let i = 0; i < d; i++) th[i] = theta[i] + s * b[i]; return model.hessianLossGrad(th).loss; };
for (const h of [1e-3, 1e-2, 3e-2]) console.log(`g·b ${gb.toExponential(5)}  fd(h=${h}) ${((L(-2*h) - 8*L(-h) + 8*L(h) - L(2*h)) / (12*h)).toExponential(5)}`);
// per-layout-entry check with the basis restricted to one tensor
import { paramLayout } from '../core/model.ts';
for (const e of paramLayout(config.model)) {
  const v = new Float64Array(d); for (let i = 0; i < e.size; i++) v[e.offset + i] = uniform(3, 4, i) - 0.5;
  const n = Math.hypot(...v); for (let i = 0; i < d; i++) v[i] /= n;
  let g = 0; for (let i = 0; i < d; i++) g += grad[i] * v[i];
  const Lv = (s: number) => { const th = new Float32Array(d); for (let i = 0; i < d; i++) th[i] = theta[i] + s * v[i]; return model.hessianLossGrad(th).loss; };
  const h = 1e-2; const fd = (Lv(-2*h) - 8*Lv(-h) + 8*Lv(h) - Lv(2*h)) / (12*h);
  console.log(e.name.padEnd(24), g.toExponential(4), fd.toExponential(4), Math.abs(g - fd) / Math.max(Math.abs(fd), 1e-9) > 1e-2 ? 'MISMATCH' : '');
}
