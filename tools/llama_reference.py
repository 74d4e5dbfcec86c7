"""Reference activations and interventions for tools/make_llama_fixtures.py.

Runs Hugging Face transformers models (LlamaForCausalLM, and GPT2LMHeadModel for the
intervention file of tiny-a) with torch hooks and names what it records with
TransformerLens hook names (HookedTransformer, no weight processing).

Two pieces:
- `capture_llama`: every hook of one forward pass of a Llama, as a dict of float32 tensors
  with a leading batch dimension of 1, cross-checked against each other.
- `HookedRun` / `interventions`: forward passes in which a named activation is replaced
  (activation patching, zero and mean ablation of one head). The attention pattern has no
  module boundary in transformers (it lives inside the eager attention function), so it is
  reached through an attention function registered under the name "glassbox_eager": it calls
  the model family's own `eager_attention_forward` and, while that call runs, wraps
  `torch.nn.functional.softmax` so that the probabilities it returns pass through the hook
  first. Everything else is the unmodified eager code, and without a hook its outputs are
  bitwise those of "eager" (checked). The name is registered with eager's causal-mask builder as
  well: an attention implementation transformers does not know otherwise gets no mask at all.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import torch
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, repeat_kv

PATCH_ATTN = "glassbox_eager"

# layer index -> function(pattern [batch, head, q, k]) -> replacement; set by HookedRun.
_PATTERN_HOOKS: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {}


def _hooked_eager_attention(module, query, key, value, attention_mask, **kwargs):
    eager = sys.modules[type(module).__module__].eager_attention_forward  # the family's own
    hook = _PATTERN_HOOKS.get(module.layer_idx)
    if hook is None:
        return eager(module, query, key, value, attention_mask, **kwargs)
    softmax = torch.nn.functional.softmax
    calls = []

    def hooked_softmax(*args, **kw):
        calls.append(1)
        return hook(softmax(*args, **kw))

    torch.nn.functional.softmax = hooked_softmax
    try:
        out = eager(module, query, key, value, attention_mask, **kwargs)
    finally:
        torch.nn.functional.softmax = softmax
    assert len(calls) == 1, f"eager attention called softmax {len(calls)} times"
    return out


AttentionInterface.register(PATCH_ATTN, _hooked_eager_attention)
# Without a mask function of its own, transformers builds no causal mask for an unknown attention
# implementation (it assumes the backend masks by itself): use eager's additive mask.
AttentionMaskInterface.register(PATCH_ATTN, eager_mask)


# --------------------------------------------------------------------------- hook sites


def _family(model) -> str:
    return "gpt2" if hasattr(model, "transformer") else "llama"


def _layers(model):
    return model.transformer.h if _family(model) == "gpt2" else model.model.layers


def _attn(model, l):
    block = _layers(model)[l]
    return block.attn if _family(model) == "gpt2" else block.self_attn


def site(model, name: str):
    """(module, "pre" | "out", feature slice or None) where hook `name` is read and written.

    The activation there is [1, seq, features]; head-shaped hooks (z, v) are the flat
    [1, seq, n_heads * d_head] tensor.
    """
    parts = name.split(".")
    assert parts[0] == "blocks", name
    l = int(parts[1])
    leaf = ".".join(parts[2:])
    gpt2 = _family(model) == "gpt2"
    block = _layers(model)[l]
    attn = _attn(model, l)
    if leaf == "hook_resid_pre":
        return block, "pre", None
    if leaf == "hook_attn_out":
        return attn, "out", None
    if leaf == "hook_mlp_out":
        return block.mlp, "out", None
    if leaf == "attn.hook_z":
        return (attn.c_proj if gpt2 else attn.o_proj), "pre", None
    if leaf == "attn.hook_v":
        if gpt2:
            d = model.config.n_embd
            return attn.c_attn, "out", slice(2 * d, 3 * d)
        return attn.v_proj, "out", None
    raise KeyError(f"no hook site for {name}")


def head_dim(model) -> int:
    cfg = model.config
    if _family(model) == "gpt2":
        return cfg.n_embd // cfg.n_head
    return getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


class HookedRun:
    """One forward pass with named activations edited (or just read).

    `edits`: hook name -> fn(activation) -> replacement (or None to keep it). Activations are
    [1, seq, features] (see `site`), or [1, n_heads, q, k] for `blocks.{l}.attn.hook_pattern`.
    """

    def __init__(self, model, edits: dict[str, Callable]):
        self.model = model
        self.edits = edits

    def __call__(self, input_ids: torch.Tensor, **kwargs):
        handles = []
        pattern_layers = []
        try:
            for name, fn in self.edits.items():
                if name.endswith("attn.hook_pattern"):
                    l = int(name.split(".")[1])
                    _PATTERN_HOOKS[l] = _keep_if_none(fn)
                    pattern_layers.append(l)
                    continue
                module, kind, sl = site(self.model, name)
                if kind == "pre":
                    handles.append(module.register_forward_pre_hook(_pre_hook(fn), with_kwargs=True))
                else:
                    handles.append(module.register_forward_hook(_out_hook(fn, sl)))
            previous = self.model.config._attn_implementation
            self.model.set_attn_implementation(PATCH_ATTN)
            try:
                with torch.no_grad():
                    return self.model(input_ids, use_cache=False, **kwargs)
            finally:
                self.model.set_attn_implementation(previous)
        finally:
            for h in handles:
                h.remove()
            for l in pattern_layers:
                del _PATTERN_HOOKS[l]


def _keep_if_none(fn):
    def wrapped(x):
        y = fn(x)
        return x if y is None else y

    return wrapped


def _pre_hook(fn):
    def hook(_mod, args, kwargs):
        if args:
            y = fn(args[0])
            if y is not None:
                return (y, *args[1:]), kwargs
        else:
            key = "hidden_states" if "hidden_states" in kwargs else next(iter(kwargs))
            y = fn(kwargs[key])
            if y is not None:
                return args, {**kwargs, key: y}
        return None

    return hook


def _out_hook(fn, sl):
    def hook(_mod, _inp, out):
        t = out[0] if isinstance(out, tuple) else out
        part = t if sl is None else t[..., sl]
        y = fn(part)
        if y is None:
            return None
        if sl is not None:
            full = t.clone()
            full[..., sl] = y
            y = full
        return (y, *out[1:]) if isinstance(out, tuple) else y

    return hook


def record(store: dict, name: str):
    def fn(x):
        store[name] = x.detach().clone()

    return fn


# --------------------------------------------------------------------------- full capture (Llama)


def rms_normalized(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm before its weight, computed as transformers' LlamaRMSNorm does."""
    x = x.to(torch.float32)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def capture_llama(model, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    cfg = model.config
    n_layer, n_head, n_kv = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads
    d_head = head_dim(model)
    eps = cfg.rms_norm_eps
    inner = model.model
    store: dict[str, torch.Tensor] = {}
    handles = []

    def out(name):
        def hook(_m, _i, o):
            store[name] = (o[0] if isinstance(o, tuple) else o).detach().clone()

        return hook

    def pre(name):
        def hook(_m, args, kwargs):
            store[name] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

        return hook

    reg_out = lambda m, n: handles.append(m.register_forward_hook(out(n)))  # noqa: E731
    reg_pre = lambda m, n: handles.append(m.register_forward_pre_hook(pre(n), with_kwargs=True))  # noqa: E731
    reg_out(inner.embed_tokens, "hook_embed")
    for l, layer in enumerate(inner.layers):
        b = f"blocks.{l}"
        reg_pre(layer, f"{b}.hook_resid_pre")
        reg_out(layer, f"{b}.hook_resid_post")
        reg_pre(layer.input_layernorm, f"_ln1_in.{l}")
        reg_out(layer.input_layernorm, f"_ln1_out.{l}")
        reg_pre(layer.post_attention_layernorm, f"_ln2_in.{l}")
        reg_out(layer.post_attention_layernorm, f"_ln2_out.{l}")
        at = layer.self_attn
        reg_out(at.q_proj, f"_q.{l}")
        reg_out(at.k_proj, f"_k.{l}")
        reg_out(at.v_proj, f"_v.{l}")
        reg_pre(at.o_proj, f"_z.{l}")
        reg_out(at, f"{b}.hook_attn_out")
        reg_out(layer.mlp, f"{b}.hook_mlp_out")
        reg_out(layer.mlp.gate_proj, f"{b}.mlp.hook_pre")
        reg_out(layer.mlp.up_proj, f"{b}.mlp.hook_pre_linear")
        reg_pre(layer.mlp.down_proj, f"{b}.mlp.hook_post")
    reg_pre(inner.norm, "_lnf_in")
    reg_out(inner.norm, "_lnf_out")
    try:
        with torch.no_grad():
            res = model(input_ids, output_attentions=True, output_hidden_states=True, use_cache=False)
    finally:
        for h in handles:
            h.remove()

    seq = input_ids.shape[1]
    att = res.attentions
    assert len(att) == n_layer
    torch.testing.assert_close(res.hidden_states[0], store["hook_embed"], rtol=0, atol=0)
    position_ids = torch.arange(seq).unsqueeze(0)
    with torch.no_grad():
        cos, sin = inner.rotary_emb(store["hook_embed"], position_ids)

    ref: dict[str, torch.Tensor] = {"input_ids": input_ids.to(torch.int64).clone(), "hook_embed": store["hook_embed"]}
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    for l in range(n_layer):
        b = f"blocks.{l}"
        layer = inner.layers[l]
        pre_ = store[f"{b}.hook_resid_pre"]
        attn_out = store[f"{b}.hook_attn_out"]
        mlp_out = store[f"{b}.hook_mlp_out"]
        post = store[f"{b}.hook_resid_post"]
        mid = pre_ + attn_out
        torch.testing.assert_close(mid + mlp_out, post, rtol=0, atol=0)
        if l + 1 < n_layer:
            torch.testing.assert_close(res.hidden_states[l + 1], post, rtol=0, atol=0)
        ref[f"{b}.hook_resid_pre"] = pre_
        ref[f"{b}.hook_resid_mid"] = mid
        ref[f"{b}.hook_resid_post"] = post
        ref[f"{b}.hook_attn_out"] = attn_out
        ref[f"{b}.hook_mlp_out"] = mlp_out

        for ln, module in (("ln1", layer.input_layernorm), ("ln2", layer.post_attention_layernorm)):
            x = store[f"_{ln}_in.{l}"]
            normed = rms_normalized(x, eps)
            torch.testing.assert_close(normed * module.weight, store[f"_{ln}_out.{l}"], rtol=0, atol=0)
            ref[f"{b}.{ln}.hook_normalized"] = normed
        torch.testing.assert_close(store["_ln1_in.%d" % l], pre_, rtol=0, atol=0)
        torch.testing.assert_close(store["_ln2_in.%d" % l], mid, rtol=1e-6, atol=1e-6)

        q = store[f"_q.{l}"].view(1, seq, n_head, d_head)
        k = store[f"_k.{l}"].view(1, seq, n_kv, d_head)
        v = store[f"_v.{l}"].view(1, seq, n_kv, d_head)
        ref[f"{b}.attn.hook_q"] = q.contiguous()
        ref[f"{b}.attn.hook_k"] = k.contiguous()
        ref[f"{b}.attn.hook_v"] = v.contiguous()
        with torch.no_grad():
            rq, rk = apply_rotary_pos_emb(q.transpose(1, 2), k.transpose(1, 2), cos, sin)  # [1, h, pos, d]
        ref[f"{b}.attn.hook_rot_q"] = rq.transpose(1, 2).contiguous()
        ref[f"{b}.attn.hook_rot_k"] = rk.transpose(1, 2).contiguous()
        groups = n_head // n_kv
        scores = (rq @ repeat_kv(rk, groups).transpose(-1, -2)) * layer.self_attn.scaling
        scores = scores.masked_fill(~causal, float("-inf"))
        ref[f"{b}.attn.hook_attn_scores"] = scores.contiguous()
        pattern = att[l].detach().clone()
        assert pattern.shape == (1, n_head, seq, seq), pattern.shape
        ref[f"{b}.attn.hook_pattern"] = pattern.contiguous()
        torch.testing.assert_close(torch.softmax(scores, dim=-1), pattern, rtol=0, atol=1e-6)
        z = pattern @ repeat_kv(v.transpose(1, 2), groups)  # [1, h, pos, d]
        z = z.transpose(1, 2).reshape(1, seq, n_head * d_head)
        torch.testing.assert_close(z, store[f"_z.{l}"], rtol=1e-5, atol=1e-5)
        ref[f"{b}.attn.hook_z"] = store[f"_z.{l}"].view(1, seq, n_head, d_head).contiguous()
        for leaf in ("hook_pre", "hook_pre_linear", "hook_post"):
            ref[f"{b}.mlp.{leaf}"] = store[f"{b}.mlp.{leaf}"]
        act = torch.nn.functional.silu(ref[f"{b}.mlp.hook_pre"]) * ref[f"{b}.mlp.hook_pre_linear"]
        torch.testing.assert_close(act, ref[f"{b}.mlp.hook_post"], rtol=0, atol=0)

    normed = rms_normalized(store["_lnf_in"], eps)
    torch.testing.assert_close(normed * inner.norm.weight, store["_lnf_out"], rtol=0, atol=0)
    torch.testing.assert_close(store["_lnf_in"], ref[f"blocks.{n_layer - 1}.hook_resid_post"], rtol=0, atol=0)
    ref["ln_final.hook_normalized"] = normed
    ref["logits"] = res.logits.detach().clone()

    for name, t in ref.items():
        if name != "input_ids":
            assert t.dtype == torch.float32, (name, t.dtype)
            assert torch.isfinite(t).all() or name.endswith("hook_attn_scores"), name
        ref[name] = t.contiguous()
    return ref


def pattern_error(ref: dict[str, torch.Tensor]) -> float:
    """max |softmax(hook_attn_scores) - hook_pattern| over all layers."""
    err = 0.0
    for name, scores in ref.items():
        if name.endswith("hook_attn_scores"):
            pattern = ref[name.replace("hook_attn_scores", "hook_pattern")]
            err = max(err, (torch.softmax(scores, dim=-1) - pattern).abs().max().item())
    return err


def zero_head(h: int, d_head: int):
    def fn(z):
        z = z.clone()
        z[..., h * d_head : (h + 1) * d_head] = 0
        return z

    return fn


def ablated_logits(model, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """`ablated.L{l}H{h}.logits`: the last layer's last query head zero-ablated (its hook_z slice)."""
    cfg = model.config
    layer, head = cfg.num_hidden_layers - 1, cfg.num_attention_heads - 1
    out = HookedRun(model, {f"blocks.{layer}.attn.hook_z": zero_head(head, head_dim(model))})(input_ids)
    return {f"ablated.L{layer}H{head}.logits": out.logits.detach().clone().contiguous()}


# --------------------------------------------------------------------------- interventions

PATCH_HOOKS = [
    "blocks.0.hook_resid_pre",
    "blocks.1.hook_attn_out",
    "blocks.0.hook_mlp_out",
    "blocks.1.attn.hook_z",
    "blocks.1.attn.hook_v",
    "blocks.1.attn.hook_pattern",
]


def corrupt(ids: list[int], candidates: list[int], seed: int) -> tuple[list[int], list[int]]:
    """Change 3 tokens (positions 2, middle, last) to other tokens drawn from `candidates`."""
    n = len(ids)
    positions = sorted({2, n // 2, n - 1})
    gen = torch.Generator().manual_seed(seed)
    out = list(ids)
    for p in positions:
        while True:
            t = candidates[int(torch.randint(0, len(candidates), (1,), generator=gen))]
            if t != ids[p]:
                break
        out[p] = t
    return out, positions


def _patch_rows(clean: torch.Tensor, positions: list[int], dim: int):
    """Replace the slices at `positions` along `dim` with the clean run's."""

    def fn(x):
        x = x.clone()
        idx = torch.tensor(positions)
        x.index_copy_(dim, idx, clean.index_select(dim, idx))
        return x

    return fn


def interventions(model, clean_ids: torch.Tensor, corrupted_ids: torch.Tensor, positions: list[int],
                  mean_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Activation patching, zero and mean ablation references (see tests/fixtures/README.md)."""
    cfg = model.config
    n_layer = cfg.n_layer if _family(model) == "gpt2" else cfg.num_hidden_layers
    n_head = cfg.n_head if _family(model) == "gpt2" else cfg.num_attention_heads
    d_head = head_dim(model)
    assert n_layer >= 2
    logits = lambda run, ids: run(ids).logits.detach().clone().contiguous()  # noqa: E731

    # Clean run, recording every activation that will be patched in.
    clean: dict[str, torch.Tensor] = {}
    rec = {h: record(clean, h) for h in PATCH_HOOKS}
    clean_logits = logits(HookedRun(model, rec), clean_ids)
    with torch.no_grad():
        plain = model(clean_ids, use_cache=False).logits
        plain_c = model(corrupted_ids, use_cache=False).logits
    # The hooked attention path with nothing edited is bitwise the eager one.
    assert torch.equal(clean_logits, plain), "hooked run differs from the eager run"

    out = {"clean_ids": clean_ids.clone(), "corrupted_ids": corrupted_ids.clone(), "clean.logits": clean_logits}
    corrupted_logits = logits(HookedRun(model, {}), corrupted_ids)
    assert torch.equal(corrupted_logits, plain_c)
    out["corrupted.logits"] = corrupted_logits
    for h in PATCH_HOOKS:
        dim = 2 if h.endswith("hook_pattern") else 1  # pattern rows are queries: [1, head, q, k]
        run = HookedRun(model, {h: _patch_rows(clean[h], positions, dim)})
        patched = logits(run, corrupted_ids)
        if h.endswith("hook_pattern"):
            # The patched pattern really is in place: rows at the positions are the clean ones.
            res = HookedRun(model, {h: _patch_rows(clean[h], positions, dim)})(corrupted_ids, output_attentions=True)
            l = int(h.split(".")[1])
            seen = res.attentions[l]
            idx = torch.tensor(positions)
            assert torch.equal(seen.index_select(2, idx), clean[h].index_select(2, idx))
            torch.testing.assert_close(res.logits, patched, rtol=0, atol=0)
        # Patching changes something, and not everything.
        assert not torch.equal(patched, corrupted_logits), h
        if h == "blocks.0.hook_resid_pre":
            # The prompts differ exactly at the patched positions, so this restores the clean run.
            torch.testing.assert_close(patched, clean_logits, rtol=0, atol=1e-5)
        out[f"patch.{h}.logits"] = patched

    # Mean ablation: the head's hook_z mean over every position of a second prompt.
    heads = [(1, 0), (0, n_head - 1)]
    ref_z: dict[str, torch.Tensor] = {}
    HookedRun(model, {f"blocks.{l}.attn.hook_z": record(ref_z, f"blocks.{l}.attn.hook_z") for l, _ in heads})(mean_ids)
    out["mean.reference_ids"] = mean_ids.clone()
    for l, h in heads:
        z_ref = ref_z[f"blocks.{l}.attn.hook_z"]  # [1, m, n_head * d_head]
        mean = z_ref[0, :, h * d_head : (h + 1) * d_head].mean(dim=0)  # [d_head]

        def mean_fn(z, mean=mean, h=h):
            z = z.clone()
            z[..., h * d_head : (h + 1) * d_head] = mean
            return z

        out[f"mean.L{l}H{h}.logits"] = logits(HookedRun(model, {f"blocks.{l}.attn.hook_z": mean_fn}), clean_ids)
        out[f"zero.L{l}H{h}.logits"] = logits(
            HookedRun(model, {f"blocks.{l}.attn.hook_z": zero_head(h, d_head)}), clean_ids
        )
        assert not torch.equal(out[f"mean.L{l}H{h}.logits"], clean_logits)
    # Keep the logits at the patched positions only ([1, len(positions), vocab]): every edit above
    # changes the logits there, and storing all positions would triple the file.
    idx = torch.tensor(positions)
    base = {"patch": out["corrupted.logits"].index_select(1, idx), "mean": out["clean.logits"].index_select(1, idx)}
    base["zero"] = base["mean"]
    for name, t in out.items():
        if name.endswith(".logits"):
            t = t.index_select(1, idx)
            kind = name.split(".")[0]
            assert kind not in base or not torch.equal(t, base[kind]), f"{name} equals its baseline"
        assert t.dtype == (torch.int64 if name.endswith("_ids") else torch.float32), name
        out[name] = t.contiguous()
    return out


def scale_check(ref: dict[str, torch.Tensor], d_head: int) -> None:
    """hook_attn_scores uses 1/sqrt(d_head): re-derive one row from rot_q / rot_k."""
    for name, scores in ref.items():
        if not name.endswith("hook_attn_scores"):
            continue
        b = name[: -len("attn.hook_attn_scores")]
        q = ref[b + "attn.hook_rot_q"][0, -1, 0]
        k = ref[b + "attn.hook_rot_k"][0, 0, 0]
        want = (q @ k).item() / math.sqrt(d_head)
        assert abs(scores[0, 0, -1, 0].item() - want) <= 1e-4 * max(1.0, abs(want)), (name, want)
