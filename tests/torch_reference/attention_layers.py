#!/usr/bin/python3
"""PyTorch's values for tapegrad's attention layers.

Writes tests/data/attention_layers_reference.txt (through reference_file.py):
for each case its inputs, PyTorch's output and, after backward() with a fixed
upstream gradient, the gradient of every input that requires grad.
tests/test_nn_attention.cpp runs the same cases (by name) through tapegrad and
compares in float64 with rtol 1e-5. Torch is never run at test time; rerun this
script (Debian's python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/attention_layers.py

The module's parameters are inputs of each case (after the data inputs, in
named_parameters() order, in PyTorch's layout: a Linear weight is [out, in]),
applied with torch.nn.utils.stateless.functional_call, so their gradients are
in the file. MultiheadAttention cases return cat(output.flatten(),
weights.flatten()), so both and their gradients are checked. Bool masks are
int64 inputs (tapegrad has no bool dtype) turned into bool tensors with `!= 0`;
float masks are added to the scores. Every module runs in eval mode with
dropout 0. PyTorch 1.13 has no F.scaled_dot_product_attention: its cases are
the formula of PyTorch 2's documentation, written with torch ops here.
"""
import math
import os

import torch
import torch.nn as nn
from torch.nn.utils.stateless import functional_call

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "attention_layers_reference.txt")

E, H, L, S, N = 8, 2, 3, 4, 2
gen = torch.Generator().manual_seed(0)


def data(*shape, scale=1.0):
    """A float64 input that requires grad (values from a fixed generator; the file stores them)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).requires_grad_()


def params(module):
    """The module's parameters as fresh inputs: varied values, not the initialisation."""
    out = []
    for name, p in module.named_parameters():
        scale = 1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith(
            "norm3.weight") else 0.4
        offset = 1.0 if "norm" in name and name.endswith("weight") else 0.0
        out.append((torch.randn(*p.shape, generator=gen, dtype=torch.float64) * scale * 0.5 + offset).requires_grad_())
    return out


def module_case(module, data_inputs, consts, call):
    """Inputs: data (grad), consts (masks, no grad), then the parameters (grad);
    call(module, *data, *consts) -> tensor runs with those parameters swapped in."""
    module = module.double().eval()
    names = [n for n, _ in module.named_parameters()]
    nd = len(data_inputs) + len(consts)

    class Runner(nn.Module):
        """functional_call runs forward(); a case calls the module its own way, so wrap it."""

        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *args):
            return call(self.inner, *args)

    def fn(*inputs):
        bound = {"inner." + n: p for n, p in zip(names, inputs[nd:])}
        return functional_call(Runner(), bound, tuple(inputs[:nd]))

    return list(data_inputs) + list(consts) + params(module), fn


def mha_result(out_weights):
    out, weights = out_weights
    return torch.cat([out.reshape(-1), weights.reshape(-1)])


def as_bool(m):
    return m != 0


def causal(n):
    return torch.triu(torch.full((n, n), float("-inf"), dtype=torch.float64), diagonal=1)


def sdpa(q, k, v, mask=None, is_causal=False):
    """PyTorch 2's documented scaled_dot_product_attention (no dropout)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if is_causal:
        scores = scores + causal(q.size(-2))[:, :k.size(-2)]
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf")) if mask.dtype == torch.int64 else scores + mask
    return torch.softmax(scores, -1) @ v


def main():
    cases = {}

    def mha(name, make, data_inputs, consts, call):
        cases[name] = module_case(make(), data_inputs, consts, lambda m, *a: mha_result(call(m, *a)))

    x = data(L, N, E)
    mha("mha_self", lambda: nn.MultiheadAttention(E, H), [x], [], lambda m, x: m(x, x, x))
    mha("mha_self_batch_first_per_head", lambda: nn.MultiheadAttention(E, H, batch_first=True), [data(N, L, E)], [],
        lambda m, x: m(x, x, x, average_attn_weights=False))
    mha("mha_cross_key_is_value", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)], [],
        lambda m, q, kv: m(q, kv, kv))
    mha("mha_cross_distinct", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E), data(S, N, E)], [],
        lambda m, q, k, v: m(q, k, v))
    mha("mha_kdim_vdim", lambda: nn.MultiheadAttention(E, H, kdim=5, vdim=6),
        [data(L, N, E), data(S, N, 5), data(S, N, 6)], [], lambda m, q, k, v: m(q, k, v))
    mha("mha_no_bias", lambda: nn.MultiheadAttention(E, H, bias=False), [data(L, N, E), data(S, N, E)], [],
        lambda m, q, kv: m(q, kv, kv))
    mha("mha_unbatched", lambda: nn.MultiheadAttention(E, H), [data(L, E), data(S, E)], [],
        lambda m, q, kv: m(q, kv, kv))
    bool_2d = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]], dtype=torch.int64)
    mha("mha_bool_attn_mask_2d", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)], [bool_2d],
        lambda m, q, kv, mask: m(q, kv, kv, attn_mask=as_bool(mask)))
    float_3d = torch.randn(N * H, L, S, generator=gen, dtype=torch.float64)
    float_3d[0, 1, 2] = float("-inf")
    float_3d[3, 0, 0] = float("-inf")
    mha("mha_float_attn_mask_3d", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)], [float_3d],
        lambda m, q, kv, mask: m(q, kv, kv, attn_mask=mask))
    kpm_bool = torch.tensor([[0, 0, 0, 1], [0, 1, 0, 1]], dtype=torch.int64)
    mha("mha_key_padding_mask_bool", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)], [kpm_bool],
        lambda m, q, kv, kpm: m(q, kv, kv, key_padding_mask=as_bool(kpm)))
    kpm_float = torch.randn(N, S, generator=gen, dtype=torch.float64)
    mha("mha_key_padding_mask_float", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)],
        [kpm_float], lambda m, q, kv, kpm: m(q, kv, kv, key_padding_mask=kpm))
    mha("mha_bool_attn_mask_and_padding", lambda: nn.MultiheadAttention(E, H, batch_first=True),
        [data(N, L, E), data(N, S, E)], [bool_2d, kpm_bool],
        lambda m, q, kv, mask, kpm: m(q, kv, kv, key_padding_mask=as_bool(kpm), attn_mask=as_bool(mask)))
    mha("mha_float_attn_mask_and_bool_padding", lambda: nn.MultiheadAttention(E, H), [data(L, N, E), data(S, N, E)],
        [float_3d, kpm_bool],
        lambda m, q, kv, mask, kpm: m(q, kv, kv, key_padding_mask=as_bool(kpm), attn_mask=mask))
    # tapegrad runs this one twice: with this mask and with is_causal=true instead.
    mha("mha_causal", lambda: nn.MultiheadAttention(E, H), [data(L, N, E)], [causal(L)],
        lambda m, x, mask: m(x, x, x, attn_mask=mask))

    def layer(name, make, data_inputs, consts, call):
        cases[name] = module_case(make(), data_inputs, consts, call)

    F_ = 16
    for norm_first in (False, True):
        tag = "pre" if norm_first else "post"
        layer(f"encoder_{tag}_relu", lambda: nn.TransformerEncoderLayer(E, H, F_, 0.0, norm_first=norm_first),
              [data(L, N, E)], [], lambda m, x: m(x))
        layer(f"encoder_{tag}_gelu_masks_batch_first",
              lambda: nn.TransformerEncoderLayer(E, H, F_, 0.0, "gelu", 1e-3, batch_first=True, norm_first=norm_first),
              [data(N, S, E)], [causal(S), kpm_bool],
              lambda m, x, mask, kpm: m(x, src_mask=mask, src_key_padding_mask=as_bool(kpm)))
        layer(f"decoder_{tag}_relu", lambda: nn.TransformerDecoderLayer(E, H, F_, 0.0, norm_first=norm_first),
              [data(L, N, E), data(S, N, E)], [], lambda m, t, mem: m(t, mem))
        layer(f"decoder_{tag}_gelu_masks_batch_first",
              lambda: nn.TransformerDecoderLayer(E, H, F_, 0.0, "gelu", batch_first=True, norm_first=norm_first),
              [data(N, L, E), data(N, S, E)], [causal(L), bool_2d, kpm_bool],
              lambda m, t, mem, tmask, mmask, mkpm: m(t, mem, tgt_mask=tmask, memory_mask=as_bool(mmask),
                                                     memory_key_padding_mask=as_bool(mkpm)))
    layer("encoder_stack_2_final_norm",
          lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, F_, 0.0), 2, norm=nn.LayerNorm(E)),
          [data(L, N, E)], [causal(L)], lambda m, x, mask: m(x, mask=mask))

    # scaled_dot_product_attention: PyTorch 2's formula (1.13 lacks the function).
    q4, k4, v4 = data(N, H, L, E), data(N, H, S, E), data(N, H, S, 5)
    cases["sdpa_plain"] = ([q4, k4, v4], lambda q, k, v: sdpa(q, k, v))
    keep = torch.tensor([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1]], dtype=torch.int64)
    cases["sdpa_bool_mask_keeps_true"] = ([data(N, L, E), data(N, S, E), data(N, S, 6), keep],
                                          lambda q, k, v, m: sdpa(q, k, v, mask=m))
    cases["sdpa_causal"] = ([data(N, L, E), data(N, L, E), data(N, L, E)],
                            lambda q, k, v: sdpa(q, k, v, is_causal=True))

    # The sinusoidal encoding of the PyTorch tutorial (x + pe[:L], pe[pos, 2i] = sin, [pos, 2i+1] = cos).
    def sinusoidal(x, d=E):
        position = torch.arange(x.size(0), dtype=torch.float64).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
        pe = torch.zeros(x.size(0), 1, d, dtype=torch.float64)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        return x + pe

    cases["sinusoidal_positional_encoding"] = ([data(5, N, E)], sinusoidal)
    reference_file.write(cases, OUT, "tests/test_nn_attention.cpp", "tests/torch_reference/attention_layers.py")


if __name__ == "__main__":
    main()
