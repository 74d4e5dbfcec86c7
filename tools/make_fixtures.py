#!/usr/bin/env python3
"""Generate the tiny GPT-2 test fixtures under tests/fixtures/.

Each fixture is a folder in Hugging Face layout (config.json, tokenizer.json,
safetensors weights) holding a small GPT-2 with random weights, plus a
`reference.safetensors` with activations computed by Hugging Face transformers
(GPT2LMHeadModel, eager attention, float32, eval mode) and named with
TransformerLens hook names.

Everything is seeded, so rerunning this script reproduces the same files with
the same library versions (see tools/requirements.txt).

Usage (from anywhere):
    tools/setup_python.sh            # once: creates .venv with pinned packages
    .venv/bin/python tools/make_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file
from safetensors.torch import save as st_save
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"

EOT = "<|endoftext|>"
VOCAB_SIZE = 400
SEED = 20240601

# Deterministic training text for the tokenizer (written for this project).
TRAINING_TEXT = """\
The small lighthouse stood at the end of the harbour wall. Every evening the keeper
climbed the narrow stairs, lit the lamp, and watched the boats come home. She kept a
notebook of the weather, the tides and the names of the ships that passed the point.

In the morning the town woke slowly. The baker opened his shop before the sun was up,
and the smell of fresh bread drifted down the street. Children walked to school in
pairs, talking about the games they would play when the bell rang at noon.

A language model reads text one token at a time. It looks back at the words that came
before, decides which of them matter, and then guesses what comes next. Attention is
the part of the model that chooses where to look; the residual stream carries what the
model has learned so far from one layer to the next.

When the storm arrived, the wind pulled at the roofs and the rain hammered on the
windows. The keeper stayed awake all night. She said that the light must never go out,
because somebody out there on the dark water would be looking for it.

Teachers often say that the best way to understand a machine is to open it up and look
inside. If you can see every part moving, you can ask better questions: why did this
head look at that word, and what would happen if we changed it?
"""

# Per-fixture model settings. `prefix`: whether tensor names carry "transformer.".
FIXTURES = [
    {
        "name": "tiny-a",
        "n_layer": 2,
        "n_head": 4,
        "n_embd": 64,
        "n_positions": 64,
        "activation_function": "gelu_new",
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "prefix": True,
        "shards": 1,
        # Real OpenAI GPT-2 configs carry a legacy `n_ctx`; keep one fixture like that.
        "n_ctx": 64,
        "prompt": "The keeper watched the boats come home.",
    },
    {
        "name": "tiny-b",
        "n_layer": 3,
        "n_head": 2,
        "n_embd": 48,
        "n_positions": 48,
        "activation_function": "gelu",
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "prefix": False,
        "shards": 2,
        "prompt": "The light must never go out, she said.",
    },
    {
        "name": "tiny-c",
        "n_layer": 1,
        "n_head": 3,
        "n_embd": 48,
        "n_positions": 32,
        "activation_function": "relu",
        "scale_attn_weights": False,
        "tie_word_embeddings": False,
        "prefix": True,
        "shards": 1,
        "prompt": "Hello café! Is the model thinking?"  # multi-byte UTF-8 on purpose,
    },
]

MIN_PROMPT_TOKENS = 12
MAX_PROMPT_TOKENS = 20


def log(msg: str) -> None:
    print(msg, flush=True)


def save_file(tensors: dict[str, torch.Tensor], path: str, metadata: dict[str, str]) -> None:
    """safetensors.torch.save_file, but with a byte-stable header.

    The safetensors library writes `__metadata__` from a hash map, so its key order
    (and hence the file's bytes) changes from run to run. Re-serialise the header
    with the metadata keys sorted; tensor data and offsets are untouched.
    """
    raw = st_save(tensors, metadata=metadata)
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", None)
    new_header: dict = {}
    if meta is not None:
        new_header["__metadata__"] = dict(sorted(meta.items()))
    new_header.update(header)
    hbytes = json.dumps(new_header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)
    with open(path, "wb") as f:
        f.write(len(hbytes).to_bytes(8, "little"))
        f.write(hbytes)
        f.write(raw[8 + n :])


# --------------------------------------------------------------------------- tokenizer


def build_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        show_progress=False,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    # Train on lines (order fixed) so the result does not depend on the file system.
    tok.train_from_iterator(TRAINING_TEXT.splitlines(keepends=True), trainer=trainer)
    # Round-trip through JSON so the in-memory tokenizer is exactly the saved one.
    return Tokenizer.from_str(tok.to_str())


def check_tokenizer(tok: Tokenizer) -> int:
    eot_id = tok.token_to_id(EOT)
    if eot_id is None:
        sys.exit(f"{EOT} is not in the vocabulary")
    if tok.id_to_token(eot_id) != EOT:
        sys.exit(f"{EOT} does not map back from its id")
    for fx in FIXTURES:
        text = fx["prompt"]
        ids = tok.encode(text).ids
        back = tok.decode(ids)
        if back != text:
            sys.exit(f"tokenizer does not round-trip {text!r}: got {back!r}")
        # BOS prepended, as TransformerLens does; must also round-trip when special
        # tokens are kept.
        with_bos = tok.decode([eot_id] + ids, skip_special_tokens=False)
        if with_bos != EOT + text:
            sys.exit(f"round trip with BOS failed for {text!r}: got {with_bos!r}")
    # The training text must round-trip too (byte-level BPE is lossless).
    ids = tok.encode(TRAINING_TEXT).ids
    if tok.decode(ids) != TRAINING_TEXT:
        sys.exit("tokenizer does not round-trip the training text")
    return eot_id


# --------------------------------------------------------------------------- model


def make_config(fx: dict, vocab_size: int, eot_id: int) -> GPT2Config:
    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=fx["n_positions"],
        n_embd=fx["n_embd"],
        n_layer=fx["n_layer"],
        n_head=fx["n_head"],
        activation_function=fx["activation_function"],
        scale_attn_weights=fx["scale_attn_weights"],
        tie_word_embeddings=fx["tie_word_embeddings"],
        layer_norm_epsilon=1e-5,
        initializer_range=0.2,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        architectures=["GPT2LMHeadModel"],
    )


def randomise_(model: GPT2LMHeadModel, gen: torch.Generator) -> None:
    """Give every parameter a distinctive random value (deterministic via `gen`).

    Weights ~ N(0, 0.2^2), LayerNorm gains ~ 1 + 0.2 N(0,1), biases ~ 0.1 N(0,1).
    Done by hand (not via HF's initialiser) so the values do not depend on the
    transformers version's init scheme.
    """
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied params appear once
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if ".ln_" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def weights_to_save(model: GPT2LMHeadModel, fx: dict) -> dict[str, torch.Tensor]:
    params = dict(model.named_parameters())  # deduplicated: tied lm_head is absent
    out: dict[str, torch.Tensor] = {}
    for name, p in params.items():
        if name.endswith(".attn.bias") or name.endswith(".attn.masked_bias"):
            continue  # legacy buffers, not parameters (and absent in recent versions)
        if name.startswith("lm_head."):
            if fx["tie_word_embeddings"]:
                raise AssertionError("tied model should not have a separate lm_head parameter")
            out[name] = p.detach().to(torch.float32).contiguous().clone()
            continue
        assert name.startswith("transformer."), name
        key = name if fx["prefix"] else name[len("transformer.") :]
        out[key] = p.detach().to(torch.float32).contiguous().clone()
    if fx["tie_word_embeddings"]:
        assert "lm_head.weight" not in out
    else:
        assert "lm_head.weight" in out
    return out


def save_weights(folder: Path, tensors: dict[str, torch.Tensor], shards: int) -> None:
    meta = {"format": "pt"}
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"), metadata=meta)
        return
    # Split in model order (embeddings first, then blocks, then ln_f / lm_head)
    # into `shards` files of roughly equal byte size.
    names = list(tensors.keys())
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    target = total / shards
    groups: list[list[str]] = [[]]
    acc = 0
    for name in names:
        size = tensors[name].numel() * tensors[name].element_size()
        if acc >= target * len(groups) and len(groups) < shards:
            groups.append([])
        groups[-1].append(name)
        acc += size
    assert len(groups) == shards, "could not split into the requested number of shards"
    weight_map: dict[str, str] = {}
    for i, group in enumerate(groups, start=1):
        fname = f"model-{i:05d}-of-{shards:05d}.safetensors"
        save_file({n: tensors[n] for n in group}, str(folder / fname), metadata=meta)
        for n in group:
            weight_map[n] = fname
    index = {
        "metadata": {"total_size": total},
        "weight_map": dict(sorted(weight_map.items())),
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def write_config(folder: Path, config: GPT2Config, fx: dict) -> None:
    d = config.to_dict()
    d["dtype"] = "float32"
    if "n_ctx" in fx:
        d["n_ctx"] = fx["n_ctx"]
    (folder / "config.json").write_text(json.dumps(d, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- reference


def capture_reference(model: GPT2LMHeadModel, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    cfg = model.config
    n_layer, n_head = cfg.n_layer, cfg.n_head
    d_head = cfg.n_embd // n_head
    store: dict[str, torch.Tensor] = {}
    handles = []
    tr = model.transformer

    def save(name):
        def hook(_mod, _inp, out):
            t = out[0] if isinstance(out, tuple) else out
            store[name] = t.detach().clone()

        return hook

    def save_in(name):
        def hook(_mod, inp, _out):
            store[name] = inp[0].detach().clone()

        return hook

    def save_pre(name):
        def hook(_mod, args, kwargs=None):
            x = args[0] if args else kwargs["hidden_states"]
            store[name] = x.detach().clone()

        return hook

    handles.append(tr.wte.register_forward_hook(save("hook_embed")))
    handles.append(tr.wpe.register_forward_hook(save("hook_pos_embed")))
    for l, block in enumerate(tr.h):
        handles.append(block.register_forward_pre_hook(save_pre(f"blocks.{l}.hook_resid_pre"), with_kwargs=True))
        handles.append(block.register_forward_hook(save(f"blocks.{l}.hook_resid_post")))
        handles.append(block.attn.c_attn.register_forward_hook(save(f"_qkv.{l}")))
        # c_proj's input is z with the heads merged: [1, seq, n_head * d_head].
        handles.append(block.attn.c_proj.register_forward_hook(save_in(f"_z.{l}")))
        handles.append(block.attn.register_forward_hook(save(f"blocks.{l}.hook_attn_out")))
        handles.append(block.mlp.register_forward_hook(save(f"blocks.{l}.hook_mlp_out")))
    handles.append(tr.ln_f.register_forward_pre_hook(save_pre("_ln_f_in"), with_kwargs=True))
    try:
        with torch.no_grad():
            out = model(input_ids, output_attentions=True, output_hidden_states=True, use_cache=False)
    finally:
        for h in handles:
            h.remove()

    seq = input_ids.shape[1]
    hs = out.hidden_states
    att = out.attentions
    assert len(hs) == n_layer + 1, len(hs)
    assert len(att) == n_layer, len(att)

    ref: dict[str, torch.Tensor] = {"input_ids": input_ids.to(torch.int64).clone()}
    ref["hook_embed"] = store["hook_embed"]
    ref["hook_pos_embed"] = store["hook_pos_embed"].expand(1, seq, cfg.n_embd).contiguous()

    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    for l in range(n_layer):
        pre = store[f"blocks.{l}.hook_resid_pre"]
        # hidden_states[l] is the input to block l.
        torch.testing.assert_close(hs[l], pre, rtol=0, atol=0)
        attn_out = store[f"blocks.{l}.hook_attn_out"]
        mlp_out = store[f"blocks.{l}.hook_mlp_out"]
        post = store[f"blocks.{l}.hook_resid_post"]
        mid = pre + attn_out
        torch.testing.assert_close(mid + mlp_out, post, rtol=1e-5, atol=1e-5)
        ref[f"blocks.{l}.hook_resid_pre"] = pre
        ref[f"blocks.{l}.hook_resid_mid"] = mid
        ref[f"blocks.{l}.hook_resid_post"] = post
        ref[f"blocks.{l}.hook_attn_out"] = attn_out
        ref[f"blocks.{l}.hook_mlp_out"] = mlp_out

        # Attention scores re-derived from c_attn's output: [1, seq, 3*d].
        qkv = store[f"_qkv.{l}"]
        q, k, v = qkv.split(cfg.n_embd, dim=2)
        # TransformerLens shapes: hook_q|k|v|z are [batch, pos, head, d_head].
        ref[f"blocks.{l}.attn.hook_q"] = q.reshape(1, seq, n_head, d_head).contiguous()
        ref[f"blocks.{l}.attn.hook_k"] = k.reshape(1, seq, n_head, d_head).contiguous()
        ref[f"blocks.{l}.attn.hook_v"] = v.reshape(1, seq, n_head, d_head).contiguous()
        q = q.view(1, seq, n_head, d_head).transpose(1, 2)
        k = k.view(1, seq, n_head, d_head).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if cfg.scale_attn_weights:
            scores = scores / math.sqrt(d_head)
        scores = scores.masked_fill(~causal, float("-inf"))
        pattern = att[l].detach().clone()
        torch.testing.assert_close(torch.softmax(scores, dim=-1), pattern, rtol=0, atol=1e-6)
        assert pattern.shape == (1, n_head, seq, seq)
        ref[f"blocks.{l}.attn.hook_attn_scores"] = scores.contiguous()
        ref[f"blocks.{l}.attn.hook_pattern"] = pattern.contiguous()
        vh = v.reshape(1, seq, n_head, d_head).transpose(1, 2)  # [1, h, seq, d_head]
        z = (pattern @ vh).transpose(1, 2)  # [1, seq, h, d_head]
        torch.testing.assert_close(
            z.reshape(1, seq, -1), store[f"_z.{l}"], rtol=1e-5, atol=1e-6
        )
        ref[f"blocks.{l}.attn.hook_z"] = z.contiguous()

    ln_in = store["_ln_f_in"]
    torch.testing.assert_close(ln_in, ref[f"blocks.{n_layer - 1}.hook_resid_post"], rtol=0, atol=0)
    mean = ln_in.mean(dim=-1, keepdim=True)
    var = ((ln_in - mean) ** 2).mean(dim=-1, keepdim=True)  # biased variance
    normalized = (ln_in - mean) / torch.sqrt(var + cfg.layer_norm_epsilon)
    hf_out = hs[-1].detach().clone()
    torch.testing.assert_close(
        normalized * tr.ln_f.weight.detach() + tr.ln_f.bias.detach(), hf_out, rtol=1e-5, atol=1e-5
    )
    ref["ln_final.hook_normalized"] = normalized.contiguous()
    ref["ln_final.hf_output"] = hf_out.contiguous()
    ref["logits"] = out.logits.detach().clone().contiguous()

    for name, t in ref.items():
        if name != "input_ids":
            assert t.dtype == torch.float32, (name, t.dtype)
            assert torch.isfinite(t).all() or name.endswith("hook_attn_scores"), name
        ref[name] = t.contiguous()
    return ref


def ablated_logits(model: GPT2LMHeadModel, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Logits with one head zero-ablated, as a TransformerLens hook setting hook_z[:, :, head] = 0
    would do: the head's slice of c_proj's input is zeroed. Named `ablated.L{l}H{h}.logits`."""
    cfg = model.config
    d_head = cfg.n_embd // cfg.n_head
    layer, head = cfg.n_layer - 1, cfg.n_head - 1
    block = model.transformer.h[layer]

    def zero_head(_mod, args):
        z = args[0].clone()
        z[..., head * d_head : (head + 1) * d_head] = 0
        return (z,)

    handle = block.attn.c_proj.register_forward_pre_hook(zero_head)
    try:
        with torch.no_grad():
            logits = model(input_ids).logits.detach().clone().contiguous()
    finally:
        handle.remove()
    return {f"ablated.L{layer}H{head}.logits": logits}


def pattern_stats(ref: dict[str, torch.Tensor], n_layer: int) -> str:
    parts = []
    for l in range(n_layer):
        p = ref[f"blocks.{l}.attn.hook_pattern"][0]  # [h, q, k]
        seq = p.shape[-1]
        # Skip the first rows, which are trivially peaked (row 0 is always [1]).
        rows = p[:, 4:, :]
        max_w = rows.max(dim=-1).values.mean().item()
        # Uniform attention over the causal prefix would give mean max of:
        uniform = torch.tensor([1.0 / (i + 1) for i in range(4, seq)]).mean().item()
        parts.append(f"L{l}: mean row max {max_w:.3f} (uniform {uniform:.3f})")
    return "; ".join(parts)


# --------------------------------------------------------------------------- main


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def build_fixture(fx: dict, tok: Tokenizer, tok_json: str, eot_id: int, out_root: Path) -> None:
    name = fx["name"]
    folder = out_root / name
    folder.mkdir(parents=True, exist_ok=True)
    # Remove stale weight files from a previous layout.
    for old in folder.glob("model*.safetensors*"):
        old.unlink()

    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    config = make_config(fx, vocab_size, eot_id)
    # Seed per fixture (derived from its name) so fixtures are independent.
    seed = SEED + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100000
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config)
    assert model.config._attn_implementation == "eager"
    model = model.to(torch.float32)
    randomise_(model, gen)
    model.eval()
    if fx["tie_word_embeddings"]:
        assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    else:
        assert model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr()

    tensors = weights_to_save(model, fx)
    save_weights(folder, tensors, fx["shards"])
    write_config(folder, config, fx)
    (folder / "tokenizer.json").write_text(tok_json)

    # Prompt: BOS (<|endoftext|>) prepended, as TransformerLens does.
    enc = tok.encode(fx["prompt"])
    n_tok = len(enc.ids)
    if not (MIN_PROMPT_TOKENS <= n_tok <= MAX_PROMPT_TOKENS):
        sys.exit(f"{name}: prompt has {n_tok} tokens, want {MIN_PROMPT_TOKENS}..{MAX_PROMPT_TOKENS}")
    ids = [eot_id] + enc.ids
    assert len(ids) <= fx["n_positions"]
    tokens = [tok.id_to_token(i) for i in ids]
    input_ids = torch.tensor([ids], dtype=torch.int64)

    ref = capture_reference(model, input_ids)
    ref.update(ablated_logits(model, input_ids))

    # The saved folder must reload through the standard HF loader to the same model.
    reloaded, info = GPT2LMHeadModel.from_pretrained(
        str(folder), attn_implementation="eager", dtype=torch.float32, output_loading_info=True
    )
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        sys.exit(f"{name}: from_pretrained reported {problems}")
    reloaded.eval()
    sd_mem = model.state_dict()
    for k, v in reloaded.state_dict().items():
        torch.testing.assert_close(v, sd_mem[k], rtol=0, atol=0, msg=lambda m, k=k: f"{name}: {k}: {m}")
    if not fx["tie_word_embeddings"]:
        assert reloaded.lm_head.weight.data_ptr() != reloaded.transformer.wte.weight.data_ptr()
    with torch.no_grad():
        logits2 = reloaded(input_ids).logits
    torch.testing.assert_close(logits2, ref["logits"], rtol=0, atol=1e-6)
    # And the raw files hold exactly what we meant to save.
    saved: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("model*.safetensors")):
        saved.update(load_file(str(f)))
    assert set(saved) == set(tensors), (sorted(set(saved) ^ set(tensors)))
    for k, v in tensors.items():
        assert torch.equal(saved[k], v), k

    metadata = {
        "prompt": fx["prompt"],
        "tokens": json.dumps(tokens, ensure_ascii=False),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    save_file(ref, str(folder / "reference.safetensors"), metadata=metadata)

    n_params = sum(t.numel() for t in tensors.values())
    log(
        f"{name}: {fx['n_layer']}L {fx['n_head']}H d={fx['n_embd']} act={fx['activation_function']} "
        f"params={n_params} seq={len(ids)} tokens={tokens}"
    )
    log(f"  attention sharpness: {pattern_stats(ref, fx['n_layer'])}")
    logits = ref["logits"][0]
    last_post = ref["blocks.%d.hook_resid_post" % (fx["n_layer"] - 1)]
    log(f"  logits std {logits.std().item():.3f}, final resid std {last_post.std().item():.3f}")
    for f in sorted(folder.iterdir()):
        log(f"  {f.name:40s} {f.stat().st_size:8d} B  sha256:{file_digest(f)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: tests/fixtures)")
    args = ap.parse_args()

    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)  # small models; a fixed thread count keeps results bit-stable
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    tok = build_tokenizer()
    eot_id = check_tokenizer(tok)
    tok_json = tok.to_str(pretty=True) + "\n"
    log(f"tokenizer: vocab {tok.get_vocab_size(with_added_tokens=True)}, {EOT} id {eot_id}")
    log(f"torch {torch.__version__}, transformers {transformers.__version__}")

    args.out.mkdir(parents=True, exist_ok=True)
    for fx in FIXTURES:
        build_fixture(fx, tok, tok_json, eot_id, args.out)


if __name__ == "__main__":
    main()
