#!/usr/bin/env python3
"""transformers reference timings for SmolLM2-135M-Instruct (the Q4_1 GGUF file glassbox reads).

The glassbox side is benches/smollm2.rs; BENCHMARKS.md puts both in one table. transformers
dequantizes the GGUF itself: AutoModelForCausalLM.from_pretrained(folder, gguf_file=name,
dtype=torch.float32, attn_implementation="eager"), eval mode, no_grad, torch.set_num_threads(--threads).

Measured (time.perf_counter):
  * load to first logits, whole process: `python THIS --first-logits` (import torch and transformers,
    load the file, tokenize "Hello", one forward), run --load-runs times after one untimed run, median
    of the wall times;
  * a forward with output_attentions and output_hidden_states at 256 and 1024 tokens, random ids from
    the same generator as benches/smollm2.rs (ids 17.., no special token), 1 warm-up, median of --runs;
  * one decoding step at 256 context: use_cache=True on a cached 255-token prefix, attentions and hidden
    states on; each timed step starts from a fresh copy of the prefix cache (copied untimed);
  * the peak RSS of a fresh process that loads the file and runs one 1024-token capture forward
    (`--peak-only 1024`): the whole process's peak, and the peak from the end of loading on (VmHWM reset
    through /proc/self/clear_refs after loading).

Prints a summary (stderr) and a JSON object (stdout); --json-out also writes the JSON to a file.

    eval "$(tools/fetch_smollm2.sh)" && export GLASSBOX_SMOLLM2
    .venv/bin/python tools/bench_smollm2_hf.py [--threads 2] [--runs 5] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The transformers calls both PyTorch-side benchmarks make, from the GPT-2 one.
from bench_hf import cache_kwarg, capture_forward, output_cache  # noqa: E402

SIZES = (256, 1024)
STEP_CONTEXT = 256
FIRST_ORDINARY_ID = 17  # ids 0-16 are SmolLM2's special tokens


def random_ids(n: int, vocab: int, seed: int) -> list[int]:
    """The same generator as benches/smollm2.rs."""
    mask = (1 << 64) - 1
    s = seed
    span = vocab - FIRST_ORDINARY_ID
    out = []
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & mask
        out.append(FIRST_ORDINARY_ID + (s >> 33) % span)
    return out


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def vm_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def gguf_path() -> Path:
    path = os.environ.get("GLASSBOX_SMOLLM2")
    if not path:
        sys.exit('GLASSBOX_SMOLLM2 is not set (eval "$(tools/fetch_smollm2.sh)" && export GLASSBOX_SMOLLM2)')
    return Path(path).resolve()


def load_model(threads: int, path: Path):
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, attn_implementation="eager"
    )
    model.eval()
    assert model.config._attn_implementation == "eager"
    return model


def timed(fn, runs: int, setup=None) -> list[float]:
    """1 warm-up call, then `runs` timed calls (ms)."""
    fn(setup() if setup else None)
    times = []
    for _ in range(runs):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def first_logits(threads: int) -> None:
    """What a user waits for before the first logits: imports, load, tokenize, one forward."""
    import torch
    from transformers import AutoTokenizer

    path = gguf_path()
    model = load_model(threads, path)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    ids = tokenizer("Hello", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits[0, -1]
    print(json.dumps({"top": int(logits.argmax())}))


def peak_only(seq: int, threads: int) -> None:
    import torch

    base = vm_rss_mb()
    model = load_model(threads, gguf_path())
    after_load = vm_rss_mb()
    load_peak = vm_hwm_mb()
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        pass
    ids = torch.tensor([random_ids(seq, model.config.vocab_size, 1)])
    with torch.no_grad():
        out = capture_forward(model, ids)
    assert len(out.attentions) == model.config.num_hidden_layers
    print(
        json.dumps(
            {
                "seq": seq,
                "peak_rss_mb": round(max(load_peak, vm_hwm_mb()), 1),
                "peak_rss_from_end_of_load_mb": round(vm_hwm_mb(), 1) if reset else None,
                "peak_rss_during_load_mb": round(load_peak, 1),
                "rss_after_import_mb": round(base, 1),
                "rss_after_load_mb": round(after_load, 1),
                "rss_after_forward_mb": round(vm_rss_mb(), 1),
            }
        )
    )


def child(args: list[str]) -> tuple[float, str]:
    cmd = [sys.executable, os.path.abspath(__file__), *args]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    return wall, res.stdout.strip().splitlines()[-1]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gemm(n: int, threads: int, runs: int) -> None:
    """The products of one block and the unembedding at n rows, alone (benches/smollm2.rs --gemm n)."""
    import torch
    torch.set_num_threads(threads)
    out = {}
    shapes = [("q_proj", 576, 576), ("k_proj", 576, 192), ("gate_proj", 576, 1536),
              ("down_proj", 1536, 576), ("unembed", 576, 49152)]
    for name, k, m in shapes:
        x, w = torch.randn(n, k), torch.randn(m, k)  # w as nn.Linear stores it: [out, in]
        x @ w.t()
        times = sorted(timed(lambda _: x @ w.t(), max(runs, 5)))
        ms = times[len(times) // 2]
        out[name] = {"ms": ms, "gflops": 2 * n * k * m / ms / 1e6}
    print(json.dumps(out, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median; default 5)")
    ap.add_argument("--load-runs", type=int, default=5, help="timed whole-process loads (median; default 5)")
    ap.add_argument("--first-logits", action="store_true", help="internal: load, one forward on 'Hello'")
    ap.add_argument("--peak-only", type=int, metavar="SEQ", help="internal: load, one SEQ-token capture, peak RSS")
    ap.add_argument("--json-out", help="also write the JSON result to this file")
    ap.add_argument("--gemm", type=int, metavar="N", help="only the matrix products at N rows, alone")
    args = ap.parse_args()

    if args.gemm:
        gemm(args.gemm, args.threads, args.runs)
        return
    if args.first_logits:
        first_logits(args.threads)
        return
    if args.peak_only:
        peak_only(args.peak_only, args.threads)
        return

    import torch
    import transformers

    path = gguf_path()
    child(["--first-logits", "--threads", str(args.threads)])  # warm-up: the file in the page cache
    load_s = [child(["--first-logits", "--threads", str(args.threads)])[0] for _ in range(args.load_runs)]
    print(f"load to first logits, whole process: {statistics.median(load_s):.2f} s", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    model = load_model(args.threads, path)
    load_in_process_s = time.perf_counter() - t0
    vocab = model.config.vocab_size
    n_layers = model.config.num_hidden_layers
    kw = cache_kwarg(model)

    result: dict = {
        "what": "transformers, SmolLM2-135M-Instruct Q4_1 GGUF dequantized to float32, eager attention, CPU, "
        "output_attentions and output_hidden_states",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "runs": args.runs,
        "warmup": 1,
        "statistic": "median",
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_to_first_logits_process_s": round(statistics.median(load_s), 3),
        "load_to_first_logits_process_all_s": [round(t, 3) for t in load_s],
        "load_in_process_s": round(load_in_process_s, 3),
        "capture_ms": {},
        "capture_all_ms": {},
    }

    with torch.no_grad():
        for n in SIZES:
            ids = torch.tensor([random_ids(n, vocab, n)])

            def fwd(_unused, ids=ids, n=n):
                out = capture_forward(model, ids)
                assert len(out.attentions) == n_layers and out.attentions[0].shape[-1] == n
                assert len(out.hidden_states) == n_layers + 1

            times = timed(fwd, args.runs)
            result["capture_ms"][str(n)] = round(statistics.median(times), 2)
            result["capture_all_ms"][str(n)] = [round(t, 2) for t in times]
            print(f"capture {n:5d} tokens: {statistics.median(times):9.2f} ms", file=sys.stderr, flush=True)

        ids = torch.tensor([random_ids(STEP_CONTEXT, vocab, 7)])
        prefix_cache = output_cache(model(ids[:, : STEP_CONTEXT - 1], use_cache=True))
        assert prefix_cache.get_seq_length() == STEP_CONTEXT - 1
        last = ids[:, STEP_CONTEXT - 1 :]

        def step(cache):
            out = model(last, use_cache=True, output_attentions=True, output_hidden_states=True, **{kw: cache})
            assert out.attentions[0].shape[-1] == STEP_CONTEXT and out.logits.shape[1] == 1

        times = timed(step, max(args.runs, 5), setup=lambda: copy.deepcopy(prefix_cache))
        result["step_at_256_ms"] = round(statistics.median(times), 2)
        result["step_at_256_all_ms"] = [round(t, 2) for t in times]
        print(f"cached step at {STEP_CONTEXT}: {result['step_at_256_ms']:9.2f} ms", file=sys.stderr, flush=True)

    del model, prefix_cache
    _, line = child(["--peak-only", "1024", "--threads", str(args.threads)])
    peak = json.loads(line)
    result["peak_rss_1024_mb"] = peak["peak_rss_mb"]
    result["peak_rss_1024_detail"] = peak
    print(f"peak RSS, fresh process, 1024-token capture: {peak['peak_rss_mb']:.0f} MB", file=sys.stderr)

    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
