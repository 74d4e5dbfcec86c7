#!/usr/bin/env python3
"""Generate the Llama-family and GGUF test fixtures under tests/fixtures/.

Writes, with every parameter random and everything seeded:
- tests/fixtures/llama-{a,b,c}/: LlamaForCausalLM checkpoints in Hugging Face layout
  (float32 / bfloat16 in two shards / float16; classic and transformers-5 config.json
  layouts), each with a `reference.safetensors` of TransformerLens-named activations;
- tests/fixtures/gguf/: small GGUF files in llama.cpp's layout (q/k rows permuted as
  convert_hf_to_gguf.py does, GPT-2-style BPE in the metadata), one per weight type, and a
  `*.reference.safetensors` beside each, computed by transformers loading that GGUF file;
- tests/fixtures/{tiny-a,llama-a}/interventions.safetensors: activation patching, zero and
  mean ablation references (torch hooks; see tools/llama_reference.py).

The tokenizer, `save_file` and the prompt conventions are shared with tools/make_fixtures.py
(the GPT-2 fixtures); the tiny-* checkpoints themselves are only read. See
tests/fixtures/README.md for what every file holds.

Usage:
    tools/setup_python.sh
    .venv/bin/python tools/make_llama_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader has its own progress bar

import torch
import transformers
from gguf import GGMLQuantizationType as Q
from gguf import LlamaFileType
from safetensors import safe_open
from safetensors.torch import load_file
from tokenizers import Tokenizer, pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_reference as lr  # noqa: E402
from llama_gguf import dequant_report, gguf_tensors, hf_view, tokenizer_metadata, write_gguf  # noqa: E402
from make_fixtures import (  # noqa: E402
    EOT, SEED, build_tokenizer, check_tokenizer, file_digest, save_file, save_weights,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"
MIN_TOKENS, MAX_TOKENS = 12, 20

# Shapes are kept small so that tests/fixtures stays under 4 MB; each fixture keeps the feature
# it exists for (see tests/fixtures/README.md).
LLAMA_FIXTURES = [
    # grouped-query attention (2 query heads per key/value head), float32, tied unembedding
    dict(name="llama-a", n_layer=2, d_model=32, n_head=4, n_kv=2, head_dim=None, d_mlp=64, rope_theta=10000.0,
         eps=1e-5, tie=True, bias=False, dtype=torch.float32, shards=1, layout="classic",
         prompt="The light must never go out."),
    # odd head count, ordinary multi-head, q/k/v/o biases, separate lm_head, bfloat16 in two shards
    dict(name="llama-b", n_layer=2, d_model=24, n_head=3, n_kv=3, head_dim=None, d_mlp=40, rope_theta=100000.0,
         eps=1e-6, tie=False, bias=True, dtype=torch.bfloat16, shards=2, layout="classic",
         prompt="The baker opened the shop."),
    # multi-query, head_dim given explicitly and != d_model / n_heads, float16, transformers 5 config
    dict(name="llama-c", n_layer=1, d_model=24, n_head=3, n_kv=1, head_dim=12, d_mlp=32, rope_theta=100000.0,
         eps=1e-5, tie=True, bias=False, dtype=torch.float16, shards=1, layout="v5",
         prompt="Children walked to school."),
]
MAX_POSITIONS = 64

# Q4_0 / Q8_0 blocks are 32 values: rows of 32 (one block) and 64 (ffn_down: two blocks).
GGUF_SMALL = dict(name="gguf-small", n_layer=2, d_model=32, n_head=4, n_kv=2, head_dim=None, d_mlp=64,
                  rope_theta=10000.0, eps=1e-5, tie=True, bias=False, pre="gpt-2",
                  prompt="The wind pulled at the roof.")
# K-quant super-blocks are 256 values, so every row length here is 256. Tied (no output.weight):
# an untied Q6_K output would add 84 KB.
GGUF_MIXED = dict(name="gguf-mixed-k", n_layer=1, d_model=256, n_head=4, n_kv=2, head_dim=None, d_mlp=256,
                  rope_theta=100000.0, eps=1e-5, tie=True, bias=False, pre="smollm",
                  prompt="The storm arrived at night.")
SMALL_TYPES = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1}
FILE_TYPES = {Q.F32: LlamaFileType.ALL_F32, Q.F16: LlamaFileType.MOSTLY_F16, Q.BF16: LlamaFileType.MOSTLY_BF16,
              Q.Q8_0: LlamaFileType.MOSTLY_Q8_0, Q.Q4_0: LlamaFileType.MOSTLY_Q4_0, Q.Q4_1: LlamaFileType.MOSTLY_Q4_1}
# ("output" is only used if GGUF_MIXED is made untied.)
MIXED_TYPES = {"token_embd": Q.Q8_0, "attn_q": Q.Q4_K, "attn_k": Q.Q5_K, "attn_v": Q.Q6_K, "attn_output": Q.Q4_K,
               "ffn_gate": Q.Q5_K, "ffn_up": Q.Q6_K, "ffn_down": Q.Q4_K, "output": Q.Q6_K}

TOKENIZER_CASES = [
    "In 2024 there were 1234567 cats",
    "Wait... what?! (yes) -- no; ok: \"quoted\" [x] {y} a+b=c",
    "spaces:  two   three    four     end",
    "line one\nline two\n\n\ttabbed\r\nend\n",
    " leading space, trailing space ",
    "it's we've they'll I'm you'd",
    "café naïve résumé Ångström",
    "日本語のテキストと中文",
    "emoji 🙂🚀 end",
    "Hello<|endoftext|>world",
]
# Hooks kept in the GGUF references. The forward pass is the one the llama-* fixtures check hook
# by hook; here the logits catch any wrong weight (the unembedding is the tied token embedding)
# and the patterns a wrong q/k permutation, layer by layer.
SLIM_HOOKS = ("input_ids", "attn.hook_pattern", "logits")
MEAN_PROMPT = "The keeper stayed awake all night."

LOG = print


def seed_for(name: str) -> int:
    return SEED + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100000


# --------------------------------------------------------------------------- random Llama


def make_config(fx: dict, vocab: int, eot_id: int) -> LlamaConfig:
    cfg = LlamaConfig(
        vocab_size=vocab, hidden_size=fx["d_model"], intermediate_size=fx["d_mlp"],
        num_hidden_layers=fx["n_layer"], num_attention_heads=fx["n_head"], num_key_value_heads=fx["n_kv"],
        head_dim=fx["head_dim"] or fx["d_model"] // fx["n_head"], hidden_act="silu",
        max_position_embeddings=MAX_POSITIONS, rms_norm_eps=fx["eps"],
        rope_parameters={"rope_type": "default", "rope_theta": fx["rope_theta"]},
        attention_bias=fx["bias"], mlp_bias=False, tie_word_embeddings=fx["tie"],
        bos_token_id=eot_id, eos_token_id=eot_id, pad_token_id=None, initializer_range=0.2,
        architectures=["LlamaForCausalLM"],
    )
    cfg._attn_implementation = "eager"
    return cfg


def random_llama(fx: dict, vocab: int, eot_id: int, store_dtype=torch.float32) -> LlamaForCausalLM:
    """Random weights, rounded to store_dtype: RMSNorm gains 1 + 0.2 N(0,1), biases 0.1 N(0,1),
    the embedding 0.2 N(0,1), and every projection N(0, s^2) with s = 0.2 * sqrt(64 / fan_in), i.e.
    0.2 for a 64-wide input as in the GPT-2 fixtures, scaled so narrower models keep peaked patterns."""
    seed = seed_for(fx["name"])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = LlamaForCausalLM(make_config(fx, vocab, eot_id)).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied lm_head appears once
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "norm" in name:
                p.copy_(1.0 + 0.2 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.1 * noise)
            elif "embed_tokens" in name:
                p.copy_(0.2 * noise)
            else:
                p.copy_(0.2 * (64 / p.shape[1]) ** 0.5 * noise)
            p.copy_(p.to(store_dtype).to(torch.float32))  # both sides see the stored numbers
    model.eval()
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert tied == fx["tie"], (fx["name"], tied)
    return model


def classic_config(fx: dict, vocab: int, eot_id: int) -> dict:
    """config.json as Llama 2 era checkpoints write it: rope_theta at the top level, no rope_parameters."""
    d = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
        "hidden_size": fx["d_model"], "intermediate_size": fx["d_mlp"], "num_hidden_layers": fx["n_layer"],
        "num_attention_heads": fx["n_head"], "num_key_value_heads": fx["n_kv"], "hidden_act": "silu",
        "max_position_embeddings": MAX_POSITIONS, "rms_norm_eps": fx["eps"], "rope_theta": fx["rope_theta"],
        "rope_scaling": None, "attention_bias": fx["bias"], "attention_dropout": 0.0, "mlp_bias": False,
        "tie_word_embeddings": fx["tie"], "bos_token_id": eot_id, "eos_token_id": eot_id,
        "initializer_range": 0.2, "pretraining_tp": 1, "use_cache": True,
        "torch_dtype": str(fx["dtype"]).removeprefix("torch."),
    }
    if fx["head_dim"]:
        d["head_dim"] = fx["head_dim"]
    return d


def v5_config(model: LlamaForCausalLM, fx: dict) -> dict:
    d = model.config.to_dict()
    d["dtype"] = str(fx["dtype"]).removeprefix("torch.")
    d.pop("transformers_version", None)  # keep the file independent of the patch version
    assert "rope_theta" not in d, "transformers wrote a top-level rope_theta"
    assert d["rope_parameters"] == {"rope_type": "default", "rope_theta": fx["rope_theta"]}, d["rope_parameters"]
    assert d["head_dim"] == fx["head_dim"]
    return d


def prompt_ids(tok, text: str, eot_id: int) -> list[int]:
    ids = tok.encode(text).ids
    if not MIN_TOKENS <= len(ids) <= MAX_TOKENS:
        sys.exit(f"prompt {text!r} has {len(ids)} tokens, want {MIN_TOKENS}..{MAX_TOKENS}")
    assert tok.decode(ids) == text
    return [eot_id] + ids


def metadata(prompt: str, tokens: list[str], **extra) -> dict[str, str]:
    meta = {
        "prompt": prompt,
        "tokens": json.dumps(tokens, ensure_ascii=False),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "gguf": gguf_version(),
    }
    meta.update(extra)
    return meta


def gguf_version() -> str:
    from importlib.metadata import version

    return version("gguf")


def build_llama_fixture(fx: dict, tok, tok_json: str, eot_id: int, out_root: Path) -> LlamaForCausalLM:
    name = fx["name"]
    folder = out_root / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("model*.safetensors*"):
        old.unlink()
    vocab = tok.get_vocab_size(with_added_tokens=True)
    model = random_llama(fx, vocab, eot_id, fx["dtype"])

    tensors = {n: p.detach().to(fx["dtype"]).contiguous().clone() for n, p in model.named_parameters()}
    assert ("lm_head.weight" in tensors) != fx["tie"]
    save_weights(folder, tensors, fx["shards"])
    cfg = classic_config(fx, vocab, eot_id) if fx["layout"] == "classic" else v5_config(model, fx)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    (folder / "tokenizer.json").write_text(tok_json)

    ids = prompt_ids(tok, fx["prompt"], eot_id)
    input_ids = torch.tensor([ids], dtype=torch.int64)
    ref = lr.capture_llama(model, input_ids)
    ref.update(lr.ablated_logits(model, input_ids))

    # The folder reloads through the standard loader to the same model and the same logits.
    reloaded, info = LlamaForCausalLM.from_pretrained(
        str(folder), attn_implementation="eager", dtype=torch.float32, output_loading_info=True
    )
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        sys.exit(f"{name}: from_pretrained reported {problems}")
    rc = reloaded.config
    assert rc.rope_parameters["rope_theta"] == fx["rope_theta"], rc.rope_parameters
    assert rc.head_dim == (fx["head_dim"] or fx["d_model"] // fx["n_head"])
    assert rc.tie_word_embeddings == fx["tie"] and rc.rms_norm_eps == fx["eps"]
    mem = model.state_dict()
    for k, v in reloaded.state_dict().items():
        assert torch.equal(v, mem[k]), f"{name}: {k} differs after reload"
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids).logits, ref["logits"], rtol=0, atol=0)
    saved: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("model*.safetensors")):
        saved.update(load_file(str(f)))
    assert set(saved) == set(tensors) and all(torch.equal(saved[k], v) for k, v in tensors.items())

    tokens = [tok.id_to_token(i) for i in ids]
    save_file(ref, str(folder / "reference.safetensors"), metadata(fx["prompt"], tokens))
    n_params = sum(t.numel() for t in tensors.values())
    LOG(f"{name}: {fx['n_layer']}L {fx['n_head']}H/{fx['n_kv']}kv d={fx['d_model']} "
        f"d_head={rc.head_dim} mlp={fx['d_mlp']} {fx['dtype']} params={n_params} seq={len(ids)}")
    LOG(f"  max |softmax(scores) - pattern| = {lr.pattern_error(ref):.2e}; {sharpness(ref)}")
    lr.scale_check(ref, rc.head_dim)
    return model


def sharpness(ref: dict[str, torch.Tensor]) -> str:
    """Mean over heads and query rows 4.. of the row's largest attention weight."""
    parts = []
    for name, p in ref.items():
        if name.endswith("hook_pattern"):
            rows = p[0, :, 4:, :]
            parts.append(f"L{name.split('.')[1]} row max {rows.max(dim=-1).values.mean().item():.2f}")
    seq = next(iter(ref.values())).shape[1]
    uniform = sum(1 / (i + 1) for i in range(4, seq)) / (seq - 4)
    return "attention " + ", ".join(parts) + f" (uniform {uniform:.2f})"


# --------------------------------------------------------------------------- GGUF


def slim(ref: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in ref.items() if k.endswith(SLIM_HOOKS)}


def gguf_reference(path: Path, fx: dict, expect: dict[str, torch.Tensor], float_model, tok, eot_id: int) -> dict:
    """Load the GGUF with transformers (model and tokenizer) and capture the reference from it."""
    folder, fname = str(path.parent), path.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    cfg = model.config
    assert type(model).__name__ == "LlamaForCausalLM", type(model)
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads,
            cfg.intermediate_size, cfg.tie_word_embeddings) == (
        fx["n_layer"], fx["d_model"], fx["n_head"], fx["n_kv"], fx["d_mlp"], fx["tie"]), cfg
    assert cfg.rope_parameters["rope_theta"] == fx["rope_theta"] and abs(cfg.rms_norm_eps - fx["eps"]) < 1e-12
    sd = model.state_dict()
    for k, v in expect.items():
        assert v.shape == sd[k].shape and torch.equal(sd[k], v), f"{fname}: {k} is not the dequantized weight"

    gtok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    ids = [eot_id] + gtok(fx["prompt"], add_special_tokens=False)["input_ids"]
    assert ids == prompt_ids(tok, fx["prompt"], eot_id), (ids, fname)
    input_ids = torch.tensor([ids], dtype=torch.int64)
    ref = lr.capture_llama(model, input_ids)
    with torch.no_grad():
        float_logits = float_model(input_ids).logits
    drift = (ref["logits"] - float_logits).abs().max().item() / float_logits.abs().max().item()

    cases = [{"text": t, "ids": gtok(t, add_special_tokens=False)["input_ids"]} for t in TOKENIZER_CASES]
    digits = Tokenizer.from_str(tok.to_str())  # llama.cpp's "smollm" split: each digit on its own first
    digits.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    for c in cases:
        assert gtok.decode(c["ids"]) == c["text"], c
        # The same ids as tokenizer.json of the llama-* fixtures; and, as the vocabulary has no
        # merge with a digit in it, the same as with llama.cpp's "smollm" digit split.
        assert c["ids"] == tok.encode(c["text"]).ids == digits.encode(c["text"]).ids, c
    info = {
        "tokenizer_class": type(gtok).__name__,
        "pre_tokenizer": json.loads(gtok.backend_tokenizer.to_str())["pre_tokenizer"],
        "with_special_tokens": gtok(fx["prompt"])["input_ids"][:2],
    }
    meta = metadata(fx["prompt"], gtok.convert_ids_to_tokens(ids),
                    tokenizer_cases=json.dumps(cases, ensure_ascii=False), gguf_file=fname)
    return {"ref": slim(ref), "pattern_error": lr.pattern_error(ref), "meta": meta, "drift": drift,
            "cases": cases, "info": info}


def build_gguf(tok, eot_id: int, out_root: Path) -> None:
    folder = out_root / "gguf"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    vocab = tok.get_vocab_size(with_added_tokens=True)
    tok_meta = tokenizer_metadata(tok)
    jobs = [(f"small-{k}", GGUF_SMALL, None, t) for k, t in SMALL_TYPES.items()]
    jobs.append(("mixed-k", GGUF_MIXED, MIXED_TYPES, LlamaFileType.MOSTLY_Q4_K_M))
    models = {}
    for stem, fx, per_tensor, ft in jobs:
        if fx["name"] not in models:
            models[fx["name"]] = random_llama(fx, vocab, eot_id)
        model = models[fx["name"]]
        weights = gguf_tensors(model, fx)
        if per_tensor is None:
            types = {n: (Q.F32 if w.ndim == 1 else ft) for n, w in weights.items()}
            file_type = FILE_TYPES[ft]
        else:
            types = {n: (Q.F32 if w.ndim == 1 else per_tensor[n.split(".")[-2]]) for n, w in weights.items()}
            file_type = ft
        path = folder / f"{stem}.gguf"
        deq = write_gguf(path, fx, weights, types, file_type, tok_meta, eot_id, MAX_POSITIONS)
        errs = dequant_report(weights, deq, types)
        got = gguf_reference(path, fx, hf_view(deq, fx), model, tok, eot_id)
        ref = got["ref"]
        save_file(ref, str(folder / f"{stem}.reference.safetensors"), got["meta"])
        LOG(f"{path.name}: dequant max err / max|w|: "
            + ", ".join(f"{t} {e:.2e}" for t, e in errs.items())
            + f"; logits drift vs float {got['drift']:.2e}; max |softmax(scores) - pattern| "
            f"{got['pattern_error']:.2e}; seq {ref['input_ids'].shape[1]}; {sharpness(ref)}")
        if stem in ("small-f32", "mixed-k"):
            LOG(f"  transformers tokenizer from GGUF (pre={fx['pre']!r}): {got['info']}")
            for c in got["cases"][:2]:
                LOG(f"  {c['text']!r} -> {c['ids']}")


# --------------------------------------------------------------------------- interventions


def build_interventions(folder: Path, model, tok, eot_id: int, ref_ids: torch.Tensor, prompt: str) -> None:
    # Replacements are whole lower-case words (" the", " keeper", ...), so the corrupted prompt decodes.
    words = sorted(i for t, i in tok.get_vocab().items() if re.fullmatch("Ġ[a-z]{2,}", t))
    clean = ref_ids[0].tolist()
    corrupted, positions = lr.corrupt(clean, words, seed_for("interventions-" + folder.name))
    mean_ids = torch.tensor([prompt_ids(tok, MEAN_PROMPT, eot_id)], dtype=torch.int64)
    out = lr.interventions(model, ref_ids, torch.tensor([corrupted]), positions, mean_ids)
    meta = metadata(prompt, [tok.id_to_token(i) for i in clean],
                    patch_positions=json.dumps(positions),
                    corrupted_tokens=json.dumps([tok.id_to_token(i) for i in corrupted], ensure_ascii=False),
                    corrupted_prompt=tok.decode(corrupted[1:]),
                    mean_prompt=MEAN_PROMPT, logits_positions=json.dumps(positions),
                    pattern_patching="hook_pattern is edited inside the model's eager attention: "
                    "softmax output replaced at the patched query rows (tools/llama_reference.py)")
    save_file(out, str(folder / "interventions.safetensors"), meta)
    effects = {n.removesuffix(".logits"): (t - out["corrupted.logits" if n.startswith("patch") else "clean.logits"])
               .abs().amax(dim=-1)[0].tolist() for n, t in out.items() if n.endswith(".logits")}
    LOG(f"{folder.name}/interventions.safetensors: positions {positions}; max |logits - baseline| per position "
        "(baseline: corrupted run for patch.*, clean run otherwise):")
    for k, v in effects.items():
        LOG(f"    {k:36s} " + " ".join(f"{x:6.3f}" for x in v))


def tiny_a_interventions(out_root: Path, tok, eot_id: int) -> None:
    """tiny-a is read from the repository (never rewritten); its interventions go to out_root/tiny-a."""
    folder = DEFAULT_OUT / "tiny-a"
    model = GPT2LMHeadModel.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32)
    model.eval()
    ref = load_file(str(folder / "reference.safetensors"))
    with safe_open(str(folder / "reference.safetensors"), "pt") as f:
        prompt = f.metadata()["prompt"]
    ids = ref["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, ref["logits"], rtol=0, atol=1e-5)
    (out_root / "tiny-a").mkdir(parents=True, exist_ok=True)
    build_interventions(out_root / "tiny-a", model, tok, eot_id, ids, prompt)


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: tests/fixtures)")
    args = ap.parse_args()

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    tok = build_tokenizer()
    eot_id = check_tokenizer(tok)
    assert eot_id == 0 and tok.id_to_token(0) == EOT
    tok_json = tok.to_str(pretty=True) + "\n"
    LOG(f"torch {torch.__version__}, transformers {transformers.__version__}, gguf {gguf_version()}")
    args.out.mkdir(parents=True, exist_ok=True)

    models = {fx["name"]: build_llama_fixture(fx, tok, tok_json, eot_id, args.out) for fx in LLAMA_FIXTURES}
    build_gguf(tok, eot_id, args.out)
    tiny_a_interventions(args.out, tok, eot_id)
    a = LLAMA_FIXTURES[0]
    build_interventions(args.out / "llama-a", models["llama-a"], tok, eot_id,
                        torch.tensor([prompt_ids(tok, a["prompt"], eot_id)]), a["prompt"])

    total = 0
    for sub in ["llama-a", "llama-b", "llama-c", "gguf", "tiny-a"]:
        for f in sorted((args.out / sub).iterdir()):
            if sub == "tiny-a" and f.name != "interventions.safetensors":
                continue
            total += f.stat().st_size
            LOG(f"  {sub + '/' + f.name:44s} {f.stat().st_size:8d} B  sha256:{file_digest(f)}")
    LOG(f"written: {total} B")


if __name__ == "__main__":
    main()
