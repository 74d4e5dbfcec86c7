"""The matplotlib side of the export benchmark in BENCHMARKS.md.

Draws what `glassbox export` draws -- one head's attention pattern, or every head of a layer in a grid --
with a plain matplotlib `imshow`: token labels on both axes (x rotated), a title with model, layer, head and
prompt, a colour bar, the masked future in grey, saved as PNG. It only plots: the patterns come from a file
that `glassbox dump` wrote beforehand, so the model's run is not part of its time (it is part of glassbox's).

    glassbox dump --prompt-file tools/bench_export_prompt.txt \
        --names 'blocks.*.attn.hook_pattern' --out /tmp/patterns.safetensors
    .venv/bin/python tools/bench_export_matplotlib.py /tmp/patterns.safetensors --layer 2 --head 3 -o /tmp/mpl.png
    .venv/bin/python tools/bench_export_matplotlib.py /tmp/patterns.safetensors --layer 2 -o /tmp/mpl-grid.png
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from safetensors import safe_open  # noqa: E402


def visible(token):
    return token.replace(" ", "·").replace("\n", "⏎")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", help="safetensors file from glassbox dump")
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--head", type=int, help="one head; without it, every head of the layer")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()

    with safe_open(args.cache, "np") as f:
        meta = f.metadata()
        pattern = f.get_tensor(f"blocks.{args.layer}.attn.hook_pattern")[0]  # [head, query, key]
    tokens = [visible(t) for t in json.loads(meta["tokens"])]
    n = len(tokens)
    future = np.triu(np.ones((n, n), dtype=bool), 1)
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#eaeaec")
    title = f"{meta.get('model', 'model')} · layer {args.layer}"
    prompt = meta.get("prompt", "")

    if args.head is not None:
        fig, ax = plt.subplots(figsize=(9, 9.5), dpi=100)
        im = ax.imshow(np.ma.masked_where(future, pattern[args.head]), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(range(n), labels=tokens, rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels=tokens, fontsize=7)
        ax.set_xlabel("key (the token attended to)")
        ax.set_ylabel("query (the token attending)")
        ax.set_title(f"{title} head {args.head}\n{prompt[:70]}", fontsize=10, loc="left")
        fig.colorbar(im, ax=ax, shrink=0.8)
    else:
        heads = pattern.shape[0]
        fig, axes = plt.subplots(1, heads, figsize=(3 * heads + 1, 3.8), dpi=100, squeeze=False)
        for h, ax in enumerate(axes[0]):
            im = ax.imshow(np.ma.masked_where(future, pattern[h]), cmap=cmap, vmin=0, vmax=1)
            ax.set_title(f"L{args.layer}H{h}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{title}, every head\n{prompt[:70]}", fontsize=10, x=0.01, ha="left")
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    fig.savefig(args.out)


if __name__ == "__main__":
    main()
