#!/usr/bin/python3
"""Writes the fixtures of the FID statistics tests (tests/unit/test_fid_stats.c,
test_npz.c, test_pickle.c) into tests/fixtures/fid/.

Run with Debian's python3 (numpy, scipy, torch 1.13):
    /usr/bin/python3 tests/make_fid_fixtures.py
The outputs are committed; `make check` never runs Python.  They are
reproducible except the sd_*.pt files, whose storage keys are the memory
addresses torch.save happens to see (the tests do not depend on them).

Features are not stored: both sides generate them with the same formula
(feature_set below, repeated in C in test_fid_stats.c) from splitmix64,
using only correctly rounded IEEE operations in the same order, so C and
NumPy see bit-identical float64 features.  Expected values are written to
expected.txt as "key value..." lines with Python's round-trip float repr.

Frechet distances are computed exactly as pytorch-fid 0.3.0's
calculate_frechet_distance does (scipy.linalg.sqrtm of sigma1.dot(sigma2),
eps = 1e-6 offset fallback when the root is not finite, real part kept),
and for comparison through the eigenvalues of sqrt(S1) S2 sqrt(S1).
"""
import collections
import io
import os
import zipfile

import numpy as np
from scipy import linalg

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "fid")
M64 = (1 << 64) - 1
lines = []


def emit(key, *vals):
    lines.append(key + " " + " ".join(repr(float(v)) if isinstance(v, (float, np.floating))
                                      else str(v) for v in vals))


def splitmix_uniform(seed, count):
    """count uniforms in [0, 1): splitmix64 outputs z >> 11 times 2^-53."""
    out = np.empty(count, dtype=np.float64)
    state = seed & M64
    for k in range(count):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z = z ^ (z >> 31)
        out[k] = float(z >> 11) * (1.0 / 9007199254740992.0)
    return out


def feature_set(seed, n, d, amp, offset):
    """x[i,j] = (((u[i,j] - 0.5) + 0.5 * (u[i,(j+1)%d] - 0.5)) + amp * (u[i,0] - 0.5))
                * (1 + j / d) + offset, u row-major from splitmix64(seed)."""
    u = splitmix_uniform(seed, n * d).reshape(n, d)
    t = (u - 0.5) + 0.5 * (np.roll(u, -1, axis=1) - 0.5)
    t = t + amp * (u[:, 0:1] - 0.5)
    scale = 1.0 + np.arange(d, dtype=np.float64) / float(d)
    return t * scale[None, :] + offset


def stats(x):
    return np.mean(x, axis=0), np.cov(x, rowvar=False)


def pytorch_fid_frechet(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid 0.3.0 calculate_frechet_distance, step by step."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    fallback = 0
    if not np.isfinite(covmean).all():
        fallback = 1
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)), fallback


def eig_frechet(mu1, sigma1, mu2, sigma2):
    w, v = np.linalg.eigh(sigma1)
    b = v * np.sqrt(np.maximum(w, 0))[None, :]
    m = b.T @ sigma2 @ b
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.sum(np.sqrt(np.maximum(lam, 0))))


def frechet_cases():
    cases = [
        # name, (seed, n, d, amp, offset) for each side
        ("c64", (1, 300, 64, 0.8, 0.0), (2, 250, 64, 0.3, 0.1)),
        ("c256", (3, 600, 256, 0.8, 0.0), (4, 500, 256, 0.3, 0.05)),
        ("r256", (5, 100, 256, 0.8, 0.0), (6, 120, 256, 0.3, 0.05)),
        ("m64", (7, 40, 64, 0.8, 0.0), (8, 300, 64, 0.3, 0.1)),
    ]
    for name, a, b in cases:
        mu1, s1 = stats(feature_set(*a))
        mu2, s2 = stats(feature_set(*b))
        fid, fb = pytorch_fid_frechet(mu1, s1, mu2, s2)
        fe = eig_frechet(mu1, s1, mu2, s2)
        emit("frechet", name, *a, *b, fid, fb, fe)
        # pytorch-fid's fallback branch forced: the root of (S1 + eps I)(S2 + eps I)
        # with the traces of the unmodified matrices
        off = np.eye(s1.shape[0]) * 1e-6
        cm = linalg.sqrtm((s1 + off).dot(s2 + off)).real
        emit("frechet_eps", name, float((mu1 - mu2).dot(mu1 - mu2) + np.trace(s1) + np.trace(s2)
                                        - 2 * np.trace(cm)))
        print("%s: pytorch-fid %.17g (fallback %d), eigen route %.17g, rel diff %.3g"
              % (name, fid, fb, fe, abs(fid - fe) / abs(fe)))


def stats_fixtures():
    for name, args in (("s64", (1, 300, 64, 0.8, 0.0)), ("s64off", (9, 300, 64, 0.8, 1000.0))):
        mu, s = stats(feature_set(*args))
        emit("stats", name, *args)
        with open(os.path.join(OUT, name + ".f64"), "wb") as f:
            f.write(mu.astype("<f8").tobytes() + s.astype("<f8").tobytes())


def kid_fixtures():
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 per subset, as torch-fidelity
    computes it; subset indices drawn here and stored, so C uses the same ones."""
    n1, n2, d, S, m = 200, 150, 64, 10, 50
    f1 = feature_set(11, n1, d, 0.8, 0.0)
    f2 = feature_set(12, n2, d, 0.3, 0.1)
    rng = np.random.RandomState(1234)
    idx1 = np.stack([rng.choice(n1, m, replace=False) for _ in range(S)])
    idx2 = np.stack([rng.choice(n2, m, replace=False) for _ in range(S)])
    mmds = []
    for s in range(S):
        x, y = f1[idx1[s]], f2[idx2[s]]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
               - 2 * kxy.sum() / (m * m))
        mmds.append(mmd)
    mmds = np.array(mmds)
    emit("kid", 11, n1, 12, n2, d, S, m, float(np.mean(mmds)), float(np.std(mmds)))
    emit("kid_mmd", *[float(v) for v in mmds])
    with open(os.path.join(OUT, "kid_idx.i32"), "wb") as f:
        f.write(idx1.astype("<i4").tobytes() + idx2.astype("<i4").tobytes())


def npz_arrays(d=8):
    """mu[i] = i * 0.25 - 1, sigma[i, j] = 1 / (i + j + 1): the C test makes the same."""
    i = np.arange(d, dtype=np.float64)
    mu = i * 0.25 - 1.0
    sigma = 1.0 / (i[:, None] + i[None, :] + 1.0)
    return mu, sigma


def npy_bytes(a, version=(1, 0), fortran=False):
    buf = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def write_zip(path, members, method=zipfile.ZIP_STORED):
    """A ZIP with fixed timestamps, so the fixtures are reproducible."""
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def npz_fixtures():
    mu, sigma = npz_arrays()
    p = lambda n: os.path.join(OUT, n)
    np.savez(p("savez.npz"), mu=mu, sigma=sigma)  # numpy.savez's exact bytes
    np.savez_compressed(p("savez_compressed.npz"), mu=mu, sigma=sigma)
    # also the shape pytorch-fid writes, 2048-d, compressed, for a size check:
    # mu = 0, sigma = identity compresses to a few KB
    np.savez_compressed(p("savez_2048.npz"), mu=np.zeros(2048), sigma=np.eye(2048))
    # float32, and a non-symmetric sigma[i, j] = 10 i + j in Fortran order
    ns = 10.0 * np.arange(8)[:, None] + np.arange(8)[None, :]
    write_zip(p("f4_fortran.npz"), [("mu.npy", npy_bytes(mu.astype("<f4"))),
                                    ("sigma.npy", npy_bytes(ns.astype("<f4"), fortran=True))])
    write_zip(p("v2.npz"), [("mu.npy", npy_bytes(mu, version=(2, 0))),
                            ("sigma.npy", npy_bytes(sigma, version=(2, 0)))])
    write_zip(p("big_endian.npz"), [("mu.npy", npy_bytes(mu.astype(">f8"))),
                                    ("sigma.npy", npy_bytes(sigma))])
    write_zip(p("no_sigma.npz"), [("mu.npy", npy_bytes(mu))])
    # numpy reads our writer's output: test_npz.c checks its bytes equal savez.npz,
    # and this confirms numpy loads savez.npz as written (keys, dtype, shapes)
    with np.load(p("savez.npz")) as z:
        assert sorted(z.files) == ["mu", "sigma"]
        assert z["mu"].dtype == np.dtype("<f8") and z["sigma"].shape == (8, 8)
        assert np.array_equal(z["mu"], mu) and np.array_equal(z["sigma"], sigma)


def deflate_text(n):
    """The C test rebuilds this text: lines "line I: I*I%97" for I < n."""
    return b"".join(b"line %d: %d\n" % (i, i * i % 97) for i in range(n))


def deflate_fixtures():
    """Raw deflate streams (no zlib header) of one stored, one fixed-Huffman
    and one dynamic-Huffman compression, concatenated in deflate.bin."""
    import zlib
    blobs = []
    offset = 0
    for name, n, level, strategy in (("stored", 40, 0, zlib.Z_DEFAULT_STRATEGY),
                                     ("fixed", 40, 9, zlib.Z_FIXED),
                                     ("dynamic", 3000, 9, zlib.Z_DEFAULT_STRATEGY)):
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
        raw = deflate_text(n)
        z = c.compress(raw) + c.flush()
        assert zlib.decompress(z, -15) == raw
        emit("deflate", name, n, offset, len(z), len(raw))
        blobs.append(z)
        offset += len(z)
    with open(os.path.join(OUT, "deflate.bin"), "wb") as f:
        f.write(b"".join(blobs))


def pickle_fixtures():
    import torch
    p = lambda n: os.path.join(OUT, n)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.arange(54, dtype=torch.float32).reshape(2, 3, 3, 3) / 7
    sd["lin.bias"] = torch.arange(5, dtype=torch.float32) - 2.5
    sd["T"] = (torch.arange(12, dtype=torch.float32) * 0.5).reshape(3, 4).t()  # stride (1, 4)
    sd["scalar"] = torch.tensor(3.25)                                          # 0-d
    base = torch.arange(10, dtype=torch.float32) * -1.5
    sd["base"] = base
    sd["tail"] = base[3:8]                        # shares base's storage, offset 3
    sd["every2"] = torch.arange(12, dtype=torch.float32).reshape(4, 3)[::2, 1:]  # offset 1, stride (6,1)
    sd["empty"] = torch.zeros(0, 3)
    torch.save(sd, p("sd_legacy.pt"), _use_new_zipfile_serialization=False)
    names = []
    data = []
    for k, v in sd.items():
        names.append("tensor %s %d %s" % (k, v.dim(), " ".join(str(s) for s in v.shape)))
        data.append(v.contiguous().numpy().astype("<f4").tobytes())
    with open(p("sd_legacy.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(p("sd_legacy.f32"), "wb") as f:
        f.write(b"".join(data))
    # a batch-norm state dict: float tensors plus an int64 num_batches_tracked
    bn = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        bn.running_var.copy_(torch.tensor([0.5, 0.25, 0.125]))
    torch.save(bn.state_dict(), p("sd_bn.pt"), _use_new_zipfile_serialization=False)
    torch.save(collections.OrderedDict(w=torch.ones(2, dtype=torch.float64)), p("sd_double.pt"),
               _use_new_zipfile_serialization=False)
    torch.save(collections.OrderedDict(w=torch.ones(2)), p("sd_zip.pt"))


def main():
    os.makedirs(OUT, exist_ok=True)
    stats_fixtures()
    frechet_cases()
    kid_fixtures()
    npz_fixtures()
    deflate_fixtures()
    pickle_fixtures()
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
