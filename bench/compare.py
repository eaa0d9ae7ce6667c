#!/usr/bin/env python3
"""Backprop against PyTorch on the `backprop bench` workloads, interleaved, best of several rounds.

The machines are shared and noisy, so one run of each side proves little. This runs, round after
round, every configuration back to back on the same workloads:

    backprop bench (compiled step, default GEMM threads)   backprop bench --threads 1
    backprop bench --engine autodiff                      backprop bench --engine autodiff --threads 1
    pytorch_bench.py --threads 1                          pytorch_bench.py --threads 2

and prints the best and the median samples/s of each with the ratios against PyTorch's better thread
setting, the load average before and after, and the machine, as a Markdown table for
docs/performance.md (and the raw runs as JSON with --json-out).

    dotnet build -c Release
    python3 bench/compare.py --rounds 3 --json-out bench-results.json

PyTorch comes from Debian (apt-get install -y python3-torch python3-numpy) and runs under /usr/bin/python3.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "Backprop.Cli", "bin", "Release", "net10.0", "Backprop.Cli")
TORCH_SCRIPT = os.path.join(ROOT, "bench", "pytorch_bench.py")


def configurations(workload):
    backprop = [CLI, "bench", "--workload", workload, "--json"]
    torch = ["/usr/bin/python3", TORCH_SCRIPT, "--workload", workload, "--json"]
    return [
        ("backprop compiled, 2 threads", backprop),
        ("backprop compiled, 1 thread", backprop + ["--threads", "1"]),
        ("backprop engine, 2 threads", backprop + ["--engine", "autodiff"]),
        ("backprop engine, 1 thread", backprop + ["--engine", "autodiff", "--threads", "1"]),
        ("pytorch, 1 thread", torch + ["--threads", "1"]),
        ("pytorch, 2 threads", torch + ["--threads", "2"]),
    ]


def run(command):
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(command)} exited with {done.returncode}: {done.stderr.strip()[-400:]}")
    results = json.loads(done.stdout)
    return results if isinstance(results, list) else [results]


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="all", help="small, mid, wide, cnn or all (default all)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--json-out", help="also write every run's results to this file")
    args = parser.parse_args()
    if not os.path.exists(CLI):
        sys.exit(f"error: {CLI} is missing; run `dotnet build -c Release` first")

    samples = {}  # (configuration, workload) -> [samples/s per round]
    extra = {}    # (configuration, workload) -> last result, for ms/step, GFLOP/s and bytes/step
    runs = []
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in range(args.rounds):
        for name, command in configurations(args.workload):
            print(f"round {r + 1}/{args.rounds}: {name} …", file=sys.stderr, flush=True)
            for result in run(command):
                key = (name, result["workload"])
                samples.setdefault(key, []).append(result["samples_per_second"])
                extra[key] = result
                runs.append({"round": r + 1, "configuration": name, **result})
    load_after = os.getloadavg()

    workloads = sorted({w for _, w in samples}, key=["small", "mid", "wide", "cnn"].index)
    names = [n for n, _ in configurations(args.workload)]
    print(f"Machine: {machine()}. Started {started}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.")
    print(f"{args.rounds} interleaved rounds; best (median) samples/s.\n")
    print("| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for w in workloads:
        cells = []
        for n in names:
            values = samples.get((n, w))
            cells.append("—" if not values else f"{max(values):,.0f} ({statistics.median(values):,.0f})")
        print(f"| {w} | " + " | ".join(cells) + " |")

    print("\nRatios against PyTorch's better thread setting, best against best (median against median):\n")
    print("| workload | compiled step | compiled step, 1 thread | engine | engine, 1 thread | engine GFLOP/s | engine bytes/step |")
    print("|---|---|---|---|---|---|---|")
    for w in workloads:
        torch_best = max(max(samples[(n, w)]) for n in names if n.startswith("pytorch") and (n, w) in samples)
        torch_median = max(statistics.median(samples[(n, w)]) for n in names if n.startswith("pytorch") and (n, w) in samples)

        def ratio(n):
            values = samples.get((n, w))
            return "—" if not values else f"{max(values) / torch_best:.2f}× ({statistics.median(values) / torch_median:.2f}×)"

        engine = extra.get(("backprop engine, 2 threads", w), {})
        print(f"| {w} | {ratio(names[0])} | {ratio(names[1])} | {ratio(names[2])} | {ratio(names[3])} | "
              f"{engine.get('gflops', float('nan')):.1f} | {engine.get('allocated_bytes_per_step', float('nan')):,.0f} |")

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": machine(), "started": started, "load_before": load_before, "load_after": load_after, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
