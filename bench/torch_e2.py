"""An independent PyTorch implementation of E2 trained end-to-end (spec Part 2), to tell the
behaviour of the task from that of fail-lab's implementation.

Line images as the authors' script draws them (centre, length, truncation toward zero); N1 per
image (conv 5x5 16, max-pool, conv 5x5 16, max-pool, Dense 50 + ReLU, Dense 100 + ReLU,
Dense 1; no ReLU after the convolutions; truncated-normal init with the first conv's std
1/sqrt(28), biases 0); N2 on the sigmoids of the k scores (Dense 100 + ReLU, Dense 1); hinge
loss on the product of the orientation labels; Adam (0.9, 0.99, eps 1e-5), lr 1e-3, batch 200
fresh tuples; a fixed test set of 2,000 tuples. One CPU thread. Prints the test accuracy every
100 iterations on one line.

Usage: python3 bench/torch_e2.py K STEPS SEED   (e.g. 2 2000 0; about 4 minutes)
"""
import math
import sys

import numpy as np
import torch


def images(n, rng):
    c = 28 * rng.random((n, 2))
    length = rng.uniform(5, 23, n)
    theta = rng.uniform(0, math.pi, n)
    u = np.stack([np.cos(theta), np.sin(theta)], 1)
    j = np.arange(11)
    x = np.zeros((n, 28, 28), np.float32)
    for s in (-1.0, 1.0):
        p = c[:, None, :] + s * j[None, :, None] * u[:, None, :]
        p = np.trunc(p).astype(np.int64)
        inside = ((p >= 0) & (p < 28)).all(axis=2)
        ok = (j[None, :] < np.floor(length / 2)[:, None]) & inside
        b, jj = np.nonzero(ok)
        x[b, 27 - p[b, jj, 1], p[b, jj, 0]] = 1.0
    y = np.where(theta < math.pi / 2, 1.0, -1.0).astype(np.float32)
    return x, y


def tuples(n, k, rng):
    x, y = images(n * k, rng)
    return torch.from_numpy(x).view(n * k, 1, 28, 28), torch.from_numpy(y.reshape(n, k).prod(1))


def tn(shape, std):
    t = torch.empty(shape)
    torch.nn.init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std)
    return torch.nn.Parameter(t)


def main(k, steps, seed):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    c1 = torch.nn.Conv2d(1, 16, 5, padding=2)
    c2 = torch.nn.Conv2d(16, 16, 5, padding=2)
    d1, d2, d3 = torch.nn.Linear(784, 50), torch.nn.Linear(50, 100), torch.nn.Linear(100, 1)
    e1, e2 = torch.nn.Linear(k, 100), torch.nn.Linear(100, 1)
    for m, std in [(c1, 1 / math.sqrt(28)), (c2, 1 / math.sqrt(16)), (d1, 1 / math.sqrt(784)),
                   (d2, 1 / math.sqrt(50)), (d3, 0.1), (e1, 1 / math.sqrt(k)), (e2, 0.1)]:
        m.weight = tn(m.weight.shape, std)
        torch.nn.init.zeros_(m.bias)
    mods = [c1, c2, d1, d2, d3, e1, e2]
    params = [p for m in mods for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.99), eps=1e-5)
    pool = torch.nn.MaxPool2d(2)

    def net(x, n):
        h = pool(c2(pool(c1(x)))).flatten(1)
        s = d3(torch.relu(d2(torch.relu(d1(h))))).view(n, k)
        return e2(torch.relu(e1(torch.sigmoid(s)))).view(n)

    xt, yt = tuples(2000, k, rng)
    out = []
    for step in range(steps + 1):
        if step % 100 == 0:
            with torch.no_grad():
                acc = (net(xt, 2000) * yt > 0).float().mean().item()
            out.append(f"{step}:{acc:.3f}")
        if step == steps:
            break
        x, y = tuples(200, k, rng)
        loss = torch.clamp(1 - y * net(x, 200), min=0).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"k={k} seed={seed}", " ".join(out), flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
