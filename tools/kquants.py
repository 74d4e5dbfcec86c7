"""Small, valid quantizers for the ggml K-quant types gguf-py cannot write (Q4_K, Q5_K, Q6_K).

gguf-py (0.19) can dequantize these types but not quantize them. These encoders are the
inverse of its `dequantize_blocks` (and of llama.cpp's `dequantize_row_q{4,5,6}_K`): simple
min/max scaling per sub-block, no error-minimising search, so the quality is below
llama.cpp's quantizer but every block is well formed. tools/make_llama_fixtures.py checks
each tensor by dequantizing it with gguf-py.

Block layouts (QK_K = 256 values per super-block, little endian):
    Q4_K  144 B: d f16 | dmin f16 | scales[12] (8 x 6-bit scale, 8 x 6-bit min) | qs[128] (4-bit)
    Q5_K  176 B: d f16 | dmin f16 | scales[12] | qh[32] (5th bit) | qs[128] (low 4 bits)
    Q6_K  210 B: ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] int8 | d f16
Value: Q4_K/Q5_K  d * sc[j] * q - dmin * m[j]  (8 sub-blocks of 32);
       Q6_K       d * sc[j] * (q - 32)         (16 sub-blocks of 16).
"""

from __future__ import annotations

import numpy as np

QK_K = 256


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 0 where den is 0."""
    den = np.broadcast_to(den, num.shape)
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float32), where=den != 0)


def _f16_bytes(x: np.ndarray) -> np.ndarray:
    """[n] float32 -> [n, 2] uint8 (IEEE half, little endian)."""
    return x.astype("<f2").view(np.uint8).reshape(-1, 2)


def _superblocks(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    if rows.shape[-1] % QK_K:
        raise ValueError(f"row length {rows.shape[-1]} is not a multiple of {QK_K}")
    return rows.reshape(-1, QK_K)


def _scale_min(x: np.ndarray, levels: int) -> tuple[np.ndarray, ...]:
    """Per sub-block 6-bit scales and mins, for x [nb, 8, 32] and q in 0..levels.

    Returns (d f16-rounded [nb], dmin f16-rounded [nb], sc [nb, 8], m [nb, 8], q [nb, 8, 32]).
    """
    mn = np.maximum(-x.min(axis=-1), 0.0)  # the offset subtracted (dmin * m >= 0)
    scale = (x.max(axis=-1) + mn) / levels  # >= 0
    d = (scale.max(axis=-1) / 63).astype(np.float16).astype(np.float32)
    dmin = (mn.max(axis=-1) / 63).astype(np.float16).astype(np.float32)
    sc = np.clip(np.rint(_div(scale, d[:, None])), 0, 63).astype(np.uint8)
    m = np.clip(np.rint(_div(mn, dmin[:, None])), 0, 63).astype(np.uint8)
    eff_scale = d[:, None] * sc  # what the decoder will use
    eff_min = dmin[:, None] * m
    q = np.rint(_div(x + eff_min[..., None], eff_scale[..., None]))
    q = np.clip(q, 0, levels).astype(np.uint8)
    return d, dmin, sc, m, q


def _pack_scales(sc: np.ndarray, m: np.ndarray) -> np.ndarray:
    """8 six-bit scales and 8 six-bit mins -> 12 bytes (llama.cpp's get_scale_min_k4 layout)."""
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((m[:, 4:8] & 0x0F) << 4)
    return out


def _pack_low_nibbles(q: np.ndarray) -> np.ndarray:
    """q [nb, 8, 32] -> [nb, 128]: byte 32*i + l holds sub-block 2i (low) and 2i+1 (high)."""
    lo = q[:, 0::2, :] & 0x0F
    hi = q[:, 1::2, :] & 0x0F
    return (lo | (hi << 4)).reshape(q.shape[0], 128)


def quantize_q4_k(rows: np.ndarray) -> np.ndarray:
    """[..., k*256] float -> [..., k*144] uint8."""
    shape = rows.shape
    x = _superblocks(rows).reshape(-1, 8, 32)
    d, dmin, sc, m, q = _scale_min(x, 15)
    blocks = np.concatenate([_f16_bytes(d), _f16_bytes(dmin), _pack_scales(sc, m), _pack_low_nibbles(q)], axis=1)
    assert blocks.shape[1] == 144
    return blocks.reshape(*shape[:-1], shape[-1] // QK_K * 144)


def quantize_q5_k(rows: np.ndarray) -> np.ndarray:
    """[..., k*256] float -> [..., k*176] uint8."""
    shape = rows.shape
    x = _superblocks(rows).reshape(-1, 8, 32)
    d, dmin, sc, m, q = _scale_min(x, 31)
    # bit j of qh[l] is the fifth bit of sub-block j, element l
    high = ((q >> 4) & 1).astype(np.uint8)  # [nb, 8, 32]
    qh = np.zeros((q.shape[0], 32), dtype=np.uint8)
    for j in range(8):
        qh |= high[:, j, :] << j
    blocks = np.concatenate(
        [_f16_bytes(d), _f16_bytes(dmin), _pack_scales(sc, m), qh, _pack_low_nibbles(q)], axis=1
    )
    assert blocks.shape[1] == 176
    return blocks.reshape(*shape[:-1], shape[-1] // QK_K * 176)


def quantize_q6_k(rows: np.ndarray) -> np.ndarray:
    """[..., k*256] float -> [..., k*210] uint8."""
    shape = rows.shape
    x = _superblocks(rows).reshape(-1, 16, 16)
    nb = x.shape[0]
    scale = np.abs(x).max(axis=-1) / 31  # [nb, 16], q in -31..31 before rounding the scales
    d = (scale.max(axis=-1) / 127).astype(np.float16).astype(np.float32)
    sc = np.clip(np.rint(_div(scale, d[:, None])), -128, 127).astype(np.int8)
    eff = d[:, None] * sc.astype(np.float32)
    q = np.clip(np.rint(_div(x, eff[..., None])), -32, 31).astype(np.int16) + 32  # 0..63
    q = q.astype(np.uint8).reshape(nb, QK_K)
    # element p: c = p // 128, r = p % 128
    #   ql[64c + r % 64] nibble (r // 64) = q & 0xF
    #   qh[32c + r % 32] bits 2 * (r // 32) = q >> 4
    qc = q.reshape(nb, 2, 128)
    low = qc & 0x0F
    ql = (low[:, :, 0:64] | (low[:, :, 64:128] << 4)).reshape(nb, 128)
    high = (qc >> 4) & 0x03
    qh = (
        high[:, :, 0:32] | (high[:, :, 32:64] << 2) | (high[:, :, 64:96] << 4) | (high[:, :, 96:128] << 6)
    ).reshape(nb, 64)
    blocks = np.concatenate([ql, qh, sc.view(np.uint8), _f16_bytes(d)], axis=1)
    assert blocks.shape[1] == 210
    return blocks.reshape(*shape[:-1], shape[-1] // QK_K * 210)
