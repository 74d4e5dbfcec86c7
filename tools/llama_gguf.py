"""GGUF writing for tools/make_llama_fixtures.py: a LlamaForCausalLM's weights as llama.cpp lays them out.

What llama.cpp's convert_hf_to_gguf.py (LlamaModel) does, for the parts the fixtures use:
- tensor names `token_embd`, `blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,
  ffn_up,ffn_down}`, `output_norm`, `output` (absent when tied);
- q and k rows permuted from Hugging Face's rotate-half layout to interleaved pairs (`permute`);
- the metadata keys `general.*`, `llama.*` and a GPT-2-style BPE under `tokenizer.ggml.*`;
- 2-D weights in the file's type, norms in F32.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader, GGUFWriter
from gguf.quants import dequantize, quantize

import kquants

K_QUANTIZERS = {Q.Q4_K: kquants.quantize_q4_k, Q.Q5_K: kquants.quantize_q5_k, Q.Q6_K: kquants.quantize_q6_k}


def permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensors(model, fx: dict) -> dict[str, np.ndarray]:
    """HF parameters -> llama.cpp names (float32, q/k permuted), in llama.cpp's usual order."""
    sd = {k: v.detach().to(torch.float32).numpy() for k, v in model.state_dict().items()}
    out = {"token_embd.weight": sd["model.embed_tokens.weight"]}
    for i in range(fx["n_layer"]):
        p = f"model.layers.{i}."
        out[f"blk.{i}.attn_norm.weight"] = sd[p + "input_layernorm.weight"]
        out[f"blk.{i}.attn_q.weight"] = permute(sd[p + "self_attn.q_proj.weight"], fx["n_head"], fx["n_head"])
        out[f"blk.{i}.attn_k.weight"] = permute(sd[p + "self_attn.k_proj.weight"], fx["n_head"], fx["n_kv"])
        out[f"blk.{i}.attn_v.weight"] = sd[p + "self_attn.v_proj.weight"]
        out[f"blk.{i}.attn_output.weight"] = sd[p + "self_attn.o_proj.weight"]
        out[f"blk.{i}.ffn_norm.weight"] = sd[p + "post_attention_layernorm.weight"]
        out[f"blk.{i}.ffn_gate.weight"] = sd[p + "mlp.gate_proj.weight"]
        out[f"blk.{i}.ffn_up.weight"] = sd[p + "mlp.up_proj.weight"]
        out[f"blk.{i}.ffn_down.weight"] = sd[p + "mlp.down_proj.weight"]
    out["output_norm.weight"] = sd["model.norm.weight"]
    if not fx["tie"]:
        out["output.weight"] = sd["lm_head.weight"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def encode(w: np.ndarray, qtype: Q) -> tuple[np.ndarray, Q | None]:
    if qtype == Q.F32:
        return w.astype(np.float32), None
    if qtype == Q.F16:
        return w.astype(np.float16), None
    if qtype in K_QUANTIZERS:
        return K_QUANTIZERS[qtype](w), qtype
    return quantize(w, qtype), qtype


def tokenizer_metadata(tok) -> dict:
    """The vocabulary as llama.cpp's convert_hf_to_gguf.py writes a GPT-2-style BPE."""
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    assert None not in tokens
    special = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    types = [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens]
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    assert all(m.count(" ") == 1 for m in merges)
    return {"tokens": tokens, "types": types, "merges": merges}


def write_gguf(path: Path, fx: dict, weights: dict[str, np.ndarray], types: dict[str, Q], file_type: int,
               tok_meta: dict, eot_id: int, context_length: int) -> dict[str, np.ndarray]:
    """Write one GGUF; returns each tensor dequantized by gguf-py (what a reader sees)."""
    d_head = fx["head_dim"] or fx["d_model"] // fx["n_head"]
    w = GGUFWriter(str(path), "llama")
    w.add_name(path.stem)
    w.add_context_length(context_length)
    w.add_embedding_length(fx["d_model"])
    w.add_block_count(fx["n_layer"])
    w.add_feed_forward_length(fx["d_mlp"])
    w.add_rope_dimension_count(d_head)
    w.add_head_count(fx["n_head"])
    w.add_head_count_kv(fx["n_kv"])
    w.add_rope_freq_base(fx["rope_theta"])
    w.add_layer_norm_rms_eps(fx["eps"])
    w.add_vocab_size(len(tok_meta["tokens"]))
    w.add_file_type(int(file_type))
    if any(t not in (Q.F32, Q.F16, Q.BF16) for t in types.values()):
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(fx["pre"])
    w.add_token_list(tok_meta["tokens"])
    w.add_token_types(tok_meta["types"])
    w.add_token_merges(tok_meta["merges"])
    w.add_bos_token_id(eot_id)
    w.add_eos_token_id(eot_id)
    w.add_add_bos_token(False)
    for name, arr in weights.items():
        data, raw = encode(arr, types[name])
        w.add_tensor(name, data, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    reader = GGUFReader(str(path))
    out = {}
    for t in reader.tensors:
        assert t.tensor_type == types[t.name], (t.name, t.tensor_type)
        out[t.name] = dequantize(t.data, t.tensor_type).reshape(weights[t.name].shape)
    assert set(out) == set(weights)
    return out


def dequant_report(weights, deq, types) -> dict[str, float]:
    """Largest |dequantized - float| / max |float| per ggml type."""
    err: dict[str, float] = {}
    for name, w in weights.items():
        e = float(np.abs(deq[name] - w).max() / np.abs(w).max())
        t = types[name].name
        err[t] = max(err.get(t, 0.0), e)
    return err


def hf_view(deq: dict[str, np.ndarray], fx: dict) -> dict[str, torch.Tensor]:
    """What transformers should hold after loading: dequantized, q/k permutation undone, HF names."""
    out = {"model.embed_tokens.weight": deq["token_embd.weight"], "model.norm.weight": deq["output_norm.weight"]}
    for i in range(fx["n_layer"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        out[p + "input_layernorm.weight"] = deq[b + "attn_norm.weight"]
        out[p + "self_attn.q_proj.weight"] = unpermute(deq[b + "attn_q.weight"], fx["n_head"])
        out[p + "self_attn.k_proj.weight"] = unpermute(deq[b + "attn_k.weight"], fx["n_kv"])
        out[p + "self_attn.v_proj.weight"] = deq[b + "attn_v.weight"]
        out[p + "self_attn.o_proj.weight"] = deq[b + "attn_output.weight"]
        out[p + "post_attention_layernorm.weight"] = deq[b + "ffn_norm.weight"]
        out[p + "mlp.gate_proj.weight"] = deq[b + "ffn_gate.weight"]
        out[p + "mlp.up_proj.weight"] = deq[b + "ffn_up.weight"]
        out[p + "mlp.down_proj.weight"] = deq[b + "ffn_down.weight"]
    out["lm_head.weight"] = deq["output.weight"] if "output.weight" in deq else deq["token_embd.weight"]
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in out.items()}
