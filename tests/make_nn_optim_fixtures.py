#!/usr/bin/python3
"""Writes the PyTorch fixtures of the optimizer tests (tests/unit/test_nn_optim.c)
into tests/fixtures/nn_optim/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_nn_optim_fixtures.py
The outputs are committed; `make check` never runs Python.

Every case is one torch.optim optimizer over three small tensors P0, P1, P2
(of the shapes in SHAPES) run for three steps, the gradients of each step
fixed in advance (written into .grad, no backward pass).  Each case is one
file NAME.f32 of little-endian float32 tensors one after another; index.txt
lists, per case,
    case NAME OPT key=value ...
    tensor NAME ROLE COUNT [DIMS...]
with the tensors in file order.  Keys: lr (group 0), lr1 (group 1, when the
case has two groups; P2 is then the only tensor of group 1), wd, wd1,
momentum, beta1, beta2, eps, alpha.  Roles: pK (initial value of tensor K),
then for each step S = 1..3: gK.sS (its gradient), pK.sS (the value after
the step) and the optimizer state after the step: mK.sS and vK.sS (Adam
exp_avg, exp_avg_sq), sqK.sS (RMSprop square_avg), bufK.sS (SGD
momentum_buffer).
"""
import os

import torch

torch.manual_seed(1234)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn_optim")
SHAPES = [(4, 3), (5,), (2, 3, 2, 2)]
STEPS = 3
index = []


def fmt(v):
    return repr(float(v))


def case(name, opt, hyper, group1=None):
    """hyper: constructor keywords of the optimizer (group 0); group1: the
    keywords of P2's own group, or None for one group."""
    params = [torch.randn(*s) for s in SHAPES]
    grads = [[torch.randn(*s) * (0.5 + st) for s in SHAPES] for st in range(STEPS)]
    leaves = [p.clone().requires_grad_(True) for p in params]
    if group1 is None:
        groups = [{"params": leaves}]
    else:
        groups = [{"params": leaves[:2]}, dict(params=[leaves[2]], **group1)]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[opt]
    o = cls(groups, **hyper)
    tensors = [("p%d" % k, p) for k, p in enumerate(params)]
    for st in range(STEPS):
        for k, leaf in enumerate(leaves):
            leaf.grad = grads[st][k].clone()
        o.step()
        for k, leaf in enumerate(leaves):
            s = ".s%d" % (st + 1)
            tensors.append(("g%d%s" % (k, s), grads[st][k]))
            tensors.append(("p%d%s" % (k, s), leaf.detach().clone()))
            state = o.state[leaf]
            if opt == "adam":
                tensors.append(("m%d%s" % (k, s), state["exp_avg"].clone()))
                tensors.append(("v%d%s" % (k, s), state["exp_avg_sq"].clone()))
            elif opt == "rmsprop":
                tensors.append(("sq%d%s" % (k, s), state["square_avg"].clone()))
            elif hyper.get("momentum", 0) != 0:
                tensors.append(("buf%d%s" % (k, s), state["momentum_buffer"].clone()))
    g0 = o.param_groups[0]
    keys = {"lr": g0["lr"], "wd": g0["weight_decay"]}
    if group1 is not None:
        keys["lr1"] = o.param_groups[1]["lr"]
        keys["wd1"] = o.param_groups[1]["weight_decay"]
    if opt == "sgd":
        keys["momentum"] = g0["momentum"]
    elif opt == "adam":
        keys["beta1"], keys["beta2"] = g0["betas"]
        keys["eps"] = g0["eps"]
    else:
        keys["alpha"] = g0["alpha"]
        keys["eps"] = g0["eps"]
    kv = " ".join("%s=%s" % (k, fmt(v)) for k, v in keys.items())
    index.append("case %s %s %s" % (name, opt, kv))
    blobs = []
    for role, t in tensors:
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        index.append("tensor %s %s %d %s" % (name, role, a.size, " ".join(str(d) for d in a.shape)))
        blobs.append(a.tobytes())
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        f.write(b"".join(blobs))


def main():
    os.makedirs(OUT, exist_ok=True)
    case("sgd_plain", "sgd", dict(lr=0.05))
    case("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9))
    case("sgd_momentum_wd", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01))
    case("sgd_groups", "sgd", dict(lr=0.1, momentum=0.5, weight_decay=1e-3), dict(lr=0.01))
    case("adam_default", "adam", dict(lr=1e-3))
    case("adam_dcgan_wd", "adam", dict(lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-2))
    case("adam_groups", "adam", dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-6),
         dict(lr=1e-3, weight_decay=0.1))
    case("rmsprop_default", "rmsprop", dict(lr=1e-2))
    case("rmsprop_wd", "rmsprop", dict(lr=5e-5, weight_decay=0.05))
    case("rmsprop_groups", "rmsprop", dict(lr=1e-3), dict(lr=1e-4, weight_decay=0.01))
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
