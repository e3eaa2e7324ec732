#!/usr/bin/python3
"""Writes the PyTorch fixture of whole WGAN-GP training iterations
(tests/unit/test_nn_step.c) into tests/fixtures/nn_step/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_nn_step_fixtures.py
The outputs are committed; `make check` never runs Python.

Models (float32, PyTorch's default initialisation; the critic's weights
then doubled, which brings the gradient norms of the penalty from about
0.02 to about 0.6, nearer the penalty's target 1):

  D  a miniature of the WGAN-GP critic on 1x16x16: two blocks of
     conv 3x3 stride 1, LeakyReLU 0.2, conv 3x3 stride 2, LeakyReLU 0.2
     (1 -> 4 -> 4, 4 -> 8 -> 8 channels), then flatten and a linear layer
     to one score.
  G  linear 8 -> 8*8*8, reshape to 8x8x8, nearest upsample x2, conv 3x3
     8 -> 4, ReLU, conv 3x3 4 -> 1, Tanh: 1x16x16.

Both with Adam(lr 2e-4, betas (0.5, 0.999)), as PyTorch-GAN's
implementations/wgan_gp/wgan_gp.py.  Batch 4, lambda_gp 10.  Three
iterations of that script's loop, in order:

  d1  critic:    optimizer_D.zero_grad(); fake = G(z1).detach();
                 loss_D = -mean D(real1) + mean D(fake)
                          + lambda_gp * mean (||grad_x D(x_hat)|| - 1)^2,
                 x_hat = alpha1 real1 + (1 - alpha1) fake, the gradient by
                 autograd.grad(create_graph=True); loss_D.backward();
                 optimizer_D.step()
  g1  generator: optimizer_G.zero_grad(); loss_G = -mean D(G(zg));
                 loss_G.backward(); optimizer_G.step()
                 (zg = z1: the script reuses the critic iteration's z)
  d2  critic again with real2, z2, alpha2 (Adam's second step for D)

One file step.f32 of little-endian float32 tensors one after another;
index.txt lists them in file order:
    case step
    tensor step ROLE COUNT [DIMS...]
Roles: the inputs real1, z1, alpha1, zg, real2, z2, alpha2; the losses
d1.loss, d1.gp (lambda_gp times the mean penalty), g1.loss, d2.loss, d2.gp;
every parameter before the first iteration as "init.NAME" and after
iteration IT as "IT.NAME", NAME as in the state_dict of the nn.Sequential
after the model's name ("D.0.weight", "G.3.bias").
"""
import os

import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn

torch.manual_seed(20261122)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn_step")
LAMBDA_GP = 10.0
B = 4
LATENT = 8
index = ["case step"]
blobs = []


def put(role, t):
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    index.append("tensor step %s %d %s" % (role, a.size, " ".join(str(d) for d in a.shape)))
    blobs.append(a.tobytes())


def critic():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(4, 4, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(4, 8, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(8, 8, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 1))


def generator():
    return nn.Sequential(
        nn.Linear(LATENT, 8 * 8 * 8), nn.Unflatten(1, (8, 8, 8)),
        nn.Upsample(scale_factor=2), nn.Conv2d(8, 4, 3, 1, 1), nn.ReLU(inplace=True),
        nn.Conv2d(4, 1, 3, 1, 1), nn.Tanh())


def compute_gradient_penalty(D, real_samples, fake_samples, alpha):
    """As PyTorch-GAN's wgan_gp.py, with alpha given instead of drawn."""
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = torch.ones(real_samples.shape[0], 1)
    gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates, grad_outputs=fake,
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def put_params(prefix, G, D):
    for name, model in (("G.", G), ("D.", D)):
        for k, v in model.state_dict().items():
            put(prefix + name + k, v)


def min_grad(model):
    """Smallest |gradient| element that is not exactly zero (a gradient
    near Adam's eps would make its first update ill-conditioned)."""
    m = float("inf")
    for p in model.parameters():
        g = p.grad.abs()
        g = g[g > 0]
        if g.numel():
            m = min(m, g.min().item())
    return m


def critic_iteration(G, D, opt_D, real, z, alpha, tag):
    opt_D.zero_grad()
    fake = G(z).detach()
    real_validity = D(real)
    fake_validity = D(fake)
    gp = compute_gradient_penalty(D, real.data, fake.data, alpha)
    d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + LAMBDA_GP * gp
    d_loss.backward()
    print("%s: loss %.6g, GP %.6g, smallest nonzero |grad| %.3g" %
          (tag, d_loss.item(), LAMBDA_GP * gp.item(), min_grad(D)))
    opt_D.step()
    return d_loss, LAMBDA_GP * gp


def generator_iteration(G, D, opt_G, z):
    opt_G.zero_grad()
    g_loss = -torch.mean(D(G(z)))
    g_loss.backward()
    print("g1: loss %.6g, smallest nonzero |grad| %.3g" % (g_loss.item(), min_grad(G)))
    opt_G.step()
    return g_loss


def main():
    os.makedirs(OUT, exist_ok=True)
    G = generator()
    D = critic()
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(2.0)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rs = np.random.RandomState(7)
    real1 = torch.rand(B, 1, 16, 16) * 2 - 1
    real2 = torch.rand(B, 1, 16, 16) * 2 - 1
    z1 = torch.randn(B, LATENT)
    z2 = torch.randn(B, LATENT)
    zg = z1.clone()
    alpha1 = torch.tensor(rs.random_sample((B, 1, 1, 1)), dtype=torch.float32)
    alpha2 = torch.tensor(rs.random_sample((B, 1, 1, 1)), dtype=torch.float32)
    for role, t in (("real1", real1), ("z1", z1), ("alpha1", alpha1.view(B)), ("zg", zg),
                    ("real2", real2), ("z2", z2), ("alpha2", alpha2.view(B))):
        put(role, t)
    put_params("init.", G, D)

    loss, gp = critic_iteration(G, D, opt_D, real1, z1, alpha1, "d1")
    put("d1.loss", loss.view(1))
    put("d1.gp", gp.view(1))
    put_params("d1.", G, D)

    loss = generator_iteration(G, D, opt_G, zg)
    put("g1.loss", loss.view(1))
    put_params("g1.", G, D)

    loss, gp = critic_iteration(G, D, opt_D, real2, z2, alpha2, "d2")
    put("d2.loss", loss.view(1))
    put("d2.gp", gp.view(1))
    put_params("d2.", G, D)

    with open(os.path.join(OUT, "step.f32"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
