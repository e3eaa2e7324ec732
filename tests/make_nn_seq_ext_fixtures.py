#!/usr/bin/python3
"""Writes the PyTorch fixture of the sequential-model additions (batchnorm,
dropout, transposed conv; tests/unit/test_nn_seq_ext.c) into
tests/fixtures/nn_seq_ext/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_nn_seq_ext_fixtures.py
The outputs are committed; `make check` never runs Python.

Model P (float32), an nn.Sequential whose indices are the layer indices of
the C model:
   0 Linear(6, 36)            1 reshape (4, 3, 3)
   2 BatchNorm2d(4, eps 0.8)  3 ConvTranspose2d(4, 3, 3, stride 2, pad 1,
                                 output_padding 1) -> 3 x 6 x 6
   4 BatchNorm2d(3)           5 LeakyReLU(0.2)
   6 Dropout2d(0)             7 ConvTranspose2d(3, 2, 4, stride 2, pad 1)
                                 -> 2 x 12 x 12
   8 Tanh                     9 flatten
  10 Linear(288, 5)          11 BatchNorm1d(5, eps 0.8, momentum 0.3)
  12 Dropout(0)              13 Sigmoid
PyTorch's default initialisation, then every BatchNorm weight and bias and
running statistic set to random values (so that none is trivial).  In
training mode, batch of 5: the forward of x, the backward of
s = sum(dy * y) with a random dy; recorded: the output y, dx, every
parameter gradient, the running statistics after that forward; then, in
evaluation mode, the output of a second input x2 (running statistics as
updated).

File p.f32, little-endian float32 tensors one after another; index.txt
lists them:  tensor p ROLE COUNT [DIMS...].  Roles: x, dy, y, dx, x2,
y_eval, "init.NAME" (every state_dict entry but num_batches_tracked, names
"p.<i>.weight" ...), "grad.NAME" for parameters, "after.NAME" for the
running statistics.
"""
import os

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(20261123)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn_seq_ext")
B = 5


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    P = nn.Sequential(
        nn.Linear(6, 36), Reshape(4, 3, 3), nn.BatchNorm2d(4, 0.8),
        nn.ConvTranspose2d(4, 3, 3, 2, 1, 1), nn.BatchNorm2d(3), nn.LeakyReLU(0.2),
        nn.Dropout2d(0.0), nn.ConvTranspose2d(3, 2, 4, 2, 1), nn.Tanh(), nn.Flatten(),
        nn.Linear(288, 5), nn.BatchNorm1d(5, 0.8, 0.3), nn.Dropout(0.0), nn.Sigmoid())
    with torch.no_grad():
        for m in P.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    init = [(k, v.detach().clone()) for k, v in P.state_dict().items()
            if not k.endswith("num_batches_tracked")]
    x = torch.randn(B, 6, requires_grad=True)
    P.train()
    y = P(x)
    dy = torch.rand(B, 5) * 2 - 1
    (y * dy).sum().backward()
    P.eval()
    x2 = torch.randn(B, 6)
    with torch.no_grad():
        y_eval = P(x2)
    index, blobs = [], []

    def emit(role, t):
        a = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
        index.append("tensor p %s %d %s" % (role, a.size, " ".join(str(d) for d in a.shape)))
        blobs.append(a.tobytes())

    emit("x", x.detach().numpy())
    emit("dy", dy.numpy())
    emit("y", y.detach().numpy())
    emit("dx", x.grad.numpy())
    emit("x2", x2.numpy())
    emit("y_eval", y_eval.numpy())
    for k, v in init:
        emit("init.p." + k, v.numpy())
    for k, p in P.named_parameters():
        emit("grad.p." + k, p.grad.numpy())
    for k, v in P.state_dict().items():
        if "running" in k:
            emit("after.p." + k, v.numpy())
    with open(os.path.join(OUT, "p.f32"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")
    print(sum(len(b) for b in blobs), "bytes")


if __name__ == "__main__":
    main()
