/**
 * Per-token Fisher information along the basis: a baseline trajectory family.
 *
 * The empirical Fisher of one token x at θ is the rank-one matrix F_x(θ) = g_x g_xᵀ with
 * g_x = ∇ℓ_x(θ). Its diagonal in the orthonormal basis {b} is
 *   F_b(x, θ) = bᵀ F_x(θ) b = (bᵀ ∇ℓ_x(θ))² = d1(x, b, θ)²,
 * where d1 = dℓ_x(θ + s·b)/ds at s = 0 is exactly the directional derivative POLCA's first-order
 * term uses. The family's trajectory of token x for basis vector b is F_b(x, θ_t) at every
 * checkpoint t = 0 … T (T + 1 points), one trajectory set per basis vector like POLCA's.
 *
 * Why this and not the full trace ‖∇ℓ_x(θ)‖²: the trace needs every token's own gradient, i.e.
 * one reverse pass per token per checkpoint (a token's loss cannot be separated from the others'
 * in a batched reverse pass over shared parameters). On `small` (2000 tokens, 161 checkpoints)
 * that is 322 000 reverse passes of one example each, about 3 forward passes' work apiece and
 * dominated by kernel launches at batch size 1, against one first-order jet pass over the whole
 * evaluation set per checkpoint with the m basis directions (m forward passes' tangents, batched
 * over all examples: 161 jet calls for the whole run). The projection also keeps the family
 * comparable with POLCA: the same basis, the same d1, only the step ⟨b, Δ_t⟩ and the second-order
 * term left out and the sign dropped.
 *
 * Values: d1 comes from the first-order jet pass (`tokenDerivatives(θ, basis, 1)`, core/model/jet.ts),
 * exact up to float32 rounding of the pass; the square is taken in float64.
 */
import type { TokenLossModel } from '../types.ts';

type Model = Pick<TokenLossModel, 'tokenDerivatives' | 'numTokens'>;

/** F_b(x, θ) = d1(x, b_j, θ)² for every basis vector j and token x, laid out [j·n + x]. */
export function basisFisher(model: Model, theta: Float32Array, basis: ArrayLike<number>[]): Float64Array {
  const { d1 } = model.tokenDerivatives(theta, basis, 1);
  const n = model.numTokens;
  if (d1.length !== basis.length * n) {
    throw new Error(`basisFisher: the jet pass returned ${d1.length} derivatives; expected ${basis.length} vectors × ${n} tokens`);
  }
  const out = new Float64Array(d1.length);
  for (let r = 0; r < d1.length; r++) out[r] = d1[r] * d1[r];
  return out;
}
