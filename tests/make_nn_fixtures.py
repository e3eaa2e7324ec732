#!/usr/bin/python3
"""Writes the PyTorch fixtures of the neural-network engine's tests
(tests/unit/test_nn_torch.c) into tests/fixtures/nn/.

Run with Debian's python3 and its torch (1.13):  /usr/bin/python3 tests/make_nn_fixtures.py
The outputs are committed; `make check` never runs Python.

For every case: the inputs, the parameters, the output of the forward pass
and the gradients of sum(output * dy) for a random upstream gradient dy
(for a loss: the gradient of dloss * loss).  Each case is one file
NAME.f32 of little-endian float32 tensors one after another; index.txt
lists, per case,
    case NAME OP key=value ...
    tensor NAME ROLE COUNT [DIMS...]
with the tensors in file order.  Shapes are small: the whole folder stays
within a few hundred KB.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn")
index = []


def write_case(name, op, params, tensors):
    """tensors: list of (role, tensor) written in order."""
    line = "case %s %s %s" % (name, op, " ".join("%s=%s" % kv for kv in params.items()))
    index.append(line.rstrip())
    blobs = []
    for role, t in tensors:
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        index.append("tensor %s %s %d %s" % (name, role, a.size, " ".join(str(d) for d in a.shape)))
        blobs.append(a.tobytes())
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        f.write(b"".join(blobs))


def leaf(t):
    return t.clone().requires_grad_(True)


def linear(name, B, fin, fout, bias=True):
    x = leaf(torch.randn(B, fin))
    m = torch.nn.Linear(fin, fout, bias=bias)
    y = m(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = [("x", x), ("W", m.weight)] + ([("b", m.bias)] if bias else []) + [("dy", dy), ("y", y),
         ("dx", x.grad), ("dW", m.weight.grad)] + ([("db", m.bias.grad)] if bias else [])
    write_case(name, "linear", dict(B=B, **{"in": fin}, out=fout, bias=int(bias)), t)


def conv(name, B, C, H, W, OC, k, s, p, bias=True):
    kh, kw = k
    x = leaf(torch.randn(B, C, H, W))
    m = torch.nn.Conv2d(C, OC, (kh, kw), stride=s, padding=p, bias=bias)
    y = m(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = [("x", x), ("w", m.weight)] + ([("b", m.bias)] if bias else []) + [("dy", dy), ("y", y),
         ("dx", x.grad), ("dw", m.weight.grad)] + ([("db", m.bias.grad)] if bias else [])
    write_case(name, "conv2d", dict(B=B, C=C, H=H, W=W, OC=OC, KH=kh, KW=kw, SH=s[0], SW=s[1],
                                    PH=p[0], PW=p[1], bias=int(bias)), t)


def convt(name, B, C, H, W, OC, k, s, p, op, bias=True):
    kh, kw = k
    x = leaf(torch.randn(B, C, H, W))
    m = torch.nn.ConvTranspose2d(C, OC, (kh, kw), stride=s, padding=p, output_padding=op,
                                 bias=bias)
    y = m(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = [("x", x), ("w", m.weight)] + ([("b", m.bias)] if bias else []) + [("dy", dy), ("y", y),
         ("dx", x.grad), ("dw", m.weight.grad)] + ([("db", m.bias.grad)] if bias else [])
    write_case(name, "conv_transpose2d",
               dict(B=B, C=C, H=H, W=W, OC=OC, KH=kh, KW=kw, SH=s[0], SW=s[1], PH=p[0], PW=p[1],
                    OPH=op[0], OPW=op[1], bias=int(bias)), t)


def unary(name, op, fn, shape, **params):
    x = leaf(torch.randn(*shape) * 3)
    y = fn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    write_case(name, op, dict(n=x.numel(), **params),
               [("x", x), ("dy", dy), ("y", y), ("dx", x.grad)])


def loss(name, op, fn, x, t, **params):
    x = leaf(x)
    l = fn(x, t) if t is not None else fn(x)
    dl = torch.tensor(0.7)
    l.backward(dl)
    tens = [("x", x)] + ([("t", t)] if t is not None else []) + [
        ("dloss", dl.reshape(1)), ("loss", l.reshape(1)), ("dx", x.grad)]
    write_case(name, op, dict(n=x.numel(), has_t=int(t is not None), **params), tens)


def pool(name, op, B, C, H, W, k, s, p, include_pad=1):
    x = leaf(torch.randn(B, C, H, W))
    if op == "maxpool2d":
        y = F.max_pool2d(x, k, s, p)
    else:
        y = F.avg_pool2d(x, k, s, p, count_include_pad=bool(include_pad))
    dy = torch.randn_like(y)
    y.backward(dy)
    write_case(name, op, dict(B=B, C=C, H=H, W=W, KH=k, KW=k, SH=s, SW=s, PH=p, PW=p,
                              include_pad=include_pad),
               [("x", x), ("dy", dy), ("y", y), ("dx", x.grad)])


def batchnorm(name, shape, eps, momentum, train, affine=True):
    C = shape[1]
    m = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(
        C, eps=eps, momentum=momentum, affine=affine)
    with torch.no_grad():
        m.running_mean.copy_(torch.randn(C) * 0.5)
        m.running_var.copy_(torch.rand(C) + 0.5)
        if affine:
            m.weight.copy_(torch.rand(C) + 0.5)
            m.bias.copy_(torch.randn(C))
    rm0, rv0 = m.running_mean.clone(), m.running_var.clone()
    m.train(train)
    x = leaf(torch.randn(*shape) * 2 + 1)
    y = m(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    S = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    t = [("x", x)] + ([("gamma", m.weight), ("beta", m.bias)] if affine else []) + [
        ("rmean0", rm0), ("rvar0", rv0), ("dy", dy), ("y", y), ("dx", x.grad)] + (
        [("dgamma", m.weight.grad), ("dbeta", m.bias.grad)] if affine else []) + [
        ("rmean", m.running_mean), ("rvar", m.running_var)]
    write_case(name, "batchnorm", dict(B=shape[0], C=C, S=S, eps=repr(eps), momentum=repr(momentum),
                                       train=int(train), affine=int(affine)), t)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".f32") or f == "index.txt":
            os.remove(os.path.join(OUT, f))

    linear("linear", 4, 13, 6)
    linear("linear_nobias_out1", 5, 9, 1, bias=False)

    conv("conv_3x3", 2, 3, 9, 8, 5, (3, 3), (1, 1), (1, 1))
    conv("conv_3x3_s2", 2, 4, 10, 9, 6, (3, 3), (2, 2), (1, 1))
    conv("conv_1x1", 2, 6, 5, 7, 4, (1, 1), (1, 1), (0, 0))
    conv("conv_9x9_srcnn", 2, 1, 15, 14, 8, (9, 9), (1, 1), (4, 4))
    conv("conv_5x5_oc1", 2, 6, 9, 8, 1, (5, 5), (1, 1), (2, 2))
    conv("conv_1x7", 2, 3, 6, 9, 4, (1, 7), (1, 1), (0, 3))
    conv("conv_7x1", 2, 3, 9, 6, 4, (7, 1), (1, 1), (3, 0))
    conv("conv_3x1", 2, 3, 7, 5, 4, (3, 1), (1, 1), (1, 0))
    conv("conv_4x4_s2_nobias", 2, 3, 8, 8, 4, (4, 4), (2, 2), (1, 1), bias=False)
    conv("conv_3x3_s2_valid", 1, 3, 11, 11, 5, (3, 3), (2, 2), (0, 0))

    convt("convt_4x4_s2", 2, 4, 5, 5, 3, (4, 4), (2, 2), (1, 1), (0, 0))
    convt("convt_3x3_s2_op1", 2, 3, 4, 5, 4, (3, 3), (2, 2), (1, 1), (1, 1))
    convt("convt_5x3_s32", 1, 2, 4, 3, 3, (5, 3), (3, 2), (2, 1), (2, 1))

    up = torch.nn.Upsample(scale_factor=2, mode="nearest")
    unary("upsample_x2", "upsample", up, (2, 3, 4, 5), B=2, C=3, H=4, W=5, s=2)
    a = leaf(torch.randn(2, 3, 4, 4))
    b = leaf(torch.randn(2, 2, 4, 4))
    y = torch.cat([a, b], dim=1)
    dy = torch.randn_like(y)
    y.backward(dy)
    write_case("concat", "concat", dict(B=2, Ca=3, Cb=2, S=16),
               [("a", a), ("b", b), ("dy", dy), ("y", y), ("da", a.grad), ("db", b.grad)])

    unary("relu", "relu", torch.relu, (3, 50))
    unary("leaky_relu", "leaky_relu", lambda x: F.leaky_relu(x, 0.2), (3, 50), slope=0.2)
    unary("tanh", "tanh", torch.tanh, (3, 50))
    unary("sigmoid", "sigmoid", torch.sigmoid, (3, 50))

    loss("mse", "mse", F.mse_loss, torch.randn(40), torch.randn(40))
    loss("l1", "l1", F.l1_loss, torch.randn(40), torch.randn(40))
    p = torch.rand(40)
    p[0], p[1] = 0.0, 1.0          # the clamped logs
    tgt = (torch.rand(40) > 0.5).float()
    tgt[0], tgt[1] = 1.0, 0.0
    loss("bce", "bce", F.binary_cross_entropy, p, tgt)
    loss("bce_soft", "bce", F.binary_cross_entropy, torch.rand(40) * 0.98 + 0.01, torch.rand(40))
    loss("bce_logits", "bce_logits", F.binary_cross_entropy_with_logits, torch.randn(40) * 4,
         torch.rand(40))
    loss("wasserstein", "wasserstein", lambda x: -torch.mean(x), torch.randn(40), None, sign=-1)

    pool("maxpool_3x3_s2", "maxpool2d", 2, 3, 11, 10, 3, 2, 0)
    pool("maxpool_3x3_s1_p1", "maxpool2d", 1, 2, 7, 8, 3, 1, 1)
    pool("avgpool_3x3_p1_exclude", "avgpool2d", 2, 3, 7, 6, 3, 1, 1, include_pad=0)
    pool("avgpool_3x3_p1_include", "avgpool2d", 2, 3, 7, 6, 3, 1, 1, include_pad=1)
    x = leaf(torch.randn(2, 5, 6, 7))
    y = F.adaptive_avg_pool2d(x, 1).reshape(2, 5)
    dy = torch.randn_like(y)
    y.backward(dy)
    write_case("global_avgpool", "global_avgpool", dict(B=2, C=5, S=42),
               [("x", x), ("dy", dy), ("y", y), ("dx", x.grad)])

    batchnorm("bn2d_train_eps0.8", (4, 3, 5, 6), 0.8, 0.1, True)
    batchnorm("bn2d_train", (4, 3, 5, 6), 1e-5, 0.1, True)
    batchnorm("bn1d_train_eps0.8", (16, 7), 0.8, 0.1, True)
    batchnorm("bn2d_train_m0.3_noaffine", (3, 2, 4, 4), 1e-3, 0.3, True, affine=False)
    batchnorm("bn2d_eval", (4, 3, 5, 6), 1e-5, 0.1, False)

    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("# written by tests/make_nn_fixtures.py (torch %s); see that script\n"
                % torch.__version__)
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    sys.exit(main())
