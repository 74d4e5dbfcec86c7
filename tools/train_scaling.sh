#!/usr/bin/env bash
# Train glassbox's scaling family and keep what the tutor draws: each run's config.json,
# train_args.json and train_log.csv under models/scaling/<run>/ (the weights are deleted: the
# family is for its losses, and the bundled model is the one to look inside). build.rs embeds the
# runs in the binary, so the next build of glassbox shows them.
#
#   tools/train_scaling.sh            # every run (release build; the times are in each train_log.csv)
#   tools/train_scaling.sh d16-l2     # only the runs whose names start with this
#
# Two series, both on the bundled model's corpus, tokenizer size, context and learning-rate recipe
# (`glassbox train`'s defaults), so that only one thing changes along each:
#   - size:  four widths/depths (43k to 1.1M parameters), each trained on 1,000 steps (4.1M tokens);
#   - data:  the d64-l3 model trained on 250, 500 and 1,000 steps (1M to 4.1M tokens), each
#            run with its own warmup-and-cosine schedule, as a run of that length would be.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${GLASSBOX:-target/release/glassbox}"
if [ ! -x "$bin" ]; then
    cargo build --release --locked
fi

# name           d_model layers heads steps
runs="
d16-l2-s1000     16      2      2     1000
d32-l2-s1000     32      2      2     1000
d64-l3-s1000     64      3      4     1000
d128-l4-s1000    128     4      4     1000
d64-l3-s250      64      3      4     250
d64-l3-s500      64      3      4     500
"

only="${1:-}"
echo "$runs" | while read -r name d layers heads steps; do
    [ -n "$name" ] || continue
    case "$name" in "$only"*) ;; *) continue ;; esac
    out="models/scaling/$name"
    echo "== $name: d_model $d, $layers layers, $heads heads, $steps steps" >&2
    # --force replaces only a folder that training wrote, never anything else.
    "$bin" train --out "$out" --force --d-model "$d" --layers "$layers" --heads "$heads" \
        --steps "$steps" </dev/null
    # Keep the record, not the weights or the tokenizer (the bundled model's tokenizer is the same
    # BPE trained on the same corpus with the same seed).
    rm -f "$out/model.safetensors" "$out/tokenizer.json"
done
echo "done: models/scaling/ (build glassbox again to embed the new runs: the binary carries them)" >&2
