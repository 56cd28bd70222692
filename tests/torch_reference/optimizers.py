#!/usr/bin/python3
"""PyTorch's trajectories for tapegrad's optimizers and learning-rate schedules.

Writes tests/data/optimizers_reference.txt; tests/test_optim_reference.cpp runs the
same cases (by name) through tapegrad and compares every value to a relative 1e-12
(float64 throughout). Torch is never run at test time; rerun this script after
changing a case:

    /usr/bin/python3 tests/torch_reference/optimizers.py

The file format is that of reference_file.py (read by tests/torch_reference_file.hpp);
every case reports named tensors:
    loss [6], params [7, n]   optimizers: what step() returned at steps 1..6, and the
                              parameters (w then b, flattened) at the start and after each step
    lr [epochs + 1, groups]   schedulers: each group's lr at the start and after each step;
                              ReduceLROnPlateau's case has the metrics given to step() as its input
"""
import os

import torch

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "optimizers_reference.txt")
STEPS = 6

# The fixed problem (the same numbers are in tests/test_optim_reference.cpp):
#   loss = sum(0.5 cw w^2 + lw w) + sum(0.5 cb b^2 + lb b) + 0.1 sum(w) sum(b)
W0 = [[0.5, -1.5], [2.0, 0.25]]
B0 = [1.0, -0.75, 0.125]
CW = [[1.0, 3.0], [0.5, 2.0]]
LW = [[0.25, -0.5], [0.0, 1.0]]
CB = [2.0, 0.25, 1.5]
LB = [-0.5, 0.125, 0.0]


def f64(v):
    return torch.tensor(v, dtype=torch.float64)


def problem():
    w = f64(W0).requires_grad_()
    b = f64(B0).requires_grad_()

    def loss_fn():
        return ((0.5 * f64(CW) * w * w + f64(LW) * w).sum() + (0.5 * f64(CB) * b * b + f64(LB) * b).sum()
                + 0.1 * w.sum() * b.sum())

    return w, b, loss_fn


# Rosenbrock's function of (a, b) with a = w[0], b = w[1], as two parameters of one element each.
def rosenbrock():
    a = f64([-1.5]).requires_grad_()
    b = f64([2.0]).requires_grad_()

    def loss_fn():
        return ((1 - a) ** 2 + 100 * (b - a * a) ** 2).sum()

    return a, b, loss_fn


def values(*tensors):
    return [x for t in tensors for x in t.detach().reshape(-1).tolist()]


OPTIMIZERS = {
    "sgd": lambda w, b: torch.optim.SGD([w, b], lr=0.1),
    "sgd_momentum_dampening_wd": lambda w, b: torch.optim.SGD([w, b], lr=0.05, momentum=0.9, dampening=0.2,
                                                                weight_decay=0.01),
    "sgd_nesterov": lambda w, b: torch.optim.SGD([w, b], lr=0.05, momentum=0.8, nesterov=True),
    "adam": lambda w, b: torch.optim.Adam([w, b], lr=0.1),
    "adam_betas_wd": lambda w, b: torch.optim.Adam([w, b], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw": lambda w, b: torch.optim.AdamW([w, b], lr=0.1, weight_decay=0.05),
    "rmsprop": lambda w, b: torch.optim.RMSprop([w, b]),
    "rmsprop_alpha_wd": lambda w, b: torch.optim.RMSprop([w, b], lr=0.05, alpha=0.9, eps=1e-6, weight_decay=0.1),
    "rmsprop_momentum": lambda w, b: torch.optim.RMSprop([w, b], lr=0.02, momentum=0.9),
    "rmsprop_centered_momentum": lambda w, b: torch.optim.RMSprop([w, b], lr=0.01, alpha=0.95, momentum=0.5,
                                                                    centered=True, weight_decay=0.01),
    "adagrad": lambda w, b: torch.optim.Adagrad([w, b], lr=0.1),
    "adagrad_decay_init_wd": lambda w, b: torch.optim.Adagrad([w, b], lr=0.2, lr_decay=0.1, weight_decay=0.05,
                                                                initial_accumulator_value=0.5, eps=1e-8),
    "adadelta": lambda w, b: torch.optim.Adadelta([w, b]),
    "adadelta_rho_wd": lambda w, b: torch.optim.Adadelta([w, b], lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1),
    # Parameter groups: w with the defaults, b with its own lr and no weight decay (or other overrides).
    "sgd_groups": lambda w, b: torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.02, "weight_decay": 0.0,
                                                                  "nesterov": True}],
                                               lr=0.1, momentum=0.9, weight_decay=0.05),
    "adam_groups": lambda w, b: torch.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.01, "betas": (0.5, 0.9)}],
                                                 lr=0.1, weight_decay=0.1),
    "adamw_groups": lambda w, b: torch.optim.AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0}],
                                                   lr=0.1, weight_decay=0.2),
    "rmsprop_groups": lambda w, b: torch.optim.RMSprop([{"params": [w], "centered": True},
                                                        {"params": [b], "momentum": 0.5, "lr": 0.03}], lr=0.01),
    # Not initial_accumulator_value: PyTorch 1.13 fills every group's sum from the constructor's value.
    "adagrad_groups": lambda w, b: torch.optim.Adagrad([{"params": [w], "lr_decay": 0.5},
                                                        {"params": [b], "eps": 1e-3, "weight_decay": 0.2}], lr=0.1),
    "adadelta_groups": lambda w, b: torch.optim.Adadelta([{"params": [w]}, {"params": [b], "rho": 0.5, "lr": 0.1}]),
}

LBFGS = {
    # Fixed-step L-BFGS on Rosenbrock's function is chaotic over more iterations (rounding
    # differences grow to 1e-5 within 30 iterations at max_iter 20, and past 1e-12 at max_iter 5),
    # so these cases stay short.
    "lbfgs": dict(max_iter=4),
    "lbfgs_lr_history": dict(lr=0.5, max_iter=4, history_size=2),
    "lbfgs_strong_wolfe": dict(line_search_fn="strong_wolfe"),
    "lbfgs_strong_wolfe_short": dict(line_search_fn="strong_wolfe", max_iter=3, history_size=3),
}


def trajectory(params, step):
    """The named tensors of STEPS calls of step(): what each returned, and the parameters."""
    losses, rows = [], [values(*params)]
    for _ in range(STEPS):
        losses.append(step().item())
        rows.append(values(*params))
    return [("loss", f64(losses)), ("params", f64(rows))]


def optimizer_case(make):
    def run():
        w, b, loss_fn = problem()
        opt = make(w, b)

        def step():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            return loss

        return trajectory([w, b], step)

    return [], run


def lbfgs_case(kwargs):
    def run():
        a, b, loss_fn = rosenbrock()
        opt = torch.optim.LBFGS([a, b], **kwargs)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        return trajectory([a, b], lambda: opt.step(closure))

    return [], run


S = torch.optim.lr_scheduler
SCHEDULERS = {
    "step": lambda o: S.StepLR(o, 3, gamma=0.5),
    "cosine": lambda o: S.CosineAnnealingLR(o, 8, eta_min=0.001),
    "multistep": lambda o: S.MultiStepLR(o, [6, 2, 6, 9], gamma=0.5),
    "exponential": lambda o: S.ExponentialLR(o, 0.8),
    "linear_warmup": lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4),
    "linear_decay": lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=7),
    "linear_default": lambda o: S.LinearLR(o),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12, cycle_momentum=False),
    "onecycle_per_group": lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=12, pct_start=0.4, div_factor=10,
                                                 final_div_factor=100, cycle_momentum=False),
    "onecycle_three_phase_linear": lambda o: S.OneCycleLR(o, max_lr=2.0, total_steps=12, pct_start=0.25,
                                                          anneal_strategy="linear", three_phase=True,
                                                          cycle_momentum=False),
    "sequential_warmup_cosine": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3),
                                                             S.CosineAnnealingLR(o, 6)], milestones=[3]),
    "sequential_three": lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.5), S.StepLR(o, 2, gamma=0.1),
                                                     S.LinearLR(o, start_factor=0.5, total_iters=2)],
                                                 milestones=[2, 7]),
}
SCHEDULER_EPOCHS = 12

# ReduceLROnPlateau: the metrics, and the settings.
METRICS = [1.0, 0.9, 0.95, 0.91, 0.9001, 0.92, 0.85, 0.86, 0.86, 0.849999, 0.86, 0.9, 0.87, 0.88]
PLATEAUS = {
    "plateau_default_patience2": dict(patience=2),
    "plateau_cooldown_min_lr": dict(factor=0.5, patience=1, cooldown=2, min_lr=[0.02, 0.015]),
    "plateau_abs_threshold": dict(patience=0, threshold=0.02, threshold_mode="abs", factor=0.8),
    "plateau_max_mode": dict(mode="max", patience=1, threshold=0.01, factor=0.5),
    "plateau_eps": dict(patience=0, factor=0.9, min_lr=0.0199, eps=1e-3),
}


def two_group_sgd():
    w = f64([1.0]).requires_grad_()
    b = f64([1.0]).requires_grad_()
    return torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.02}], lr=0.1)


def lrs(opt):
    # PyTorch's OneCycleLR extrapolates past its last phase at epoch total_steps (the step
    # after the last batch), to a negative lr in the linear three-phase case; an lr below 0
    # means nothing, and tapegrad stops at 0: the reference records max(lr, 0).
    return [max(g["lr"], 0.0) for g in opt.param_groups]


def scheduler_case(make):
    def run():
        opt = two_group_sgd()
        sched = make(opt)
        rows = [lrs(opt)]
        for _ in range(SCHEDULER_EPOCHS):
            opt.step()
            sched.step()
            rows.append(lrs(opt))
        return [("lr", f64(rows))]

    return [], run


def plateau_case(kwargs):
    def run(metrics):
        opt = two_group_sgd()
        sched = S.ReduceLROnPlateau(opt, **kwargs)
        rows = [lrs(opt)]
        for m in metrics.tolist():
            sched.step(m)
            rows.append(lrs(opt))
        return [("lr", f64(rows))]

    return [f64(METRICS)], run


def main():
    torch.set_default_dtype(torch.float64)
    cases = {name: optimizer_case(make) for name, make in OPTIMIZERS.items()}
    cases.update({name: lbfgs_case(kwargs) for name, kwargs in LBFGS.items()})
    cases.update({name: scheduler_case(make) for name, make in SCHEDULERS.items()})
    cases.update({name: plateau_case(kwargs) for name, kwargs in PLATEAUS.items()})
    reference_file.write(cases, OUT, "tests/test_optim_reference.cpp", "tests/torch_reference/optimizers.py")


if __name__ == "__main__":
    main()
