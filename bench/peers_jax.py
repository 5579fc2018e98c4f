"""
JAX (CPU, XLA-compiled) peer of polca's model for bench/peers.ts: the exact derivatives only.

The model is core/model/model.ts written the way a researcher would write it in JAX, line for line the
model of bench/peers.py: learned token and position embeddings, pre-LayerNorm blocks (causal
multi-head attention with W_QKV [D, 3D] whose columns are Q heads, then K heads, then V heads;
GELU tanh approximation; LayerNorm eps 1e-5, written out), a final LayerNorm and an unembedding;
the loss is the cross-entropy of the 4 output tokens (predictions at positions 7..10 of the 11
inputs), and the last block computes only what reaches those positions. Parameters come from
polca's flat θ (float32, core/model/model.ts `paramLayout` order). Every timed function is jax.jit-ed
once (compilation falls in the warm-up calls, which are not timed) and every call waits for its
result (block_until_ready).

Measured operations, each timed on request:
  hvp-cold   Hessian-vector product of the mean loss over the Hessian sample, the whole
             forward-over-reverse pass per product: jit(jvp(grad(loss))) at (θ, v)
  hvp-warm   the same product at a θ seen before: jax.linearize(grad(loss), θ) once, then the
             jit-compiled linear map v ↦ H·v per product (the values of the pass are kept)
  d12-exact  per-token d1, d2 along each direction by one second-order Taylor jet
             (jax.experimental.jet, series (b, 0)): one jit-compiled jet per direction

Protocol: bench/peers.py's (one JSON command per line; arrays as raw little-endian files).
  {"cmd": "load", "name": ..., "spec": {...}}     bind a shape (with its derivative data)
  {"cmd": "time", "name": ..., "op": ..., "minMs": 300, "warmup": 1}
  {"cmd": "check", "name": ..., "out": DIR}       → the Hessian-sample loss at θ, and files of the
                                                    HVPs along the first direction and d1/d2
  {"cmd": "quit"}
"""

import json
import math
import os
import sys
import time

# One XLA CPU thread pool of the size asked, set before jax is imported.
_threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={'true' if _threads > 1 else 'false'}"
    f" intra_op_parallelism_threads={_threads}"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.experimental.jet import jet  # noqa: E402

VOCAB = 12
INPUT_LEN = 11
FIRST_OUT = 7
TOKENS = 4
LN_EPS = 1e-5


def layout(m):
    D, M = m["dModel"], m["dMlp"]
    shapes = [("embed.W_E", (VOCAB, D)), ("pos_embed.W_pos", (INPUT_LEN, D))]
    for l in range(m["nLayers"]):
        p = f"blocks.{l}"
        shapes += [
            (f"{p}.ln1.w", (D,)),
            (f"{p}.ln1.b", (D,)),
            (f"{p}.attn.W_QKV", (D, 3 * D)),
            (f"{p}.attn.b_QKV", (3 * D,)),
            (f"{p}.attn.W_O", (D, D)),
            (f"{p}.attn.b_O", (D,)),
            (f"{p}.ln2.w", (D,)),
            (f"{p}.ln2.b", (D,)),
            (f"{p}.mlp.W_in", (D, M)),
            (f"{p}.mlp.b_in", (M,)),
            (f"{p}.mlp.W_out", (M, D)),
            (f"{p}.mlp.b_out", (D,)),
        ]
    shapes += [("ln_final.w", (D,)), ("ln_final.b", (D,)), ("unembed.W_U", (D, VOCAB)), ("unembed.b_U", (VOCAB,))]
    return shapes


def split(theta, lay):
    out, off = {}, 0
    for name, shape in lay:
        size = math.prod(shape)
        out[name] = theta[off : off + size].reshape(shape)
        off += size
    return out


def layer_norm(x, w, b):
    x = x - x.mean(-1, keepdims=True)
    return x / jnp.sqrt((x**2).mean(-1, keepdims=True) + LN_EPS) * w + b


def token_losses(P, m, inputs, targets, mask):
    """Cross-entropy of every output token, [n·4]; inputs [n, 11], targets [n, 4] (int32)."""
    n = inputs.shape[0]
    D, H = m["dModel"], m["nHeads"]
    dh = D // H
    x = P["embed.W_E"][inputs] + P["pos_embed.W_pos"]
    for l in range(m["nLayers"]):
        p = f"blocks.{l}"
        q0 = FIRST_OUT if l == m["nLayers"] - 1 else 0
        Lq = INPUT_LEN - q0
        h = layer_norm(x, P[f"{p}.ln1.w"], P[f"{p}.ln1.b"])
        qkv = h @ P[f"{p}.attn.W_QKV"] + P[f"{p}.attn.b_QKV"]
        q, k, v = (t.reshape(n, INPUT_LEN, H, dh).transpose(0, 2, 1, 3) for t in jnp.split(qkv, 3, axis=-1))
        scores = q[:, :, q0:] @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + mask[q0:]
        z = (jax.nn.softmax(scores, axis=-1) @ v).transpose(0, 2, 1, 3).reshape(n, Lq, D)
        x = x[:, q0:] + z @ P[f"{p}.attn.W_O"] + P[f"{p}.attn.b_O"]
        h2 = layer_norm(x, P[f"{p}.ln2.w"], P[f"{p}.ln2.b"])
        hid = jax.nn.gelu(h2 @ P[f"{p}.mlp.W_in"] + P[f"{p}.mlp.b_in"], approximate=True)
        x = x + hid @ P[f"{p}.mlp.W_out"] + P[f"{p}.mlp.b_out"]
    out = layer_norm(x[:, x.shape[1] - TOKENS :], P["ln_final.w"], P["ln_final.b"])
    logits = (out @ P["unembed.W_U"] + P["unembed.b_U"]).reshape(-1, VOCAB)
    y = targets.reshape(-1)
    return jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, y[:, None], axis=-1)[:, 0]


def read(spec_dir, name, dtype, shape):
    return np.fromfile(os.path.join(spec_dir, name), dtype=dtype).reshape(shape)


def write(path, a):
    np.asarray(a, dtype=np.float32).tofile(path)


class Shape:
    """One bound shape with its derivative data; the compiled functions are made here."""

    def __init__(self, spec):
        if "hess" not in spec:
            raise ValueError("the JAX peer times derivatives only: the shape needs its derivative data")
        self.m = m = spec["model"]
        self.lay = layout(m)
        self.d = sum(math.prod(s) for _, s in self.lay)
        dr = spec["dir"]
        nh, ne, nd = spec["hess"]["n"], spec["eval"]["n"], spec["dirs"]["m"]
        hess_inputs = jnp.asarray(read(dr, spec["hess"]["inputs"], np.int32, (nh, INPUT_LEN)))
        hess_targets = jnp.asarray(read(dr, spec["hess"]["targets"], np.int32, (nh, TOKENS)))
        eval_inputs = jnp.asarray(read(dr, spec["eval"]["inputs"], np.int32, (ne, INPUT_LEN)))
        eval_targets = jnp.asarray(read(dr, spec["eval"]["targets"], np.int32, (ne, TOKENS)))
        self.dirs = jnp.asarray(read(dr, spec["dirs"]["file"], np.float32, (nd, self.d)))
        self.theta = jnp.asarray(read(dr, spec["dirs"]["theta"], np.float32, (self.d,)))
        mask = jnp.triu(jnp.full((INPUT_LEN, INPUT_LEN), -1e9, dtype=jnp.float32), k=1)
        lay = self.lay

        def hess_loss(theta):
            return token_losses(split(theta, lay), m, hess_inputs, hess_targets, mask).mean()

        def eval_losses(theta):
            return token_losses(split(theta, lay), m, eval_inputs, eval_targets, mask)

        self.hess_loss = jax.jit(hess_loss)
        self.hvp_cold = jax.jit(lambda th, v: jax.jvp(jax.grad(hess_loss), (th,), (v,))[1])
        _, lin = jax.linearize(jax.grad(hess_loss), self.theta)
        self.hvp_warm = jax.jit(lin)
        self.jet12 = jax.jit(lambda th, b: jet(eval_losses, (th,), ((b, jnp.zeros_like(b)),))[1])
        self.calls = 0

    def next_dir(self):
        v = self.dirs[self.calls % self.dirs.shape[0]]
        self.calls += 1
        return v

    def d12_exact(self):
        d1s, d2s = [], []
        for b in self.dirs:
            d1, d2 = self.jet12(self.theta, b)
            d1s.append(d1)
            d2s.append(d2)
        return jnp.stack(d1s).block_until_ready(), jnp.stack(d2s).block_until_ready()

    def op(self, name):
        if name == "hvp-cold":
            return self.hvp_cold(self.theta, self.next_dir()).block_until_ready()
        if name == "hvp-warm":
            return self.hvp_warm(self.next_dir()).block_until_ready()
        if name == "d12-exact":
            return self.d12_exact()
        raise ValueError(f"unknown op {name!r}; allowed: hvp-cold, hvp-warm, d12-exact")

    def check(self, out):
        v = self.dirs[0]
        write(os.path.join(out, "jax-hvp-cold.f32"), self.hvp_cold(self.theta, v))
        write(os.path.join(out, "jax-hvp-warm.f32"), self.hvp_warm(v))
        d1, d2 = self.d12_exact()
        write(os.path.join(out, "jax-d1.f32"), d1)
        write(os.path.join(out, "jax-d2.f32"), d2)
        names = ["jax-hvp-cold", "jax-hvp-warm", "jax-d1", "jax-d2"]
        return {"loss": float(self.hess_loss(self.theta)), "files": {k: f"{k}.f32" for k in names}}


def main():
    shapes = {}
    out = sys.stdout
    hello = {"ready": True, "jax": jax.__version__, "threads": _threads, "python": sys.version.split()[0]}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            cmd = req["cmd"]
            if cmd == "quit":
                break
            if cmd == "load":
                shapes[req["name"]] = Shape(req["spec"])
                ans = {"ok": True, "params": shapes[req["name"]].d}
            elif cmd == "time":
                s = shapes[req["name"]]
                min_ms = req.get("minMs", 0)
                t0 = time.perf_counter()
                for _ in range(req.get("warmup", 0)):
                    s.op(req["op"])
                first_ms = (time.perf_counter() - t0) * 1000
                calls, t0 = 0, time.perf_counter()
                while True:
                    s.op(req["op"])
                    calls += 1
                    el = (time.perf_counter() - t0) * 1000
                    if el >= min_ms:
                        break
                ans = {"ms": el / calls, "calls": calls, "firstMs": first_ms}
            elif cmd == "check":
                ans = shapes[req["name"]].check(req["out"])
            else:
                raise ValueError(f"unknown cmd {cmd!r}; allowed: load, time, check, quit")
        except Exception as e:  # reported to the caller, which fails the bench
            ans = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(ans) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
