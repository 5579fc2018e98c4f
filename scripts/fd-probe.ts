// Measures finite-difference accuracy on the tiny preset: d1 (forward-pass stencils) against
// exact per-token gradients, and the gradient-difference HVP against loss second differences.
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/backend.ts';
import { makeData } from '../core/data.ts';
import { makeTokenLossModel } from '../core/model.ts';
import { hvp } from '../core/hvp.ts';
import { directionalDerivatives } from '../core/polca.ts';
import { initTrainState, trainSegment } from '../core/train.ts';
import { uniform } from '../core/rng.ts';
await initBackend('wasm');
const config = resolveConfig({ preset: 'tiny' });
const { state } = await trainSegment(config, initTrainState(config), 80);
const data = makeData(config);
const model = makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples);
const d = model.numParams;
const b = new Float64Array(d);
for (let i = 0; i < d; i++) b[i] = uniform(7, 9, i) - 0.5;
const nb = Math.hypot(...b);
for (let i = 0; i < d; i++) b[i] /= nb;
const tokens = [0, 1, 2, 3, 17, 42, 101, 202];
const exact = tokens.map((t) => { const g = model.tokenGrad(state.params, t); let s = 0; for (let i = 0; i < d; i++) s += g[i] * b[i]; return s; });
for (const stencil of [3, 5] as const) for (const h of [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]) {
  const r = directionalDerivatives(model, state.params, [b], h, stencil);
  const rel = tokens.map((t, i) => Math.abs(r.d1[t] - exact[i]) / Math.max(Math.abs(exact[i]), 1e-12));
  console.log(`stencil ${stencil} h ${h}: d1 rel err median ${rel.sort((a, c) => a - c)[4].toExponential(2)} max ${Math.max(...rel).toExponential(2)}  |d1| ~ ${Math.abs(exact[0]).toExponential(2)}`);
}
// HVP vs second difference of the mean Hessian-sample loss along b
const L = (s: number) => { const th = new Float32Array(d); for (let i = 0; i < d; i++) th[i] = state.params[i] + s * b[i]; return model.hessianLossGrad(th).loss; };
for (const h2 of [0.03, 0.1, 0.3]) { const fd2 = (-L(-2*h2) + 16*L(-h2) - 30*L(0) + 16*L(h2) - L(2*h2)) / (12*h2*h2); console.log(`loss 2nd diff h=${h2}: ${fd2.toExponential(5)}`); }
for (const eps of [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]) { const hv = hvp(model, state.params, b, eps); let s = 0; for (let i = 0; i < d; i++) s += hv[i]*b[i]; console.log(`hvpEps ${eps}: bᵀHb ${s.toExponential(5)}`); }
model.dispose();
