/**
 * The peers of bench/peers.ts compute polca's model: on the same flat θ the PyTorch peer gives the
 * same loss as polca and as the float64 reference model, the same gradient and the same AdamW
 * step, and its exact HVPs (cold: jvp of grad; warm: torch.func.linearize) and d1/d2 (torch.func)
 * agree with polca's exact and finite-difference ones; the JAX peer's Hessian-sample loss agrees
 * with polca's, and its HVPs (jit(jvp(grad)), jax.linearize) and Taylor-jet d1/d2 with PyTorch's.
 * Runs only where the bench's cached Python environment exists (`npm run bench -- peers` makes
 * it); this test installs nothing and is skipped, saying so, elsewhere.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';
import { modelShape } from '../../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits, trainBatch } from '../../core/tasks/arithmetic/task.ts';
import { lossAndGrad } from '../../core/model/backward.ts';
import { decayMask, disposeBatch, encodeBatch } from '../../core/model/model.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { directionalDerivatives, FD_SETTINGS, hvp } from '../../core/model/finite-differences.ts';
import { normal } from '../../core/rng.ts';
import { adamwStep, cloneState, initTrainState, learningRate, trainSegment } from '../../core/train/train.ts';
import { peersPython, peersVenvDir } from '../../bench/peers-env.ts';
import { compareJax, compareWithPeer, loadShape, PEERS_JAX_SCRIPT, Peer } from '../../bench/peers-peer.ts';
import { referenceMeanLoss } from '../helpers/reference-model.ts';

const python = peersPython();
const skip = python ? false : `no cached PyTorch and JAX environment at ${peersVenvDir()} (\`npm run bench -- peers\` makes it)`;

before(async () => {
  await initBackend();
});

test('the PyTorch and JAX peers compute the same loss, gradient, AdamW step, HVP and d1/d2 as polca', { skip }, async () => {
  // h = 3e-2: with the default 3e-3, float32 rounding dominates d2 along a random direction (median
  // relative error 0.5-0.7 on both sides: the method's own noise, not a mismatch); at 3e-2 the
  // stencils are accurate and a wrong stencil or a wrong exact value shows
  const config = resolveConfig({ preset: 'tiny' });
  const fdH = 0.03;
  const data = makeSplits(config);
  const start = initTrainState(config);
  const batches = [0, 1].map((k) => trainBatch(config.seed, k, config.train.batchSize, data.evalSet));
  // the derivative point: θ after a few iterations, so that the loss is not at its symmetric start
  const theta = (await trainSegment({ ...config, train: { ...config.train, checkpointEvery: 10 } }, start, 10)).state.params;
  const dirs = [0, 1].map((j) => {
    const v = Float64Array.from({ length: theta.length }, (_, i) => normal(7, 300 + j, i));
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return Float32Array.from(v, (x) => x / n);
  });
  const model = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples));
  const peer = await Peer.start(python as string, 1);
  const jax = await Peer.start(python as string, 1, PEERS_JAX_SCRIPT);
  const dir = mkdtempSync(join(tmpdir(), 'polca-peers-test-'));
  try {
    const shape = {
      name: 'tiny',
      config,
      theta: start.params,
      batches,
      deriv: { theta, hessianExamples: data.hessianExamples, evalExamples: data.evalExamples, dirs },
    };
    await loadShape(peer, dir, shape);
    await loadShape(jax, dir, shape);
    const b0 = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(batches[0]));
    const lg = lossAndGrad(modelShape(config), start.params, b0);
    disposeBatch(b0);
    const one = cloneState(start);
    const lr = learningRate(config.train, 0);
    adamwStep(config.train, one, lg.grad, decayMask(modelShape(config)), lr);
    const d12 = directionalDerivatives(model, theta, dirs, fdH, FD_SETTINGS.stencil);
    const side = {
      loss: lg.loss,
      grad: lg.grad,
      theta1: one.params,
      hvp: { fd: hvp(model, theta, dirs[0], FD_SETTINGS.hvpEps), exact: model.hvp(theta, dirs[0]) },
      d12: { fd: d12, exact: model.tokenDerivatives(theta, dirs) },
      hessLoss: model.hessianLossGrad(theta).loss,
    };
    const a = await compareJax(jax, 'tiny', dir, side, await compareWithPeer(peer, 'tiny', dir, lr, side));
    const ref = referenceMeanLoss(modelShape(config), Float64Array.from(start.params), encodeSequences(batches[0]));
    assert.ok(a.lossDiff <= 1e-5, `loss: polca ${a.polcaLoss}, PyTorch ${a.torchLoss}`);
    assert.ok(Math.abs(a.torchLoss - ref) <= 1e-5, `loss: PyTorch ${a.torchLoss}, float64 reference ${ref}`);
    assert.ok(a.gradRel <= 1e-4, `gradient: max|Δ|/max|g| = ${a.gradRel}`);
    // AdamW's first step moves each parameter by about lr·sign(g); agreement to 1 % of lr
    assert.ok(a.stepRel <= 1e-2, `one AdamW step: max|Δθ|/lr = ${a.stepRel}`);
    // polca's exact methods against PyTorch's exact ones (torch.func), both float32
    assert.ok(a.hvp['polca exact'] <= 1e-4, `HVP, polca exact against PyTorch exact: ${a.hvp['polca exact']}`);
    assert.ok(a.d1['polca exact'].median <= 1e-4, `exact d1 median error ${a.d1['polca exact'].median}`);
    assert.ok(a.hvp['polca fd'] <= 1e-2, `HVP, polca fd against exact: ${a.hvp['polca fd']}`);
    assert.ok(a.hvp['torch fd'] <= 1e-2, `HVP, PyTorch fd against exact: ${a.hvp['torch fd']}`);
    assert.ok(a.d1['polca fd'].median <= 1e-3, `d1 median error ${a.d1['polca fd'].median}`);
    assert.ok(a.d2['polca fd'].median <= 1e-2, `d2 median error ${a.d2['polca fd'].median}`);
    assert.ok(a.d1['torch fd'].median <= 1e-3, `PyTorch fd d1 median error ${a.d1['torch fd'].median}`);
    // the warm products (torch.func.linearize, jax.linearize) and JAX's cold one are the same map
    assert.ok(a.hvp['torch warm'] <= 1e-5, `HVP, PyTorch warm against cold: ${a.hvp['torch warm']}`);
    assert.ok(a.hvp['jax cold'] <= 1e-4, `HVP, JAX cold against PyTorch exact: ${a.hvp['jax cold']}`);
    assert.ok(a.hvp['jax warm'] <= 1e-4, `HVP, JAX warm against PyTorch exact: ${a.hvp['jax warm']}`);
    assert.ok((a.jaxLossDiff ?? Number.POSITIVE_INFINITY) <= 1e-5, `Hessian-sample loss, polca − JAX: ${a.jaxLossDiff}`);
    assert.ok(a.d1.jax.median <= 1e-4 && a.d1.jax.max <= 1e-2, `JAX jet d1 against PyTorch: ${JSON.stringify(a.d1.jax)}`);
    assert.ok(a.d2.jax.median <= 1e-3 && a.d2.jax.max <= 1e-1, `JAX jet d2 against PyTorch: ${JSON.stringify(a.d2.jax)}`);
  } finally {
    model.dispose();
    await peer.close();
    await jax.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
