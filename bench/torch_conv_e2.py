"""PyTorch reference for the E2 convolution benchmark (`benches/conv_e2.rs`).

Times the per-image network N1 of E2 on a batch of 64 line images on CPU threads: conv 5x5
(1 -> 16, SAME) -> 2x2 max-pool -> conv 5x5 (16 -> 16, SAME) -> 2x2 max-pool -> Dense 50 + ReLU
-> Dense 100 + ReLU -> Dense 1, no ReLU after the convolutions; hinge loss on the image labels,
forward and backward (gradients of every parameter). Prints the median time per pass, one
line per thread count (`torch.set_num_threads(n)`).

Usage: torch_conv_e2.py [REPS [ROUNDS [THREADS]]], THREADS a comma-separated list (default 1).
"""

import math
import sys
import time

import torch


def line_images(n: int, gen: torch.Generator):
    """Line images as in the authors' script (centre, length, truncation toward zero)."""
    x = torch.zeros(n, 1, 28, 28)
    y = torch.empty(n, 1)
    for i in range(n):
        cx, cy = (28 * torch.rand(2, generator=gen)).tolist()
        length = 5 + 18 * torch.rand(1, generator=gen).item()
        theta = math.pi * torch.rand(1, generator=gen).item()
        ux, uy = math.cos(theta), math.sin(theta)
        for j in range(int(length // 2)):
            for s in (-1, 1):
                px, py = int(cx + s * j * ux), int(cy + s * j * uy)
                if 0 <= px < 28 and 0 <= py < 28:
                    x[i, 0, 27 - py, px] = 1.0
        y[i, 0] = 1.0 if theta < math.pi / 2 else -1.0
    return x, y


def main(reps: int = 50, rounds: int = 7, threads: str = "1") -> None:
    for n in (int(t) for t in threads.split(",")):
        time_n1(reps, rounds, n)


def time_n1(reps: int, rounds: int, threads: int) -> None:
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 16, 5, padding=2),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(784, 50),
        torch.nn.ReLU(),
        torch.nn.Linear(50, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 1),
    )
    x, y = line_images(64, gen)

    def step() -> float:
        net.zero_grad(set_to_none=True)
        loss = torch.clamp(1 - y * net(x), min=0).mean()
        loss.backward()
        return loss.item()

    for _ in range(5):
        step()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            step()
        times.append((time.perf_counter() - t) / reps * 1e3)
    times.sort()
    print(
        f"torch {torch.__version__} N1 batch=64 forward+backward, {threads} thread(s): "
        f"{times[len(times) // 2]:.2f} ms (median of {rounds})"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *args[2:3])
