#!/usr/bin/env python3
"""PyTorch / Hugging Face reference timings for a GPT-2-small-shaped model.

The Rust side (glassbox) is measured separately; this is the baseline it is
compared against. The model is built in-process with random weights from
GPT2Config() defaults (12 layers, 12 heads, d_model 768, vocab 50257, 1024
positions): GPT2LMHeadModel, eager attention, float32, eval mode, no_grad.

Measured (time.perf_counter, 1 warm-up run, then the median of --runs runs):
  * a full forward with output_attentions and output_hidden_states at 64, 256
    and 1024 tokens (random ids);
  * one decoding step at 256 context: use_cache=True on top of a cached
    255-token prefix, attentions and hidden states on; each timed step starts
    from a fresh copy of the same prefix cache (copied untimed);
  * the peak RSS of a separate, fresh Python process that builds the model and
    runs one 1024-token capture forward (`--peak-only 1024`, which this script
    launches itself), so that the peak is not inflated by the other sizes.

Prints a human-readable table and a JSON object (stdout); --json-out also
writes the JSON to a file.

Usage: .venv/bin/python tools/bench_hf.py [--threads 2] [--runs 5] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

SIZES = (64, 256, 1024)
STEP_CONTEXT = 256


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / (1024 * 1024)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def build_model(threads: int):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = GPT2Config()
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).to(torch.float32).eval()
    assert model.config._attn_implementation == "eager"
    return model


def cache_kwarg(model) -> str:
    # transformers 5.x renamed `past_key_values` to `cache` (the old name is deprecated).
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(out):
    c = getattr(out, "cache", None)
    return c if c is not None else out.past_key_values


def capture_forward(model, ids):
    return model(ids, output_attentions=True, output_hidden_states=True, use_cache=False)


def timed(fn, runs: int, setup=None) -> tuple[float, list[float]]:
    """1 warm-up call, then `runs` timed calls; returns (median ms, all ms)."""
    arg = setup() if setup else None
    fn(arg)
    times = []
    for _ in range(runs):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), times


def peak_only(seq: int, threads: int) -> None:
    import torch

    base = rss_mb()
    model = build_model(threads)
    after_build = rss_mb()
    ids = torch.randint(0, model.config.vocab_size, (1, seq), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = capture_forward(model, ids)
    n_att = len(out.attentions)
    n_hid = len(out.hidden_states)
    after_forward = rss_mb()
    print(
        json.dumps(
            {
                "seq": seq,
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "rss_after_import_mb": round(base, 1),
                "rss_after_build_mb": round(after_build, 1),
                "rss_after_forward_mb": round(after_forward, 1),
                "attentions": n_att,
                "hidden_states": n_hid,
            }
        )
    )


def run_peak_subprocess(seq: int, threads: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--peak-only", str(seq), "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"peak subprocess failed ({res.returncode}):\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def proc_stat_busy() -> float | None:
    """System-wide busy CPU seconds so far (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median; default 5)")
    ap.add_argument("--peak-only", type=int, metavar="SEQ", help="internal: build, run one SEQ-token capture forward, print peak RSS JSON")
    ap.add_argument("--json-out", help="also write the JSON result to this file")
    ap.add_argument("--note", default="", help="free-text note stored in the JSON (e.g. machine load)")
    args = ap.parse_args()

    if args.peak_only:
        peak_only(args.peak_only, args.threads)
        return

    import torch
    import transformers

    busy0, own0, wall0 = proc_stat_busy(), own_cpu_s(), time.perf_counter()
    t0 = time.perf_counter()
    model = build_model(args.threads)
    build_s = time.perf_counter() - t0
    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(0)
    kw = cache_kwarg(model)

    result: dict = {
        "what": "HF transformers GPT2LMHeadModel, GPT-2 small shape, random weights, eager attention, float32, CPU",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "runs": args.runs,
        "warmup": 1,
        "statistic": "median",
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "model_build_s": round(build_s, 2),
        "n_params": sum(p.numel() for p in model.parameters()),
        "forward_capture_ms": {},
        "forward_capture_min_ms": {},
        "forward_capture_all_ms": {},
    }
    if args.note:
        result["note"] = args.note

    with torch.no_grad():
        for n in SIZES:
            ids = torch.randint(0, vocab, (1, n), generator=gen)

            def fwd(_unused, ids=ids, n=n):
                out = capture_forward(model, ids)
                assert len(out.attentions) == 12 and out.attentions[0].shape[-1] == n
                assert len(out.hidden_states) == 13

            med, all_ms = timed(fwd, args.runs)
            result["forward_capture_ms"][str(n)] = round(med, 2)
            result["forward_capture_min_ms"][str(n)] = round(min(all_ms), 2)
            result["forward_capture_all_ms"][str(n)] = [round(t, 2) for t in all_ms]
            print(f"forward+capture {n:5d} tokens: {med:9.2f} ms", file=sys.stderr, flush=True)

        # One-token step at 256 context from a cached 255-token prefix.
        ids = torch.randint(0, vocab, (1, STEP_CONTEXT), generator=gen)
        prefix_out = model(ids[:, : STEP_CONTEXT - 1], use_cache=True)
        prefix_cache = output_cache(prefix_out)
        assert prefix_cache.get_seq_length() == STEP_CONTEXT - 1
        last = ids[:, STEP_CONTEXT - 1 :]

        def step(cache):
            out = model(last, use_cache=True, output_attentions=True, output_hidden_states=True, **{kw: cache})
            assert out.attentions[0].shape[-1] == STEP_CONTEXT and out.logits.shape[1] == 1

        med, all_ms = timed(step, args.runs, setup=lambda: copy.deepcopy(prefix_cache))
        result["step_256_ms"] = round(med, 2)
        result["step_256_min_ms"] = round(min(all_ms), 2)
        result["step_256_all_ms"] = [round(t, 2) for t in all_ms]
        print(f"cached step at {STEP_CONTEXT} context: {med:9.2f} ms", file=sys.stderr, flush=True)

    peak = run_peak_subprocess(1024, args.threads)
    result["peak_rss_1024_mb"] = peak["peak_rss_mb"]
    result["peak_rss_1024_detail"] = peak
    busy1, own1, wall1 = proc_stat_busy(), own_cpu_s(), time.perf_counter()
    if busy0 is not None and busy1 is not None:
        # CPU used by other processes on the machine while this ran, as a fraction
        # of all cores: a contention indicator (0 = quiet machine).
        other = max(0.0, (busy1 - busy0) - (own1 - own0)) / ((wall1 - wall0) * (os.cpu_count() or 1))
        result["other_cpu_load_fraction"] = round(other, 3)

    fc, fm = result["forward_capture_ms"], result["forward_capture_min_ms"]
    table = [("", "median", "min")]
    for n in SIZES:
        table.append((f"forward + capture, {n} tokens", f"{fc[str(n)]:.1f} ms", f"{fm[str(n)]:.1f} ms"))
    table.append(("1-token step at 256 ctx (KV cache)", f"{result['step_256_ms']:.1f} ms", f"{result['step_256_min_ms']:.1f} ms"))
    table.append(("peak RSS, fresh process, 1024-token capture", f"{result['peak_rss_1024_mb']:.0f} MB", ""))
    w = max(len(r[0]) for r in table)
    print(
        f"\nHF reference: torch {result['torch']}, transformers {result['transformers']}, "
        f"{result['threads']} threads, median of {args.runs} (after 1 warm-up), {result['cpu']}"
    )
    for a, b, c in table:
        print(f"  {a:<{w}}  {b:>10}  {c:>10}")
    if "other_cpu_load_fraction" in result:
        print(f"  other processes used {100 * result['other_cpu_load_fraction']:.0f}% of the CPUs meanwhile")
    print()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
