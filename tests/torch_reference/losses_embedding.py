#!/usr/bin/python3
"""PyTorch's values for tapegrad's losses and embedding look-ups.

Writes tests/data/losses_embedding_reference.txt: for each case, its inputs,
PyTorch's output and the gradient of every float input that requires grad
after backward() with a fixed upstream gradient -- or that PyTorch refuses the
call. Embedding cases with max_norm also record the weight after the call
(PyTorch renormalises the looked-up rows in place). tests/test_losses_embedding.cpp
runs the same cases (by name) through tapegrad. Covered: binary_cross_entropy_with_logits
(weight, pos_weight, logits of +-100), l1, smooth_l1 (beta 0 equals l1), huber,
kl_div (batchmean, log_target, zero targets), cross_entropy with class weights,
ignore_index (everywhere but one sample), label_smoothing and probability
targets, and embedding with padding_idx and max_norm. Torch is never run at test
time; rerun this script (Debian's python3-torch) after changing a case:

    /usr/bin/python3 tests/torch_reference/losses_embedding.py

The format is that of reference_file.py (read by tests/torch_reference_file.hpp);
an input the call changes in place is recorded after it ("after").
"""
import os

import torch
import torch.nn.functional as F

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "losses_embedding_reference.txt")


def values(vs, dtype=torch.float64, shape=None, grad=True):
    t = torch.tensor(vs, dtype=dtype)
    t = t if shape is None else t.reshape(shape)
    return t.requires_grad_() if grad else t


def const(vs, dtype=torch.float64, shape=None):
    return values(vs, dtype, shape, grad=False)


def idx(vs, shape=None):
    t = torch.tensor(vs, dtype=torch.int64)
    return t if shape is None else t.reshape(shape)


def varied(*shape, dtype=torch.float64, scale=0.25, grad=True):
    """Exact, varied values of both signs (multiples of `scale`)."""
    n = 1
    for s in shape:
        n *= s
    return values([((i * 7) % 11 - 5) * scale for i in range(n)], dtype, shape, grad)


def probs(*shape, dtype=torch.float64, grad=True):
    """Rows that are probability distributions along the last dimension, with no zeros."""
    n = 1
    for s in shape:
        n *= s
    raw = torch.tensor([1.0 + (i * 5) % 7 for i in range(n)], dtype=dtype).reshape(shape)
    t = raw / raw.sum(-1, keepdim=True)
    return t.detach().requires_grad_() if grad else t


LOGITS_BIG = [-100.0, -30.0, -5.0, -1.0, 0.0, 0.5, 3.0, 20.0, 40.0, 100.0]
R = {"mean": "mean", "sum": "sum", "none": "none"}

CASES = {}

# ---- binary_cross_entropy_with_logits ----------------------------------------
for r in R:
    CASES["bce_logits_" + r] = ([varied(3, 4), probs(3, 4)],
                                lambda x, y, r=r: F.binary_cross_entropy_with_logits(x, y, reduction=r))
CASES.update({
    "bce_logits_large": ([values(LOGITS_BIG), const([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])],
                         lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none")),
    "bce_logits_large_float32": ([values(LOGITS_BIG, torch.float32),
                                  const([1, 0, 1, 0, 1, 0, 1, 0, 1, 0], torch.float32)],
                                 lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum")),
    "bce_logits_weight_pos_weight": ([varied(3, 4), probs(3, 4), const([0.5, 2.0, 1.0], shape=(3, 1)),
                                      const([3.0, 0.25, 1.0, 2.0])],
                                     lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw)),
    "bce_logits_pos_weight_large": ([values(LOGITS_BIG, shape=(5, 2)), const([1, 0, 0, 1, 1, 1, 0, 0, 1, 0], shape=(5, 2)),
                                     const([4.0, 0.5])],
                                    lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                                                        reduction="none")),
    "bce_logits_shapes_differ": ([varied(4, 1), probs(4)],
                                 lambda x, y: F.binary_cross_entropy_with_logits(x, y)),
})

# ---- l1, smooth_l1, huber ------------------------------------------------------
DIFFS = [-3.0, -1.5, -1.0, -0.75, -0.25, 0.0, 0.25, 0.5, 1.0, 1.25, 2.0, 4.0]
# beta = 0 without a difference of exactly 0: there PyTorch 1.13's smooth_l1 gradient is
# -1 (its backward tests x <= -beta first) where l1's is 0; tapegrad gives l1's 0 (README).
DIFFS_NONZERO = [-3.0, -1.5, -1.0, -0.75, -0.25, -0.125, 0.25, 0.5, 1.0, 1.25, 2.0, 4.0]
for r in R:
    CASES["l1_" + r] = ([varied(3, 4), const(DIFFS, shape=(3, 4))], lambda x, d, r=r: F.l1_loss(x, x.detach() + d, reduction=r))
CASES.update({
    "l1_float32": ([varied(12, dtype=torch.float32), const(DIFFS, torch.float32)],
                   lambda x, d: F.l1_loss(x, x.detach() + d)),
    "l1_target_grad": ([varied(2, 3), varied(2, 3, scale=0.5)], lambda x, y: F.l1_loss(x, y)),
    "smooth_l1": ([varied(12), const(DIFFS)], lambda x, d: F.smooth_l1_loss(x, x.detach() + d, reduction="none")),
    "smooth_l1_mean_beta_0.5": ([varied(12), const(DIFFS)],
                                lambda x, d: F.smooth_l1_loss(x, x.detach() + d, beta=0.5)),
    "smooth_l1_sum_beta_2": ([varied(12), const(DIFFS)],
                             lambda x, d: F.smooth_l1_loss(x, x.detach() + d, reduction="sum", beta=2.0)),
    "smooth_l1_beta_0": ([varied(12), const(DIFFS_NONZERO)],
                         lambda x, d: F.smooth_l1_loss(x, x.detach() + d, reduction="none", beta=0.0)),
    "smooth_l1_beta_0_mean": ([varied(3, 4), const(DIFFS_NONZERO, shape=(3, 4))],
                              lambda x, d: F.smooth_l1_loss(x, x.detach() + d, beta=0.0)),
    "smooth_l1_target_grad": ([varied(2, 3), varied(2, 3, scale=0.5)], lambda x, y: F.smooth_l1_loss(x, y)),
    "smooth_l1_negative_beta": ([varied(3), varied(3)], lambda x, y: F.smooth_l1_loss(x, y, beta=-1.0)),
    "huber": ([varied(12), const(DIFFS)], lambda x, d: F.huber_loss(x, x.detach() + d, reduction="none")),
    "huber_mean": ([varied(3, 4), const(DIFFS, shape=(3, 4))], lambda x, d: F.huber_loss(x, x.detach() + d)),
    "huber_sum_delta_0.5": ([varied(12), const(DIFFS)],
                            lambda x, d: F.huber_loss(x, x.detach() + d, reduction="sum", delta=0.5)),
    "huber_float32_delta_2": ([varied(12, dtype=torch.float32), const(DIFFS, torch.float32)],
                              lambda x, d: F.huber_loss(x, x.detach() + d, reduction="none", delta=2.0)),
    "huber_target_grad": ([varied(2, 3), varied(2, 3, scale=0.5)], lambda x, y: F.huber_loss(x, y, delta=0.75)),
})

# ---- kl_div ------------------------------------------------------------------------
for r in ["mean", "sum", "none", "batchmean"]:
    CASES["kl_div_" + r] = ([varied(3, 4), probs(3, 4)],
                            lambda x, t, r=r: F.kl_div(F.log_softmax(x, 1), t, reduction=r))
    CASES["kl_div_log_target_" + r] = ([varied(3, 4), varied(3, 4, scale=0.375)],
                                       lambda x, t, r=r: F.kl_div(F.log_softmax(x, 1), F.log_softmax(t, 1),
                                                                  reduction=r, log_target=True))
CASES.update({
    "kl_div_zero_targets": ([varied(2, 4), const([0.0, 0.5, 0.5, 0.0, 0.25, 0.0, 0.0, 0.75], shape=(2, 4))],
                            lambda x, t: F.kl_div(F.log_softmax(x, 1), t, reduction="batchmean")),
    "kl_div_float32": ([varied(2, 4, dtype=torch.float32), probs(2, 4, dtype=torch.float32)],
                       lambda x, t: F.kl_div(F.log_softmax(x, 1), t, reduction="batchmean")),
    "kl_div_3d_batchmean": ([varied(2, 3, 2), probs(2, 3, 2)],
                            lambda x, t: F.kl_div(x, t, reduction="batchmean")),
})

# ---- cross_entropy -----------------------------------------------------------------
W = [0.5, 2.0, 1.0, 0.25]
CE_T = [2, 0, 3, 1, 1]


def ce(**kw):
    return lambda x, t: F.cross_entropy(x, t, **kw)


def ce_w(**kw):
    return lambda x, t, w: F.cross_entropy(x, t, weight=w, **kw)


for r in R:
    CASES["ce_weight_" + r] = ([varied(5, 4), idx(CE_T), const(W)], ce_w(reduction=r))
    CASES["ce_ignore_" + r] = ([varied(5, 4), idx([2, -100, 3, -100, 1])], ce(reduction=r))
    CASES["ce_smoothing_weight_ignore_" + r] = ([varied(5, 4), idx([2, 0, 3, 1, 0]), const(W)],
                                                ce_w(reduction=r, ignore_index=0, label_smoothing=0.1))
CASES.update({
    "ce_plain": ([varied(5, 4), idx(CE_T)], ce()),
    "ce_ignore_all_but_one": ([varied(5, 4), idx([-100, -100, 3, -100, -100])], ce()),
    "ce_ignore_all_but_one_weight_smoothing": ([varied(5, 4), idx([1, 1, 3, 1, 1]), const(W)],
                                               ce_w(ignore_index=1, label_smoothing=0.1)),
    "ce_smoothing_0.1": ([varied(5, 4), idx(CE_T)], ce(label_smoothing=0.1)),
    "ce_smoothing_0.1_weight": ([varied(5, 4), idx(CE_T), const(W)], ce_w(label_smoothing=0.1)),
    "ce_smoothing_1": ([varied(5, 4), idx(CE_T)], ce(label_smoothing=1.0)),
    "ce_smoothing_float32_weight": ([varied(5, 4, dtype=torch.float32), idx(CE_T), const(W, torch.float32)],
                                    ce_w(label_smoothing=0.25)),
    "ce_large_logits_smoothing_weight": ([values([100.0, -100.0, 0.0, 50.0, -30.0, 30.0, 1000.0, -1000.0], shape=(2, 4)),
                                          idx([1, 3]), const(W)], ce_w(label_smoothing=0.1)),
    "ce_ignore_index_valid_class": ([varied(5, 4), idx(CE_T)], ce(ignore_index=3, reduction="sum")),
    "ce_probabilities": ([varied(3, 4), probs(3, 4)], ce()),
    "ce_probabilities_weight_smoothing": ([varied(3, 4), probs(3, 4), const(W)], ce_w(label_smoothing=0.2)),
    "ce_probabilities_none": ([varied(3, 4), probs(3, 4)], ce(reduction="none")),
    "ce_smoothing_above_1": ([varied(2, 4), idx([0, 1])], ce(label_smoothing=1.5)),
    "ce_weight_wrong_length": ([varied(2, 4), idx([0, 1]), const([1.0, 2.0, 3.0])], ce_w()),
    "ce_target_out_of_range": ([varied(2, 4), idx([0, 4])], ce()),
})

# ---- embedding ------------------------------------------------------------------------
E_IDX = idx([3, 0, 4, 4, 1, 0], (2, 3))


def emb(**kw):
    return lambda i, w: F.embedding(i, w, **kw)


CASES.update({
    "embedding": ([E_IDX, varied(5, 3)], emb()),
    "embedding_1d": ([idx([2, 2, 0, 4]), varied(5, 3)], emb()),
    "embedding_0d": ([idx(1, ()), varied(5, 3)], emb()),
    "embedding_3d_indices": ([idx([0, 1, 2, 3, 4, 3, 2, 1], (2, 2, 2)), varied(5, 2)], emb()),
    "embedding_padding_idx": ([E_IDX, varied(5, 3)], emb(padding_idx=0)),
    "embedding_padding_idx_negative": ([E_IDX, varied(5, 3)], emb(padding_idx=-1)),
    "embedding_max_norm": ([E_IDX, varied(5, 3, scale=0.5)], emb(max_norm=1.0)),
    "embedding_max_norm_1_norm": ([E_IDX, varied(5, 3, scale=0.5)], emb(max_norm=1.5, norm_type=1.0)),
    "embedding_max_norm_padding_float32": ([E_IDX, varied(5, 3, dtype=torch.float32, scale=0.5)],
                                           emb(padding_idx=4, max_norm=0.75)),
    "embedding_index_out_of_range": ([idx([1, 5]), varied(5, 3)], emb()),
})


def main():
    reference_file.write(CASES, OUT, "tests/test_losses_embedding.cpp", "tests/torch_reference/losses_embedding.py")


if __name__ == "__main__":
    main()
