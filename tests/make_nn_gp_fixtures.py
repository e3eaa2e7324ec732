#!/usr/bin/python3
"""Writes the PyTorch fixtures of the WGAN-GP tests (tests/unit/test_nn_gp.c)
into tests/fixtures/nn_gp/.

Run with Debian's python3 and its torch (1.13):  /usr/bin/python3 tests/make_nn_gp_fixtures.py
The outputs are committed; `make check` never runs Python.

Two cases, float32, PyTorch's default parameter initialisation:

  critic     a miniature of the WGAN-GP critic (blocks of conv 3x3 stride 1,
             LeakyReLU 0.2, conv 3x3 stride 2, LeakyReLU 0.2; then a linear
             layer to one score) on 1x16x16 inputs, batch 4.  Given real,
             fake, alpha and the weights (the default ones times 2, which
             brings the gradient norms from about 0.02 to about 0.6): D(real), D(fake), the gradient
             norms, GP, the critic loss
                 mean D(fake) - mean D(real) + lambda GP,  lambda = 10,
             and the gradient of that loss with respect to every critic
             parameter, the penalty computed as PyTorch-GAN's wgan_gp does
             (autograd.grad with create_graph=True, then backward).
  generator  a tiny generator (linear, reshape, nearest upsample x2,
             conv 3x3, ReLU, conv 3x3, Tanh) feeding the same kind of
             critic: z, both models' weights, G(z), D(G(z)), the generator
             loss -mean D(G(z)) and its gradient with respect to every
             generator parameter.

Each case is one file NAME.f32 of little-endian float32 tensors one after
another; index.txt lists, per case,
    case NAME
    tensor NAME ROLE COUNT [DIMS...]
with the tensors in file order.  Parameters are named as in the state_dict
of an nn.Sequential after the model's name ("D.0.weight"),
gradients "grad.D.0.weight".
"""
import os

import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn

torch.manual_seed(20261121)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn_gp")
LAMBDA = 10.0
B = 4
index = []


def write_case(name, tensors):
    index.append("case %s" % name)
    blobs = []
    for role, t in tensors:
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        index.append("tensor %s %s %d %s" % (name, role, a.size,
                                             " ".join(str(d) for d in a.shape)))
        blobs.append(a.tobytes())
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        f.write(b"".join(blobs))


def critic():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(4, 4, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(4, 8, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(8, 8, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 1))


def generator(latent):
    return nn.Sequential(
        nn.Linear(latent, 8 * 8 * 8), nn.Unflatten(1, (8, 8, 8)),
        nn.Upsample(scale_factor=2), nn.Conv2d(8, 4, 3, 1, 1), nn.ReLU(inplace=True),
        nn.Conv2d(4, 1, 3, 1, 1), nn.Tanh())


def compute_gradient_penalty(D, real_samples, fake_samples, alpha):
    """As PyTorch-GAN implementations/wgan_gp/wgan_gp.py (alpha given)."""
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = torch.ones(real_samples.shape[0], 1)
    gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates, grad_outputs=fake,
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    norms = gradients.norm(2, dim=1)
    return ((norms - 1) ** 2).mean(), norms


def params(prefix, model):
    return [(prefix + k, v) for k, v in model.state_dict().items()]


def grads(prefix, model):
    return [("grad." + prefix + k, p.grad) for k, p in model.named_parameters()]


def case_critic():
    D = critic()
    with torch.no_grad():  # gradient norms nearer 1 than at the default init
        for p in D.parameters():
            p.mul_(2.0)
    real = torch.rand(B, 1, 16, 16) * 2 - 1
    fake = torch.tanh(torch.randn(B, 1, 16, 16))
    alpha = torch.tensor(np.random.RandomState(5).random_sample((B, 1, 1, 1)), dtype=torch.float32)
    D.zero_grad()
    real_validity = D(real)
    fake_validity = D(fake)
    gp, norms = compute_gradient_penalty(D, real.data, fake.data, alpha)
    d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + LAMBDA * gp
    d_loss.backward()
    t = [("real", real), ("fake", fake), ("alpha", alpha.view(B))] + params("D.", D)
    t += [("d_real", real_validity.view(B)), ("d_fake", fake_validity.view(B)),
          ("gnorm", norms), ("gp", (LAMBDA * gp).view(1)), ("loss", d_loss.view(1))]
    t += grads("D.", D)
    write_case("critic", t)


def case_generator():
    latent = 8
    G = generator(latent)
    D = critic()
    z = torch.randn(B, latent)
    G.zero_grad()
    fake = G(z)
    score = D(fake)
    g_loss = -torch.mean(score)
    g_loss.backward()
    t = [("z", z)] + params("G.", G) + params("D.", D)
    t += [("fake", fake), ("score", score.view(B)), ("g_loss", g_loss.view(1))]
    t += grads("G.", G)
    write_case("generator", t)


def main():
    os.makedirs(OUT, exist_ok=True)
    case_critic()
    case_generator()
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
