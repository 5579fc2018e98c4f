/**
 * Contracts between the numerics modules. Everything here is plain TypeScript: no Temporal.
 *
 * Parameter vectors are flat Float32Arrays in the order given by the model's parameter layout
 * (core/model/model.ts `paramLayout`). Basis vectors live in the same space.
 */

/** One entry of the flat parameter layout. */
export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * What POLCA and the Hessian basis need from a model: losses as functions of a flat parameter
 * vector θ, with the data already bound.
 */
export interface TokenLossModel {
  readonly numParams: number;
  /** Number of evaluation tokens (T per evaluation sequence, the task's; arithmetic: 4). */
  readonly numTokens: number;
  /** ℓ_x(θ) for every evaluation token x, in token order. */
  tokenLosses(theta: Float32Array): Float32Array;
  /**
   * ℓ_x(θ + s_j·v) for every token x and every shift s_j: result[j * numTokens + x].
   * Batched so that a backend may evaluate several shifted parameter vectors per call.
   */
  shiftedTokenLosses(theta: Float32Array, v: Float32Array, shifts: number[]): Float32Array;
  /**
   * ℓ_x, d1 and d2 of every evaluation token along every direction at θ (exact, core/model/jet.ts);
   * with order 1, d1 only (d2 empty).
   */
  tokenDerivatives(theta: Float32Array, directions: ArrayLike<number>[], order?: 1 | 2): Derivatives;
  /** H_S(θ)·v, the Hessian of the mean training loss over S times v (exact, core/model/backward.ts). */
  hvp(theta: Float32Array, v: ArrayLike<number>): Float64Array;
  /**
   * vᵀH_S(θ)v as the mean over S's tokens of d²ℓ_x(θ + s·v)/ds² at s = 0 (core/model/jet.ts), summed in
   * float64: the curvature along v alone, without forming H_S·v (see core/basis/lanczos.ts `rayleigh`).
   */
  hessianCurvature(theta: Float32Array, v: ArrayLike<number>): number;
  /** Mean training loss over the Hessian sample S and its gradient at θ. */
  hessianLossGrad(theta: Float32Array): { loss: number; grad: Float32Array };
  /** Exact gradient of one evaluation token's loss (tf.grad), for validation only. */
  tokenGrad(theta: Float32Array, token: number): Float32Array;
  /** Release tensors held by the model (bound data). */
  dispose(): void;
}

/** Per-token loss and its first two derivatives along each of m directions at one θ. */
export interface Derivatives {
  /** ℓ_x(θ), [n] */
  f0: Float32Array;
  /** d1[j·n + x] = dℓ_x(θ + s·b_j)/ds at s = 0 */
  d1: Float64Array;
  /** d2[j·n + x] = d²ℓ_x(θ + s·b_j)/ds² at s = 0 */
  d2: Float64Array;
}
