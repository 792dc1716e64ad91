"""PyTorch reference for the E1 throughput benchmark.

Trains the same network the same way as `benches/e1_throughput.rs`: inputs uniform on
{-1,+1}^30, labels the parity of the first 15 bits, one hidden ReLU layer of width 300, a
linear output, hinge loss, Adam (lr 1e-3), batch 128, one CPU thread. Prints steps/s.
"""

import time

import torch


def main(steps: int = 5000, repeats: int = 5) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    d, width, batch, k = 30, 300, 128, 15
    net = torch.nn.Sequential(torch.nn.Linear(d, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> float:
        x = torch.randint(0, 2, (batch, d), dtype=torch.float32) * 2 - 1
        y = x[:, :k].prod(dim=1, keepdim=True)
        loss = torch.clamp(1 - y * net(x), min=0).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(200):
        step()
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t))
    rates.sort()
    print(
        f"torch {torch.__version__} e1 d=30 width=300 batch=128 adam, 1 thread: "
        f"training step {rates[len(rates) // 2]:.0f} steps/s (median of {repeats})"
    )


if __name__ == "__main__":
    main()
