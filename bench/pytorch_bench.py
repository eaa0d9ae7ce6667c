#!/usr/bin/env python3
"""The workloads of `backprop bench`, in PyTorch on CPU, for side-by-side runs (docs/performance.md).

Same networks (nn.Linear + ReLU, and for cnn a LeNet-5-like Conv2d/MaxPool2d network; PyTorch's default
initialisation), same data sizes (standard normal features or pixels, uniformly random labels), same
loop: shuffle, index a batch, zero_grad, forward, loss, backward, plain SGD step (lr 0.01, no momentum),
loss.item(); the last batch of an epoch is smaller. One untimed warm-up epoch, then timed epochs.
Prints the same JSON fields as `backprop bench --json`.

    /usr/bin/python3 bench/pytorch_bench.py --workload all --threads 1 --json

On Debian: apt-get install -y python3-torch python3-numpy (PyTorch 1.13), and use /usr/bin/python3.
"""
import argparse
import json
import os
import time

WORKLOADS = {
    # name: (layers, task, batch size, samples, default timed epochs)
    "small": ([30, 16, 1], "binary", 32, 569, 1000),
    "mid": ([784, 256, 128, 10], "multiclass", 128, 60_000, 1),
    "wide": ([784, 1024, 1024, 10], "multiclass", 256, 20_000, 1),
    # LeNet-5-like on 1×28×28 images (cnn_model below); layers = [pixels, classes].
    "cnn": ([784, 10], "multiclass", 64, 10_000, 1),
}

# The cnn network, as (kind, settings): Conv2d(1→6, 5×5, padding 2) → ReLU → MaxPool2d(2) →
# Conv2d(6→16, 5×5) → ReLU → MaxPool2d(2) → Flatten (16·5·5 = 400) → 400-120-84-10 with ReLU.
# Shapes per sample: (1, 28, 28) → (6, 28, 28) → (6, 14, 14) → (16, 10, 10) → (16, 5, 5) → 400.
CNN_CONVS = [  # (in_ch, out_ch, kernel, padding, output height = width)
    (1, 6, 5, 2, 28),
    (6, 16, 5, 0, 10),
]
CNN_LINEARS = [400, 120, 84, 10]


def cnn_model(torch):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))


def cnn_flops_per_epoch(batch, samples):
    """Convolutions: 2·outputs·(in_ch·kh·kw) for the forward pass and the same for the weight gradient,
    and for the input gradient of every convolution but the first (the image needs no gradient);
    outputs = m·out_ch·Ho·Wo. Linear layers: 2·m·n·k for forward, dW and dX (the first linear's input is
    the flattened feature map, whose gradient the convolutions need). Bias, ReLU, pooling and the loss
    are not counted. Identical to TrainingBenchmark's count in Backprop."""
    total = 0
    for start in range(0, samples, batch):
        m = min(batch, samples - start)
        for i, (cin, cout, k, _, out) in enumerate(CNN_CONVS):
            total += 2 * m * cout * out * out * cin * k * k * (2 if i == 0 else 3)
        for i in range(len(CNN_LINEARS) - 1):
            total += 2 * m * CNN_LINEARS[i] * CNN_LINEARS[i + 1] * 3
    return total


def flops_per_epoch(layers, batch, samples):
    """2·m·n·k per matrix product: forward and dW for every layer, dX for all but the first."""
    total = 0
    for start in range(0, samples, batch):
        m = min(batch, samples - start)
        for i in range(len(layers) - 1):
            mnk = m * layers[i] * layers[i + 1]
            total += 2 * mnk * (2 if i == 0 else 3)
    return total


def run(torch, name, epochs, seed, samples=None):
    layers, task, batch, default_samples, default_epochs = WORKLOADS[name]
    epochs = epochs or default_epochs
    samples = samples or default_samples
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, layers[0], generator=gen)
    if name == "cnn":
        x = x.reshape(samples, 1, 28, 28)
    if task == "binary":
        y = torch.randint(0, 2, (samples, 1), generator=gen).float()
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, layers[-1], (samples,), generator=gen)
        loss_fn = torch.nn.CrossEntropyLoss()
    torch.manual_seed(seed)
    if name == "cnn":
        model = cnn_model(torch)
    else:
        modules = []
        for i in range(len(layers) - 1):
            modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
            if i < len(layers) - 2:
                modules.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*modules)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0)

    def epoch():
        order = torch.randperm(samples, generator=gen)
        total = 0.0
        for start in range(0, samples, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / samples

    epoch()
    t0 = time.perf_counter()
    final = 0.0
    for _ in range(epochs):
        final = epoch()
    seconds = time.perf_counter() - t0
    steps = (samples + batch - 1) // batch * epochs
    flops = cnn_flops_per_epoch(batch, samples) if name == "cnn" else flops_per_epoch(layers, batch, samples)
    return {
        "workload": name,
        "framework": "pytorch " + torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": epochs,
        "steps": steps,
        "seconds": round(seconds, 4),
        "samples_per_second": round(samples * epochs / seconds, 1),
        "ms_per_step": round(seconds * 1000 / steps, 5),
        "gflops": round(flops * epochs / seconds / 1e9, 3),
        # Python-side allocation is not comparable to .NET's allocated bytes; reported as unknown.
        "allocated_bytes_per_step": None,
        "final_loss": round(final, 6),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["small", "mid", "wide", "cnn", "all"], default="all")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op threads); default 1")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs (default: 1000 small, 1 mid/wide/cnn)")
    parser.add_argument("--samples", type=int, default=None, help="synthetic samples per epoch instead of the workload's own count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    # Set before importing torch so that OpenMP/OpenBLAS size their pools to match.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    results = [run(torch, n, args.epochs, args.seed, args.samples) for n in names]
    if args.json:
        print(json.dumps(results if args.workload == "all" else results[0]))
        return
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s)")
    print(f"{'workload':8} {'epochs':>6} {'samples/s':>12} {'ms/step':>9} {'GFLOP/s':>8} {'final loss':>10}")
    for r in results:
        print(f"{r['workload']:8} {r['epochs']:>6} {r['samples_per_second']:>12,.0f} {r['ms_per_step']:>9.4f} {r['gflops']:>8.2f} {r['final_loss']:>10.4f}")


if __name__ == "__main__":
    main()
