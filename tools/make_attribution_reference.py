"""Direct logit attribution computed with Hugging Face transformers, the reference for
glassbox's `analysis::attribution` (TransformerLens' logit attributions, no weight processing).

Torch hooks record, at one position: each head's z (the input of attn.c_proj for GPT2LMHeadModel,
of self_attn.o_proj for LlamaForCausalLM), each MLP's output, the embeddings, and the final residual
(the input of the final norm). Each component then goes through the final norm with the scale of the
whole final residual frozen (GPT-2: (c − mean c) / √(var + ε) · w; Llama: c / √(mean x² + ε) · w) and
is dotted with the unembedding row of the target token; heads use z_h · W_O[h] without the bias.
Computed in float64 from the float32 activations.

    .venv/bin/python tools/make_attribution_reference.py
        -> tests/fixtures/attribution.safetensors, for each fixture (prefix `{name}.`):
           input_ids [1, seq] int64, pos [] int64, tokens [2] int64 (target, versus: the two most
           likely next tokens at pos), heads [2, n_layers, n_heads] (for each token alone),
           mlps [2, n_layers], embed [2], pos_embed [2] (GPT-2), attn_bias [2, n_layers] (when o_proj
           has a bias), constant [2] (final LayerNorm bias · W_U), logits [2] (the model's own)
    eval "$(tools/fetch_smollm2.sh)"; .venv/bin/python tools/make_attribution_reference.py --smollm2 "$GLASSBOX_SMOLLM2"
        -> tests/fixtures/smollm2/attribution.safetensors: the same for the IOI prompt, tokens
           " Mary" and " John", at the last position; and prints the top heads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
NAMES = ["tiny-a", "tiny-b", "tiny-c", "llama-a", "llama-b", "llama-c"]
IOI = "When Mary and John went to the store, John gave a drink to"


def parts(model):
    """(family, embeddings, blocks, attention output projection of a block, final norm, W_U [V, d])."""
    if hasattr(model, "transformer"):
        t = model.transformer
        return "gpt2", t.h, (lambda b: b.attn.c_proj), t.ln_f, model.lm_head.weight
    m = model.model
    return "llama", m.layers, (lambda b: b.self_attn.o_proj), m.norm, model.lm_head.weight


def attribute(model, ids, pos, tokens):
    """Every component's direct contribution to the logits of `tokens` at `pos`."""
    family, blocks, proj_of, norm, w_u = parts(model)
    cfg = model.config
    n_heads = cfg.n_head if family == "gpt2" else cfg.num_attention_heads
    rec, handles = {}, []

    def keep(name, pre):
        def hook(module, args, output=None):
            rec[name] = (args[0] if pre else output)[0, pos].detach().double()

        return hook

    for l, block in enumerate(blocks):
        handles.append(proj_of(block).register_forward_pre_hook(keep(f"z.{l}", True)))
        handles.append(block.mlp.register_forward_hook(keep(f"mlp.{l}", False)))
    handles.append(norm.register_forward_pre_hook(keep("resid_final", True)))
    if family == "gpt2":
        handles.append(model.transformer.wte.register_forward_hook(keep("embed", False)))
        handles.append(model.transformer.wpe.register_forward_hook(keep("pos_embed", False)))
    else:
        handles.append(model.model.embed_tokens.register_forward_hook(keep("embed", False)))
    with torch.no_grad():
        logits = model(ids).logits[0, pos].double()
    for h in handles:
        h.remove()

    x = rec["resid_final"]
    w = norm.weight.detach().double()
    if family == "gpt2":
        scale = torch.sqrt(x.var(unbiased=False) + norm.eps)
        bias = norm.bias.detach().double()
    else:
        eps = getattr(norm, "variance_epsilon", None) or norm.eps
        scale = torch.sqrt((x * x).mean() + eps)
        bias = None
    wu = w_u.detach().double()[tokens]  # [k, d]

    def direct(c):  # [n, d] -> [n, k]
        if family == "gpt2":
            c = c - c.mean(-1, keepdim=True)
        return (c / scale * w) @ wu.T

    out = {}
    heads, mlps, biases = [], [], []
    for l, block in enumerate(blocks):
        proj = proj_of(block)
        W = proj.weight.detach().double()
        W = W if family == "gpt2" else W.T  # [h·dh, d]: Conv1D is [in, out], Linear [out, in]
        d_head = W.shape[0] // n_heads
        z = rec[f"z.{l}"].reshape(n_heads, d_head)
        result = torch.einsum("hd,hdm->hm", z, W.reshape(n_heads, d_head, -1))  # [h, d]
        heads.append(direct(result).T)  # [k, h]
        mlps.append(direct(rec[f"mlp.{l}"][None])[0])  # [k]
        if proj.bias is not None:
            biases.append(direct(proj.bias.detach().double()[None])[0])
    out["heads"] = torch.stack(heads, 1)  # [k, L, h]
    out["mlps"] = torch.stack(mlps, 1)  # [k, L]
    if biases:
        out["attn_bias"] = torch.stack(biases, 1)  # [k, L]
    out["embed"] = direct(rec["embed"][None])[0]
    if "pos_embed" in rec:
        out["pos_embed"] = direct(rec["pos_embed"][None])[0]
    out["constant"] = wu @ bias if bias is not None else torch.zeros(len(tokens), dtype=torch.float64)
    out["logits"] = logits[tokens]
    total = out["heads"].sum((1, 2)) + out["mlps"].sum(1) + out["embed"] + out["constant"]
    total += out["pos_embed"] if "pos_embed" in out else 0
    total += out["attn_bias"].sum(1) if "attn_bias" in out else 0
    err = ((total - out["logits"]).abs() / out["logits"].abs().clamp(min=1e-6)).max().item()
    assert err < 1e-5, f"components do not sum to the logits: {err}"
    return {k: v.float().contiguous() for k, v in out.items()}


def load_fixture(name):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(FIXTURES / name), attn_implementation="eager", dtype=torch.float32
    )
    return model.eval()


def fixtures():
    tensors, meta = {}, {}
    for name in NAMES:
        model = load_fixture(name)
        ids = load_file(str(FIXTURES / name / "reference.safetensors"))["input_ids"].long()
        pos = ids.shape[1] - 1 if name.endswith("a") else ids.shape[1] // 2
        with torch.no_grad():
            top = model(ids).logits[0, pos].topk(2).indices.tolist()
        for key, value in attribute(model, ids, pos, top).items():
            tensors[f"{name}.{key}"] = value
        tensors[f"{name}.input_ids"] = ids.contiguous()
        tensors[f"{name}.pos"] = torch.tensor(pos, dtype=torch.int64)
        tensors[f"{name}.tokens"] = torch.tensor(top, dtype=torch.int64)
    import transformers

    meta["torch"], meta["transformers"] = torch.__version__, transformers.__version__
    out = FIXTURES / "attribution.safetensors"
    save_file(tensors, str(out), metadata=meta)
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


def smollm2(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path).resolve()
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    ids = tok(IOI, return_tensors="pt")["input_ids"]
    pos = ids.shape[1] - 1
    mary, john = (tok.encode(w, add_special_tokens=False) for w in (" Mary", " John"))
    assert len(mary) == 1 and len(john) == 1, (mary, john)
    tokens = [mary[0], john[0]]
    out = attribute(model, ids, pos, tokens)
    tensors = {k: v for k, v in out.items()}
    tensors["input_ids"] = ids.contiguous()
    tensors["pos"] = torch.tensor(pos, dtype=torch.int64)
    tensors["tokens"] = torch.tensor(tokens, dtype=torch.int64)
    dest = FIXTURES / "smollm2" / "attribution.safetensors"
    save_file(tensors, str(dest), metadata={"prompt": IOI, "tokens": json.dumps([" Mary", " John"])})
    print(f"wrote {dest.relative_to(ROOT)} ({dest.stat().st_size} bytes)")
    heads = out["heads"].double()
    for title, grid in ((" Mary", heads[0]), (" Mary − John", heads[0] - heads[1])):
        flat = grid.flatten()
        order = flat.abs().argsort(descending=True)[:10]
        n_heads = grid.shape[1]
        print(title + ": " + ", ".join(f"L{i // n_heads}H{i % n_heads} {flat[i]:+.3f}" for i in order.tolist()))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--smollm2":
        smollm2(sys.argv[2])
    else:
        fixtures()
