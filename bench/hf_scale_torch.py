"""PyTorch's side of bench/hf-scale.ts: transformers' GPTNeoXForCausalLM at Pythia-14m's shape
(random weights, float32, eager attention) with an evaluation context of 128, on N threads:
  - per-token losses of the evaluation sequences (one forward pass, no gradient),
  - d1 and d2 of every token along 10 random directions: nested torch.func.jvp along θ + s·u,
    one direction at a time (timed only: on the fixtures, tests/fixtures/hf, this nested form
    through transformers' models disagreed with forward over reverse by up to 10 % in d2, which is
    why scripts/fixtures/hf_checkpoints.py does not use it for reference values),
  - one H·v of the mean loss over the Hessian sample: torch.func.jvp of torch.func.grad,
each timed once after a warm-up call, with the process's peak RSS after each.

    ~/.cache/polca/venv-fixtures/bin/python bench/hf_scale_torch.py [--eval 2] [--hessian 2] [--threads 2]
"""

import argparse
import resource
import time

import torch
from torch.func import functional_call, grad, jvp
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--eval", type=int, default=2)
p.add_argument("--hessian", type=int, default=2)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, L, K = 50304, 128, 10
cfg = GPTNeoXConfig(
    vocab_size=V,
    hidden_size=128,
    num_hidden_layers=6,
    num_attention_heads=4,
    intermediate_size=512,
    hidden_act="gelu",
    rotary_pct=0.25,
    rotary_emb_base=10000,
    max_position_embeddings=2048,
    use_parallel_residual=True,
    tie_word_embeddings=False,
)
model = GPTNeoXForCausalLM(cfg)
model.config._attn_implementation = "eager"
model.eval()
params = {n: t.detach() for n, t in model.named_parameters()}
print(f"Pythia-14m shape: {sum(t.numel() for t in params.values())} parameters, threads {a.threads}")
ev = torch.randint(0, V, (a.eval, L + 1))
hs = torch.randint(0, V, (a.hessian, L + 1))
dirs = [{n: torch.randn_like(t) for n, t in params.items()} for _ in range(K)]


def token_losses(q, ids):
    lg = functional_call(model, q, (ids[:, :-1],), {"use_cache": False}).logits
    return torch.nn.functional.cross_entropy(lg.reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")


def losses():
    with torch.no_grad():
        return token_losses(params, ev)


def jets():
    one = torch.ones(())
    for u in dirs:

        def along(s, u=u):
            return token_losses({n: params[n] + s * u[n] for n in params}, ev)

        def first(s, along=along):
            return jvp(along, (s,), (one,))[1]

        jvp(first, (torch.zeros(()),), (one,))


def hvp():
    return jvp(grad(lambda q: token_losses(q, hs).mean()), (params,), (dirs[0],))[1]


def timed(label, f):
    f()
    t0 = time.perf_counter()
    f()
    s = time.perf_counter() - t0
    print(f"| {label} | {s:.2f} s | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB |")


timed(f"per-token loss ({a.eval * L} tokens)", losses)
timed(f"d1, d2 along {K} directions ({a.eval * L} tokens)", jets)
timed(f"H·v ({a.hessian * L} Hessian tokens)", hvp)
