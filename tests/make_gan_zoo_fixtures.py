#!/usr/bin/python3
"""Writes the PyTorch fixtures of one training iteration of each model kind
of libstream/gan/zoo.c (tests/unit/test_gan_zoo.c) into
tests/fixtures/gan_zoo/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_gan_zoo_fixtures.py
The outputs are committed; `make check` never runs Python.

Each model is built here layer for layer as zoo.c builds it, as an
nn.Sequential whose indices are the layer indices of the C model (reshape
and flatten layers included), on 1 x 16 x 16 images, with every hidden
width divided by DIV (gan_zoo_test_config in the test) and a small latent
size, so that the fixtures stay small.  Dropout layers have p = 0 here and
are the identity on the C side (the test's dropout_off): the masks of the
two generators cannot agree; dropout itself is tested in test_nn_seq_ext.

One iteration, float32, from the initial weights recorded here, with the
real batch and noise recorded here:
  gan, dcgan, simple-gan (PyTorch-GAN's gan.py / dcgan.py loop):
      optimizer_G.zero_grad(); gen = G(z); g_loss = BCE(D(gen), 1);
      g_loss.backward(); optimizer_G.step();
      optimizer_D.zero_grad();
      d_loss = (BCE(D(real), 1) + BCE(D(gen.detach()), 0)) / 2;
      d_loss.backward(); optimizer_D.step()
  wgan (wgan.py, batch index i = 0):
      optimizer_D.zero_grad(); fake = G(z).detach();
      loss_D = -mean D(real) + mean D(fake); backward; step;
      every D parameter clamped to [-0.01, 0.01];
      optimizer_G.zero_grad(); gen = G(z); loss_G = -mean D(gen);
      backward; step
Optimizers: gan, dcgan Adam(2e-4, (0.5, 0.999)); wgan RMSprop(5e-5);
simple-gan RMSprop(G 2e-4, D 1e-4, alpha 0.9, weight_decay 1e-5).

Files: MODEL.f32, little-endian float32 tensors one after another;
index.txt lists them in file order:
    case MODEL B LATENT DIV
    tensor MODEL ROLE COUNT [DIMS...]
Roles: real, z, g_loss, d_loss, "init.NAME" and "after.NAME" for every
entry of the state_dicts of G ("g.") and D ("d.") but num_batches_tracked
(running statistics included).
"""
import os

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(20261121)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "gan_zoo")
S = 16
B = 6


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def W(w, div):
    return max(w // div, 1)


def mlp_g(latent, div):
    w = [W(128, div), W(256, div), W(512, div), W(1024, div)]
    L = [nn.Linear(latent, w[0]), nn.LeakyReLU(0.2)]
    for k in range(3):
        L += [nn.Linear(w[k], w[k + 1]), nn.BatchNorm1d(w[k + 1], 0.8), nn.LeakyReLU(0.2)]
    L += [nn.Linear(w[3], S * S), nn.Tanh(), Reshape(1, S, S)]
    return nn.Sequential(*L)


def mlp_d(div, sigmoid):
    L = [nn.Flatten(), nn.Linear(S * S, W(512, div)), nn.LeakyReLU(0.2),
         nn.Linear(W(512, div), W(256, div)), nn.LeakyReLU(0.2), nn.Linear(W(256, div), 1)]
    if sigmoid:
        L.append(nn.Sigmoid())
    return nn.Sequential(*L)


def dcgan_g(latent, div):
    s, c1, c2 = S // 4, W(128, div), W(64, div)
    return nn.Sequential(
        nn.Linear(latent, c1 * s * s), Reshape(c1, s, s), nn.BatchNorm2d(c1),
        nn.Upsample(scale_factor=2), nn.Conv2d(c1, c1, 3, 1, 1), nn.BatchNorm2d(c1, 0.8),
        nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2), nn.Conv2d(c1, c2, 3, 1, 1),
        nn.BatchNorm2d(c2, 0.8), nn.LeakyReLU(0.2), nn.Conv2d(c2, 1, 3, 1, 1), nn.Tanh())


def dcgan_d(div):
    ch = [1, W(16, div), W(32, div), W(64, div), W(128, div)]
    L = []
    for k in range(4):
        L += [nn.Conv2d(ch[k], ch[k + 1], 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout2d(0.0)]
        if k > 0:
            L.append(nn.BatchNorm2d(ch[k + 1], 0.8))
    ds = S // 16
    L += [nn.Flatten(), nn.Linear(ch[4] * ds * ds, 1), nn.Sigmoid()]
    return nn.Sequential(*L)


def simple_g(latent, div):
    q = S // 4
    L = [Reshape(latent // (q * q), q, q)]
    c = latent // (q * q)
    for k, f in enumerate([256, 128, 64, 32, 16]):
        s, op = (2, 1) if k < 2 else (1, 0)
        L += [nn.ConvTranspose2d(c, W(f, div), 3, s, 1, op), nn.BatchNorm2d(W(f, div), eps=1e-3),
              nn.LeakyReLU(0.2)]
        c = W(f, div)
    L.append(nn.ConvTranspose2d(c, 1, 3, 1, 1, 0))
    return nn.Sequential(*L)


def simple_d(div):
    L, c, h = [], 1, S
    for k, f in enumerate([256, 128, 64, 32]):
        s = 2 if k == 0 else 1
        L += [nn.Conv2d(c, W(f, div), 3, s, 1), nn.LeakyReLU(0.2), nn.Dropout(0.0)]
        c = W(f, div)
        h = (h + 2 - 3) // s + 1
    L += [nn.Flatten(), nn.Linear(c * h * h, W(128, div)), nn.LeakyReLU(0.2),
          nn.Linear(W(128, div), 1), nn.Sigmoid()]
    return nn.Sequential(*L)


def dcgan_init(m):
    # As weights_init_normal of dcgan.py, but conv weights N(0, 0.2) instead
    # of N(0, 0.02): through this narrow test model the small weights leave
    # several gradients at rounding-noise level, whose sign Adam's first
    # step turns into +-lr on both sides alike.
    for mod in m.modules():
        name = mod.__class__.__name__
        if name.find("Conv") != -1:
            nn.init.normal_(mod.weight, 0.0, 0.2)
        elif name.find("BatchNorm2d") != -1:
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.constant_(mod.bias, 0.0)


def simple_init(m):
    # The model's init is N(0, 0.02) with zero biases; through this narrow
    # test model that leaves D(x) = 1/2 to 7 digits and gradients near
    # RMSprop's eps, so the fixture starts from wider weights (std 0.1)
    # and small random biases instead.
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(mod.weight, 0.0, 0.1)
            nn.init.uniform_(mod.bias, -0.1, 0.1)


def state(G, D):
    out = []
    for prefix, mod in (("g", G), ("d", D)):
        for k, v in mod.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            out.append((prefix + "." + k, v.detach().clone()))
    return out


def bce_iteration(G, D, oG, oD, real, z):
    bce = nn.BCELoss()
    valid = torch.ones(real.shape[0], 1)
    fake = torch.zeros(real.shape[0], 1)
    oG.zero_grad()
    gen = G(z)
    g_loss = bce(D(gen), valid)
    g_loss.backward()
    oG.step()
    oD.zero_grad()
    d_loss = (bce(D(real), valid) + bce(D(gen.detach()), fake)) / 2
    d_loss.backward()
    oD.step()
    return g_loss.item(), d_loss.item()


def wgan_iteration(G, D, oG, oD, real, z):
    oD.zero_grad()
    fake = G(z).detach()
    loss_D = -torch.mean(D(real)) + torch.mean(D(fake))
    loss_D.backward()
    oD.step()
    for p in D.parameters():
        p.data.clamp_(-0.01, 0.01)
    oG.zero_grad()
    gen = G(z)
    loss_G = -torch.mean(D(gen))
    loss_G.backward()
    oG.step()
    return loss_G.item(), loss_D.item()


index = []


def emit(model, blobs, role, t):
    a = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
    index.append("tensor %s %s %d %s" % (model, role, a.size, " ".join(str(d) for d in a.shape)))
    blobs.append(a.tobytes())


def case(model, latent, div):
    if model == "gan":
        G, D = mlp_g(latent, div), mlp_d(div, True)
    elif model == "wgan":
        G, D = mlp_g(latent, div), mlp_d(div, False)
    elif model == "dcgan":
        G, D = dcgan_g(latent, div), dcgan_d(div)
        dcgan_init(G)
        dcgan_init(D)
    else:
        G, D = simple_g(latent, div), simple_d(div)
        simple_init(G)
        simple_init(D)
    # non-trivial running statistics to start from
    for mod in list(G.modules()) + list(D.modules()):
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
    real = torch.rand(B, 1, S, S) * 2 - 1
    if model == "simple-gan":
        z = torch.rand(B, latent) * 2 - 1
    else:
        z = torch.randn(B, latent)
    if model in ("gan", "dcgan"):
        oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    elif model == "wgan":
        oG = torch.optim.RMSprop(G.parameters(), lr=5e-5)
        oD = torch.optim.RMSprop(D.parameters(), lr=5e-5)
    else:
        oG = torch.optim.RMSprop(G.parameters(), lr=2e-4, alpha=0.9, weight_decay=1e-5)
        oD = torch.optim.RMSprop(D.parameters(), lr=1e-4, alpha=0.9, weight_decay=1e-5)
    G.train()
    D.train()
    blobs = []
    index.append("case %s %d %d %d" % (model, B, latent, div))
    emit(model, blobs, "real", real)
    emit(model, blobs, "z", z)
    init = state(G, D)
    it = wgan_iteration if model == "wgan" else bce_iteration
    g_loss, d_loss = it(G, D, oG, oD, real, z)
    emit(model, blobs, "g_loss", [g_loss])
    emit(model, blobs, "d_loss", [d_loss])
    for k, v in init:
        emit(model, blobs, "init." + k, v.numpy())
    for k, v in state(G, D):
        emit(model, blobs, "after." + k, v.numpy())
    with open(os.path.join(OUT, model + ".f32"), "wb") as f:
        f.write(b"".join(blobs))
    print(model, "g_loss %.6f d_loss %.6f" % (g_loss, d_loss),
          sum(len(b) for b in blobs), "bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    case("gan", 8, 32)
    case("wgan", 8, 32)
    case("dcgan", 8, 8)
    case("simple-gan", 16, 8)
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
