#!/usr/bin/env python3
"""A GPT-2-small-shaped checkpoint folder with random weights, and a prompt that fills its context.

For whole-process measurements of `glassbox dump` (BENCHMARKS.md) without downloading GPT-2: the folder
has config.json and model.safetensors in Hugging Face layout (124M parameters, seeded), and the bundled
model's tokenizer.json, whose ids all lie inside GPT-2's vocabulary. The prompt file holds text that the
tokenizer turns into exactly 1,023 tokens, so with BOS the pass covers all 1,024 positions.

Usage: .venv/bin/python tools/make_random_gpt2.py OUT_DIR
       (writes OUT_DIR/{config.json,model.safetensors,tokenizer.json} and OUT_DIR/prompt-1023.txt)
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = Path(__file__).resolve().parent.parent
STORY = "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva saw a dog. "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    args = ap.parse_args()

    torch.manual_seed(0)
    cfg = GPT2Config(n_embd=768, n_head=12, n_layer=12, n_positions=1024, vocab_size=50257)
    GPT2LMHeadModel(cfg).save_pretrained(args.out, safe_serialization=True)
    tok_path = args.out / "tokenizer.json"
    shutil.copy(ROOT / "models" / "glassbox-tiny" / "tokenizer.json", tok_path)

    tok = Tokenizer.from_file(str(tok_path))
    text = tok.decode(tok.encode(STORY * 200).ids[:1023])
    while len(tok.encode(text).ids) > 1023:
        text = text[:-1]
    n = len(tok.encode(text).ids)
    assert n == 1023, f"the prompt came out as {n} tokens, not 1,023"
    (args.out / "prompt-1023.txt").write_text(text)
    print(f"wrote {args.out} (random GPT-2 small) and a prompt of {n} tokens")


if __name__ == "__main__":
    main()
