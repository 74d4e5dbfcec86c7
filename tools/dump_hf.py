#!/usr/bin/env python3
"""Whole-process Python equivalent of `glassbox dump`, for timing with hyperfine.

Loads a GPT-2 model folder in Hugging Face layout (config.json, tokenizer.json,
model.safetensors or a sharded index) with GPT2LMHeadModel.from_pretrained and
tokenizers.Tokenizer.from_file, tokenises the prompt with <|endoftext|> (BOS)
prepended, runs one eager float32 forward with output_attentions and
output_hidden_states, and saves the tensors with safetensors.torch.save_file:

  input_ids                        int64 [1, seq]
  blocks.{l}.hook_resid_pre        [1, seq, d_model]   (HF hidden_states[l], l < n_layer)
  ln_final.hf_output               [1, seq, d_model]   (HF hidden_states[-1], after ln_f)
  blocks.{l}.attn.hook_pattern     [1, n_head, seq, seq]
  logits                           [1, seq, vocab]     (only with --logits)

Example:
  hyperfine '.venv/bin/python tools/dump_hf.py tests/fixtures/tiny-a -o /tmp/hf.safetensors'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

EOT = "<|endoftext|>"
DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="model folder (HF layout)")
    ap.add_argument("-p", "--prompt", default=DEFAULT_PROMPT, help="prompt text")
    ap.add_argument("-o", "--out", type=Path, default=Path("dump_hf.safetensors"), help="output .safetensors path")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--logits", action="store_true", help="also save the logits")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args()

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t_import = time.perf_counter()
    tok = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    config = json.loads((args.model / "config.json").read_text())
    bos = config.get("bos_token_id")
    if bos is None:
        bos = tok.token_to_id(EOT)
    if bos is None:
        sys.exit(f"no bos_token_id in config.json and no {EOT} in the tokenizer")
    ids = [bos] + tok.encode(args.prompt).ids
    input_ids = torch.tensor([ids], dtype=torch.int64)

    model = GPT2LMHeadModel.from_pretrained(str(args.model), attn_implementation="eager", dtype=torch.float32)
    model.eval()
    t_load = time.perf_counter()

    with torch.no_grad():
        out = model(input_ids, output_attentions=True, output_hidden_states=True, use_cache=False)
    t_fwd = time.perf_counter()

    n_layer = model.config.n_layer
    tensors: dict[str, torch.Tensor] = {"input_ids": input_ids}
    for l in range(n_layer):
        tensors[f"blocks.{l}.hook_resid_pre"] = out.hidden_states[l][:1].contiguous()
        tensors[f"blocks.{l}.attn.hook_pattern"] = out.attentions[l][:1].contiguous()
    tensors["ln_final.hf_output"] = out.hidden_states[-1][:1].contiguous()
    if args.logits:
        tensors["logits"] = out.logits.contiguous()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out), metadata={"prompt": args.prompt, "model": args.model.name})
    t_save = time.perf_counter()

    if not args.quiet:
        print(
            f"{len(ids)} tokens, {n_layer} layers -> {args.out} "
            f"(import {1000 * (t_import - T0):.0f} ms, load {1000 * (t_load - t_import):.0f} ms, "
            f"forward {1000 * (t_fwd - t_load):.0f} ms, save {1000 * (t_save - t_fwd):.0f} ms)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
