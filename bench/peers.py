"""
PyTorch (CPU, eager) peer of polca's model, loss and optimizer, for bench/peers.ts.

The model is core/model/model.ts written the way a researcher would write it in PyTorch: a
TransformerLens-style decoder with learned token and position embeddings, pre-LayerNorm blocks
(causal multi-head attention with W_QKV [D, 3D] whose columns are Q heads, then K heads, then V
heads; GELU tanh approximation; LayerNorm eps 1e-5, written out as TransformerLens does), a final LayerNorm and an unembedding; the loss
is the cross-entropy of the 4 output tokens (predictions at positions 7..10 of the 11 inputs). Like
polca, the last block computes only what reaches those positions.
Parameters come from polca's flat θ (float32, core/model/model.ts `paramLayout` order), so both sides
compute on the same numbers. The optimizer is torch.optim.AdamW with polca's betas, eps and weight
decay on matrices only (core/model/model.ts `decayMask`), gradient clipping by the global norm, and
polca's learning-rate schedule (linear warmup, then constant or cosine; core/train/train.ts).

Measured operations, each timed on request:
  train      one training iteration: forward, backward, clipping, AdamW (continuing state)
  hvp-fd     Hessian-vector product of the mean loss over the Hessian sample by polca's method:
             (g(θ + εv) − g(θ − εv)) / (step taken along v), two gradients (core/hvp.ts)
  hvp-cold   the same product exactly, the whole pass per product: torch.func.jvp of
             torch.func.grad (forward-over-reverse)
  hvp-warm   the same product at a θ seen before: torch.func.linearize(torch.func.grad(loss), θ)
             once (when the shape is bound), then its linear map v ↦ H·v per product
  d12-fd     per-token d1, d2 along every direction by polca's stencil (core/attribution/polca.ts
             `directionalDerivatives`): one forward pass at θ, 4 (5-point) or 2 (3-point) shifted
             passes per direction, 2 more with step refinement, and the same arithmetic
  d12-exact  per-token d1, d2 exactly: torch.func.jvp nested (forward-over-forward), per direction
  forward / backward / step   the parts of `train`, for the time breakdown

Protocol: one JSON command per line on stdin, one JSON answer per line on stdout. Arrays travel as
raw little-endian files in a directory the caller owns (float32 or int32).
  {"cmd": "load", "name": ..., "spec": {...}}            bind a shape: model, train config, files
  {"cmd": "time", "name": ..., "op": ..., "minMs": 300, "warmup": 1}
                                                         → {"ms": mean ms per timed call, "calls": k,
                                                            "firstMs": the warm-up calls' time}
  {"cmd": "check", "name": ..., "out": DIR}              → loss, and files of grad, θ after one
                                                           step, HVPs and d1/d2 for comparison
  {"cmd": "quit"}
"""

import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.func import grad as fgrad
from torch.func import jvp, linearize

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
    """Named views of the flat θ (differentiable: gradients flow back to θ)."""
    out, off = {}, 0
    for name, shape in lay:
        size = math.prod(shape)
        out[name] = theta[off : off + size].view(shape)
        off += size
    return out


def layer_norm(x, w, b):
    """TransformerLens' LayerNorm, written out. F.layer_norm is not used: in PyTorch 2.15 its
    forward-over-forward derivative is wrong (nested torch.func.jvp: second derivative off by 15-35 %
    against float64 finite differences), while this composition is right to rounding."""
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt() * w + b


def token_losses(P, m, inputs, targets, mask):
    """Cross-entropy of every output token, [n·4]; inputs [n, 11] int64, targets [n, 4] int64."""
    n = inputs.shape[0]
    D, H = m["dModel"], m["nHeads"]
    dh = D // H
    x = P["embed.W_E"][inputs] + P["pos_embed.W_pos"]
    for l in range(m["nLayers"]):
        p = f"blocks.{l}"
        # As polca: the last block computes queries, W_O, the MLP and the residual stream only at
        # the output positions (keys and values at every position); the logits are the same.
        q0 = FIRST_OUT if l == m["nLayers"] - 1 else 0
        Lq = INPUT_LEN - q0
        h = layer_norm(x, P[f"{p}.ln1.w"], P[f"{p}.ln1.b"])
        qkv = h @ P[f"{p}.attn.W_QKV"] + P[f"{p}.attn.b_QKV"]
        q, k, v = (t.reshape(n, INPUT_LEN, H, dh).transpose(1, 2) for t in qkv.split(D, dim=-1))
        scores = q[:, :, q0:] @ k.transpose(-1, -2) / math.sqrt(dh) + mask[q0:]
        z = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(n, Lq, D)
        x = x[:, q0:] + z @ P[f"{p}.attn.W_O"] + P[f"{p}.attn.b_O"]
        h2 = layer_norm(x, P[f"{p}.ln2.w"], P[f"{p}.ln2.b"])
        hid = F.gelu(h2 @ P[f"{p}.mlp.W_in"] + P[f"{p}.mlp.b_in"], approximate="tanh")
        x = x + hid @ P[f"{p}.mlp.W_out"] + P[f"{p}.mlp.b_out"]
    out = layer_norm(x[:, x.shape[1] - TOKENS :], P["ln_final.w"], P["ln_final.b"])
    logits = out @ P["unembed.W_U"] + P["unembed.b_U"]
    return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")


def learning_rate(tr, step):
    lr, warmup, iterations = tr["lr"], tr["warmup"], tr["iterations"]
    if warmup > 0 and step < warmup:
        return lr * (step + 1) / warmup
    if tr["schedule"] == "cosine":
        p = min(1.0, (step - warmup) / max(1, iterations - warmup))
        return 0.5 * lr * (1 + math.cos(math.pi * p))
    return lr


def read(spec_dir, name, dtype, shape):
    path = os.path.join(spec_dir, name)
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    t = torch.frombuffer(buf, dtype=dtype).clone()
    return t.view(shape)


def write(path, t):
    """A tensor as raw float32 (no numpy needed)."""
    t = t.detach().to(torch.float32).contiguous()
    with open(path, "wb") as f:
        f.write(ctypes.string_at(t.data_ptr(), t.numel() * 4))


class Shape:
    """One bound shape: model config, θ, training batches, and optionally the derivative data."""

    def __init__(self, spec):
        self.m = spec["model"]
        self.tr = spec["train"]
        self.lay = layout(self.m)
        self.d = sum(math.prod(s) for _, s in self.lay)
        dr = spec["dir"]
        self.theta = read(dr, spec["theta"], torch.float32, (self.d,))
        K, B = spec["batches"], self.tr["batchSize"]
        self.train_inputs = read(dr, spec["trainInputs"], torch.int32, (K, B, INPUT_LEN)).long()
        self.train_targets = read(dr, spec["trainTargets"], torch.int32, (K, B, TOKENS)).long()
        self.mask = torch.triu(torch.full((INPUT_LEN, INPUT_LEN), -1e9), diagonal=1)
        self.deriv = "hess" in spec
        if self.deriv:
            nh, ne, nd = spec["hess"]["n"], spec["eval"]["n"], spec["dirs"]["m"]
            self.hess_inputs = read(dr, spec["hess"]["inputs"], torch.int32, (nh, INPUT_LEN)).long()
            self.hess_targets = read(dr, spec["hess"]["targets"], torch.int32, (nh, TOKENS)).long()
            self.eval_inputs = read(dr, spec["eval"]["inputs"], torch.int32, (ne, INPUT_LEN)).long()
            self.eval_targets = read(dr, spec["eval"]["targets"], torch.int32, (ne, TOKENS)).long()
            self.dirs = read(dr, spec["dirs"]["file"], torch.float32, (nd, self.d))
            self.dtheta = read(dr, spec["dirs"]["theta"], torch.float32, (self.d,))
            self.hvp_eps = spec["hvpEps"]
            self.h = spec["h"]
            self.stencil = spec["stencil"]
            self.refine = spec["refine"]
            self.hvp_calls = 0
            _, self.hvp_linear = linearize(fgrad(self.hess_loss), self.dtheta)
        self.reset_training()

    # --- training -------------------------------------------------------------------------
    def reset_training(self):
        P = split(self.theta, self.lay)
        self.params = {k: torch.nn.Parameter(v.clone()) for k, v in P.items()}
        decay = [p for p in self.params.values() if p.dim() == 2]
        rest = [p for p in self.params.values() if p.dim() != 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.tr["weightDecay"]}, {"params": rest, "weight_decay": 0.0}],
            lr=self.tr["lr"],
            betas=(self.tr["beta1"], self.tr["beta2"]),
            eps=self.tr["eps"],
        )
        self.step = 0

    def batch_loss(self, k):
        return token_losses(self.params, self.m, self.train_inputs[k], self.train_targets[k], self.mask).mean()

    def train_iteration(self):
        k = self.step % self.train_inputs.shape[0]
        self.opt.zero_grad(set_to_none=True)
        loss = self.batch_loss(k)
        loss.backward()
        if self.tr["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(list(self.params.values()), self.tr["gradClip"])
        for g in self.opt.param_groups:
            g["lr"] = learning_rate(self.tr, self.step)
        self.opt.step()
        self.step += 1
        return loss.item()

    def forward_only(self):
        with torch.no_grad():
            return self.batch_loss(0).item()

    def forward_backward(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.batch_loss(0)
        loss.backward()
        return loss.item()

    def optimizer_step(self):
        # gradients from the last forward_backward stay in place; the step continues the state
        if self.tr["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(list(self.params.values()), self.tr["gradClip"])
        for g in self.opt.param_groups:
            g["lr"] = learning_rate(self.tr, self.step)
        self.opt.step()

    def flat_params(self):
        return torch.cat([p.detach().reshape(-1) for p in self.params.values()])

    # --- Hessian-vector products ----------------------------------------------------------
    def hess_loss(self, theta):
        return token_losses(split(theta, self.lay), self.m, self.hess_inputs, self.hess_targets, self.mask).mean()

    def hess_grad(self, theta):
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.hess_loss(th), th)
        return g

    def hvp_fd(self, v):
        eps = self.hvp_eps
        plus = self.dtheta + eps * v
        minus = self.dtheta - eps * v
        gp = self.hess_grad(plus)
        gm = self.hess_grad(minus)
        v64 = v.double()
        denom = ((plus.double() - minus.double()) @ v64) / (v64 @ v64)
        return (gp.double() - gm.double()) / denom

    def hvp_exact(self, v):
        return jvp(fgrad(self.hess_loss), (self.dtheta,), (v,))[1]

    def hvp_warm(self, v):
        return self.hvp_linear(v)

    def next_dir(self):
        v = self.dirs[self.hvp_calls % self.dirs.shape[0]]
        self.hvp_calls += 1
        return v

    # --- per-token directional derivatives ------------------------------------------------
    def eval_losses(self, theta):
        return token_losses(split(theta, self.lay), self.m, self.eval_inputs, self.eval_targets, self.mask)

    def d12_fd(self):
        """core/attribution/polca.ts directionalDerivatives, the same passes and the same arithmetic."""
        h, stencil, refine = self.h, self.stencil, self.refine
        th = self.dtheta
        with torch.no_grad():
            c = self.eval_losses(th).double()
            shifts = [-h, h] if stencil == 3 else [-2 * h, -h, h, 2 * h]
            if refine:
                shifts += [-h / 2, h / 2]
            gain = 4 if stencil == 3 else 16
            d1s, d2s = [], []
            for b in self.dirs:
                f = [self.eval_losses(th + s * b).double() for s in shifts]
                if stencil == 3:
                    fm, fp = f[0], f[1]
                    first = (fp - fm) / (2 * h)
                    d2 = (fp - 2 * c + fm) / (h * h)
                else:
                    fm2, fm1, fp1, fp2 = f[0], f[1], f[2], f[3]
                    first = (fm2 - 8 * fm1 + 8 * fp1 - fp2) / (12 * h)
                    d2 = (-fm2 + 16 * fm1 - 30 * c + 16 * fp1 - fp2) / (12 * h * h)
                if refine:
                    fmh, fph = f[-2], f[-1]
                    half = (fph - fmh) / h if stencil == 3 else (f[1] - 8 * fmh + 8 * fph - f[2]) / (6 * h)
                    trunc = (first - half).abs() * gain / (gain - 1)
                    rounding = 12 * 2.0**-24 * c.abs().clamp(min=1) / h
                    first = torch.where(trunc > 2 * rounding, (gain * half - first) / (gain - 1), first)
                d1s.append(first)
                d2s.append(d2)
            return torch.stack(d1s), torch.stack(d2s)

    def d12_exact(self):
        th = self.dtheta
        d1s, d2s = [], []
        for b in self.dirs:
            d1, d2 = jvp(lambda t, b=b: jvp(self.eval_losses, (t,), (b,))[1], (th,), (b,))
            d1s.append(d1)
            d2s.append(d2)
        return torch.stack(d1s), torch.stack(d2s)

    # --- dispatch -------------------------------------------------------------------------
    def op(self, name):
        if name == "train":
            return self.train_iteration()
        if name == "forward":
            return self.forward_only()
        if name == "backward":
            return self.forward_backward()
        if name == "step":
            return self.optimizer_step()
        if not self.deriv:
            raise ValueError(f"op {name!r} needs the derivative data; this shape has none")
        if name == "hvp-fd":
            return self.hvp_fd(self.next_dir())
        if name == "hvp-cold":
            return self.hvp_exact(self.next_dir())
        if name == "hvp-warm":
            return self.hvp_warm(self.next_dir())
        if name == "d12-fd":
            return self.d12_fd()
        if name == "d12-exact":
            return self.d12_exact()
        raise ValueError(f"unknown op {name!r}; allowed: train, forward, backward, step, hvp-fd, hvp-cold, hvp-warm, d12-fd, d12-exact")

    def check(self, out):
        """Loss and gradient on batch 0 at θ, θ after one training iteration, HVPs along the first
        direction at the derivative point, d1/d2 by both methods: written for the caller to compare."""
        self.reset_training()
        loss = self.forward_backward()
        g = torch.cat([p.grad.reshape(-1) for p in self.params.values()])
        write(os.path.join(out, "grad.f32"), g)
        self.reset_training()
        self.train_iteration()
        write(os.path.join(out, "theta1.f32"), self.flat_params())
        self.reset_training()
        res = {"loss": loss, "files": {"grad": "grad.f32", "theta1": "theta1.f32"}}
        if self.deriv:
            v = self.dirs[0]
            write(os.path.join(out, "hvp-fd.f32"), self.hvp_fd(v))
            write(os.path.join(out, "hvp-exact.f32"), self.hvp_exact(v))
            write(os.path.join(out, "hvp-warm.f32"), self.hvp_warm(v))
            d1f, d2f = self.d12_fd()
            d1e, d2e = self.d12_exact()
            write(os.path.join(out, "d1-fd.f32"), d1f)
            write(os.path.join(out, "d2-fd.f32"), d2f)
            write(os.path.join(out, "d1-exact.f32"), d1e)
            write(os.path.join(out, "d2-exact.f32"), d2e)
            res["files"].update({k: f"{k}.f32" for k in ["hvp-fd", "hvp-exact", "hvp-warm", "d1-fd", "d2-fd", "d1-exact", "d2-exact"]})
        return res


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    torch.set_num_threads(threads)
    shapes = {}
    out = sys.stdout
    hello = {"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "python": sys.version.split()[0]}
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
