#!/usr/bin/env python3
"""Reference gradients for the training test: tests/fixtures/tiny-a/grads.safetensors.

Loads the tiny-a fixture in Hugging Face transformers (eager attention, float32), computes the mean
next-token cross-entropy on a fixed batch of 2 × 65 token ids (inputs as long as the fixture's context,
so attention rows reach 64 keys and span several vector registers of the fused softmax), back-propagates,
and saves the ids, the loss and the gradients of a few parameters (the tied embedding, the position
embedding, every c_attn weight, ln_f's gain). tests/train.rs checks that glassbox's training forward and
backward give the same numbers.

Usage: .venv/bin/python tools/make_grad_reference.py
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny-a"


def main() -> None:
    torch.manual_seed(0)
    model = GPT2LMHeadModel.from_pretrained(FIXTURE, attn_implementation="eager").float()
    model.eval()  # no dropout; gradients still flow
    vocab = model.config.vocab_size
    n = model.config.n_positions + 1  # inputs [2, n_positions], targets shifted by one
    ids = torch.tensor([[(i * 37 + j * 11 + i * j) % vocab for j in range(n)] for i in range(2)])
    logits = model(ids[:, :-1]).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), ids[:, 1:].reshape(-1))
    loss.backward()
    keep = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight"]
    keep += [n for n, _ in model.named_parameters() if n.endswith("attn.c_attn.weight")]
    out = {"ids": ids.to(torch.int64), "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        if name in keep:
            out["grad." + name] = p.grad.detach().contiguous()
    save_file(out, FIXTURE / "grads.safetensors")
    print(f"loss {loss.item():.6f}; saved {len(out) - 2} gradients")


if __name__ == "__main__":
    main()
