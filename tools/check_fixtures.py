#!/usr/bin/env python3
"""Independent check of tests/fixtures/: a from-scratch NumPy GPT-2 forward pass.

Reads each fixture folder the way glassbox does (config.json, tokenizer.json,
single or sharded safetensors, with or without the `transformer.` prefix), runs
GPT-2 in plain NumPy (float64) and compares every tensor in reference.safetensors.
This catches mistakes in make_fixtures.py's reference capture (hook placement,
Conv1D layout, GELU variants, scaling), independently of transformers.

Usage: .venv/bin/python tools/check_fixtures.py [FIXTURE_DIR ...]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
from tokenizers import Tokenizer

REPO_ROOT = Path(__file__).resolve().parent.parent
EOT = "<|endoftext|>"


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w: dict[str, np.ndarray] = {}
    for f in files:
        w.update(load_file(str(folder / f)))
    out = {}
    for k, v in w.items():
        k = k[len("transformer.") :] if k.startswith("transformer.") else k
        out[k] = v.astype(np.float64)
    return out


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    n = (x - mu) / np.sqrt(var + eps)
    return n, n * g + b


def act(name, x):
    if name == "gelu_new":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    if name == "relu":
        return np.maximum(x, 0.0)
    raise ValueError(name)


def forward(cfg, w, ids):
    d, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dh = d // H
    eps = cfg["layer_norm_epsilon"]
    T = len(ids)
    acts = {}
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    acts["hook_embed"] = w["wte.weight"][ids]
    acts["hook_pos_embed"] = w["wpe.weight"][:T]
    mask = np.triu(np.ones((T, T), dtype=bool), k=1)
    for l in range(L):
        p = f"h.{l}."
        acts[f"blocks.{l}.hook_resid_pre"] = x
        _, h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = np.split(qkv, 3, axis=-1)
        q = q.reshape(T, H, dh).transpose(1, 0, 2)
        k = k.reshape(T, H, dh).transpose(1, 0, 2)
        v = v.reshape(T, H, dh).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1)
        if cfg.get("scale_attn_weights", True):
            s = s / math.sqrt(dh)
        s = np.where(mask, -np.inf, s)
        acts[f"blocks.{l}.attn.hook_attn_scores"] = s
        e = np.exp(s - s.max(-1, keepdims=True))
        pat = e / e.sum(-1, keepdims=True)
        acts[f"blocks.{l}.attn.hook_pattern"] = pat
        z = (pat @ v).transpose(1, 0, 2).reshape(T, d)
        attn_out = z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        acts[f"blocks.{l}.hook_attn_out"] = attn_out
        x = x + attn_out
        acts[f"blocks.{l}.hook_resid_mid"] = x
        _, h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = act(cfg["activation_function"], h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        mlp_out = m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        acts[f"blocks.{l}.hook_mlp_out"] = mlp_out
        x = x + mlp_out
        acts[f"blocks.{l}.hook_resid_post"] = x
    n, y = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    acts["ln_final.hook_normalized"] = n
    acts["ln_final.hf_output"] = y
    unembed = w["lm_head.weight"] if "lm_head.weight" in w else w["wte.weight"]
    if cfg.get("tie_word_embeddings", True):
        assert "lm_head.weight" not in w
    acts["logits"] = y @ unembed.T
    return acts


def check(folder: Path) -> bool:
    cfg = json.loads((folder / "config.json").read_text())
    w = load_weights(folder)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    bos = tok.token_to_id(EOT)
    assert bos == cfg["bos_token_id"] == cfg["eos_token_id"]
    assert tok.get_vocab_size() == cfg["vocab_size"]
    ref_path = folder / "reference.safetensors"
    ref = load_file(str(ref_path))
    with safe_open(str(ref_path), "np") as f:
        meta = f.metadata()
    ids = [bos] + tok.encode(meta["prompt"]).ids
    assert ref["input_ids"].tolist() == [ids], "input_ids differ"
    assert json.loads(meta["tokens"]) == [tok.id_to_token(i) for i in ids], "tokens differ"
    acts = forward(cfg, w, np.array(ids))
    ok = True
    worst = 0.0
    for name, want in ref.items():
        if name == "input_ids":
            continue
        if name not in acts:
            print(f"  {folder.name}: no NumPy value for {name}")
            ok = False
            continue
        got = acts[name][None].astype(np.float64)
        want = want.astype(np.float64)
        if got.shape != want.shape:
            print(f"  {folder.name}: {name}: shape {got.shape} vs {want.shape}")
            ok = False
            continue
        fin = np.isfinite(want)
        if not np.array_equal(fin, np.isfinite(got)) or not np.array_equal(want[~fin], got[~fin]):
            print(f"  {folder.name}: {name}: non-finite entries differ")
            ok = False
            continue
        err = float(np.max(np.abs(got[fin] - want[fin]) / (1.0 + np.abs(want[fin]))))
        worst = max(worst, err)
        if err > 1e-4:
            print(f"  {folder.name}: {name}: max rel err {err:.2e}")
            ok = False
    print(f"{folder.name}: {'OK' if ok else 'FAIL'} ({len(ref)} tensors, worst rel err {worst:.1e})")
    return ok


def main() -> None:
    dirs = [Path(a) for a in sys.argv[1:]] or sorted(
        p for p in (REPO_ROOT / "tests" / "fixtures").iterdir() if (p / "reference.safetensors").exists()
    )
    results = [check(d) for d in dirs]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
