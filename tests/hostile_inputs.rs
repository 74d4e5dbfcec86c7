//! Hostile inputs, in tables: every way a user (or a damaged download) can hand glassbox something
//! wrong, answered by the real binary with one `error:` line that names the problem (and a hint), no
//! panic, and nothing written or replaced in the output folder. Rows cover the holes fixed so far and
//! the cases that always passed, so both stay that way. The broken inputs are built at test time from
//! the committed fixtures (tests/hostile/mod.rs); the rules every row is held to are in its runner.
//!
//! (The bad model folders, GGUF files and arguments that tests/cli.rs used to check one by one are
//! rows here now.)

mod common;
mod hostile;

use std::path::Path;

use candle_core::quantized::gguf_file;
use common::fixture_dir;
use hostile::{
    assert_all_hold, edit_config, edit_index, edit_tensor, fails, fails_with, succeeds, Case, Lab,
};
use serde_json::json;

fn tiny() -> String {
    fixture_dir("tiny-a").to_str().unwrap().to_string()
}

/// The context of tiny-a, which every prompt row runs on.
const TINY_CTX: &str = "64 tokens";

#[test]
fn prompts_too_long_unreadable_or_empty() {
    let lab = Lab::new();
    let m = tiny();
    let dump_to = lab.out_arg("existing.safetensors");
    let dump = |what: &str, source: &[&str], needles: &[&str]| {
        let mut args = vec!["dump", "-m", &m, "-o", &dump_to];
        args.extend_from_slice(source);
        fails(what, &args, needles)
    };
    // 4 MB of words: the bound (a few kilobytes for tiny-a) stops reading long before the end.
    let big = lab.write("big.txt", "word ".repeat(800_000));
    let not_utf8 = lab.write("latin1.txt", b"caf\xe9 au lait");
    let nul = lab.write("nul.txt", b"The boat\0came home");
    let empty = lab.write("empty.txt", "");
    let blank = lab.write("blank.txt", " \n\t ");
    let folder = lab.arg("out");
    let missing = lab.arg("missing.txt");
    let huge_arg = "x".repeat(100_000);
    let many_words = "word ".repeat(200);
    let too_long = ["longer than this model's context of", TINY_CTX];
    let mut cases = vec![
        dump("a 4 MB prompt file", &["--prompt-file", &big], &too_long),
        dump(
            "a 100 kB --prompt",
            &["--prompt", &huge_arg],
            &["the prompt is 100000 bytes, more than", TINY_CTX],
        ),
        dump(
            "more tokens than the context",
            &["--prompt", &many_words],
            &["tokens but this model's context is", TINY_CTX],
        ),
        dump(
            "a Latin-1 prompt file",
            &["--prompt-file", &not_utf8],
            &["latin1.txt", "is not UTF-8 text (byte 3 is 0xe9)"],
        ),
        dump(
            "NUL bytes in a prompt file",
            &["--prompt-file", &nul],
            &["nul.txt", "holds a NUL byte (byte 8)"],
        ),
        dump(
            "a folder as the prompt file",
            &["--prompt-file", &folder],
            &["is a folder, not a file"],
        ),
        dump(
            "a missing prompt file",
            &["--prompt-file", &missing],
            &["missing.txt", "does not exist"],
        ),
        dump(
            "an empty prompt without BOS",
            &["--prompt", "", "--no-bos"],
            &["the prompt is empty"],
        ),
        dump(
            "an empty prompt file without BOS",
            &["--prompt-file", &empty, "--no-bos"],
            &["the prompt is empty"],
        ),
        fails(
            "export: a prompt of only whitespace",
            &[
                "export",
                "-m",
                &m,
                "--prompt-file",
                &blank,
                "--layer",
                "0",
                "-o",
                &lab.out_arg("existing.png"),
            ],
            &["the prompt is empty"],
        ),
        fails(
            "the tutor: a non-UTF-8 prompt file",
            &["tutor", "-m", &m, "--prompt-file", &not_utf8],
            &["is not UTF-8 text"],
        ),
    ];
    if cfg!(unix) {
        for endless in ["/dev/zero", "/dev/urandom"] {
            cases.push(dump(endless, &["--prompt-file", endless], &too_long));
        }
        // The tutor reads its prompt before the model is known: any model's bound, 64 MiB.
        cases.push(fails(
            "the tutor: /dev/zero as the prompt file",
            &["tutor", "-m", &m, "--prompt-file", "/dev/zero"],
            &["longer than 67108864 bytes"],
        ));
    }
    assert_all_hold(lab.run(&cases));
}

#[test]
fn generate_inspect_and_export_options_out_of_range() {
    let lab = Lab::new();
    let m = tiny();
    let generate = |what: &str, options: &[&str], needles: &[&str]| {
        let mut args = vec!["generate", "-m", &m, "--prompt", "The boat"];
        args.extend_from_slice(options);
        fails(what, &args, needles)
    };
    // 31 × "a b " is 63 tokens: with BOS, the whole context of tiny-a.
    let full = "a b ".repeat(31);
    let png = lab.out_arg("existing.png");
    let cases = vec![
        generate(
            "negative temperature",
            &["-t", "-1"],
            &["--temperature -1 is out of range"],
        ),
        generate(
            "negative temperature, with =",
            &["-t=-1"],
            &["--temperature -1"],
        ),
        generate("NaN temperature", &["-t", "NaN"], &["--temperature NaN"]),
        generate(
            "infinite temperature",
            &["-t", "inf"],
            &["--temperature inf"],
        ),
        generate(
            "a temperature that underflows",
            &["-t", "1e-300"],
            &["--temperature 1e-300"],
        ),
        generate(
            "top-k 0",
            &["-t", "1", "--top-k", "0"],
            &["--top-k 0 is out of range"],
        ),
        fails_with(
            "top-k -1 (clap)",
            2,
            &["generate", "-m", &m, "--prompt", "hi", "--top-k", "-1"],
            &["'--top-k <TOP_K>'"],
        ),
        generate(
            "top-p 0",
            &["-t", "1", "--top-p", "0"],
            &["--top-p 0 is out of range"],
        ),
        generate(
            "top-p 2",
            &["-t", "1", "--top-p", "2"],
            &["--top-p 2 is out of range"],
        ),
        generate(
            "top-p NaN",
            &["-t", "1", "--top-p", "NaN"],
            &["--top-p NaN"],
        ),
        generate(
            "top-p while greedy",
            &["--top-p", "0.9"],
            &["--top-p 0.9 has no effect", "temperature is 0"],
        ),
        generate(
            "no tokens to add",
            &["-n", "0"],
            &["--max-tokens 0 is out of range"],
        ),
        succeeds(
            "-n past the context",
            &["generate", "-m", &m, "--prompt", "The boat", "-n", "100"],
            &[
                "note: stopped after 60 of 100 tokens",
                "context of 64 tokens is full",
            ],
        ),
        succeeds(
            "a prompt that fills the context",
            &["generate", "-m", &m, "--prompt", &full, "-n", "5"],
            &["note: stopped after 1 of 5 tokens"],
        ),
        fails(
            "inspect --top 0",
            &["inspect", "-m", &m, "--prompt", "hi", "--top", "0"],
            &["--top 0 is out of range"],
        ),
        fails(
            "export probs at a negative temperature",
            &[
                "export", "probs", "-m", &m, "--prompt", "hi", "-t", "-1", "-o", &png,
            ],
            &["temperature -1"],
        ),
        fails(
            "export at a negative scale",
            &[
                "export", "-m", &m, "--prompt", "hi", "--layer", "0", "--scale", "-1", "-o", &png,
            ],
            &["the scale -1 is out of range"],
        ),
        fails(
            "export of a layer that does not exist",
            &[
                "export", "-m", &m, "--prompt", "hi", "--layer", "9", "-o", &png,
            ],
            &["there is no layer 9"],
        ),
    ];
    assert_all_hold(lab.run(&cases));
}

#[test]
fn dump_names_and_output_paths() {
    let lab = Lab::new();
    let m = tiny();
    let dump_to = |out: &str, extra: &[&str]| -> Vec<String> {
        let args = ["dump", "-m", &m, "--prompt", "hi", "-o", out];
        args.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let existing = lab.out_arg("existing.safetensors");
    let nowhere = lab.out_arg("no-such-folder/x.safetensors");
    let folder = lab.out_arg("existing-model");
    let mut cases = vec![
        fails(
            "empty --names",
            &dump_to(&existing, &["--names", ""]),
            &["--names: \"\" matches no hook"],
        ),
        fails(
            "blank --names",
            &dump_to(&existing, &["--names", " , "]),
            &["--names: \"\" matches no hook"],
        ),
        fails(
            "a --names typo",
            &dump_to(&existing, &["--names", "blocks.*.hook_patern"]),
            &["\"blocks.*.hook_patern\" matches no hook"],
        ),
        fails(
            "output in a missing folder",
            &dump_to(&nowhere, &[]),
            &["no-such-folder", "does not exist"],
        ),
        fails(
            "output is a folder",
            &dump_to(&folder, &[]),
            &["existing-model: it is a folder"],
        ),
    ];
    if !cfg!(feature = "cuda") {
        cases.push(fails(
            "a device not built in",
            &dump_to(&existing, &["--device", "cuda"]),
            &["CUDA"],
        ));
    }
    if cfg!(target_os = "linux") {
        // Permissions do not stop root, so a place no one may create files in: sysfs.
        cases.push(fails(
            "an unwritable output folder",
            &dump_to("/sys/x.safetensors", &[]),
            &["/sys/x.safetensors", "Permission denied"],
        ));
    }
    assert_all_hold(lab.run(&cases));
}

#[test]
fn train_options_and_output_folder() {
    let lab = Lab::new();
    let new = lab.out_arg("new-model");
    let existing = lab.out_arg("existing-model");
    let train = |what: &str, options: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "-o", &new, "--steps", "1", "--docs", "200"];
        args.extend_from_slice(options);
        fails(what, &args, needles)
    };
    let mut cases = vec![
        train("no layers", &["--layers", "0"], &["--layers is 0"]),
        train(
            "heads that do not divide",
            &["--heads", "3"],
            &["not divisible by --heads 3"],
        ),
        train(
            "a window past the context",
            &["--seq-len", "512"],
            &["longer than --context"],
        ),
        train(
            "a NaN learning rate",
            &["--lr", "NaN"],
            &["--lr NaN is out of range"],
        ),
        train(
            "a negative weight decay",
            &["--weight-decay", "-1"],
            &["--weight-decay -1"],
        ),
        train(
            "a share above 1",
            &["--repeat-fraction", "2"],
            &["--repeat-fraction 2"],
        ),
        train(
            "a hidden size no memory holds",
            &["--d-model", "1048576", "--heads", "1"],
            &[
                "training this model needs at least",
                "more than this machine's",
            ],
        ),
        train(
            "a vocabulary no memory holds",
            &["--vocab-size", "1000000000000"],
            &["needs at least"],
        ),
        train(
            "a batch no memory holds",
            &["--batch", "100000000"],
            &["needs at least"],
        ),
        fails(
            "an existing folder without --force",
            &["train", "-o", &existing, "--steps", "1"],
            &["already exists"],
        ),
        fails(
            "--force with options that cannot train keeps the old folder",
            &["train", "-o", &existing, "--force", "--layers", "0"],
            &["--layers is 0"],
        ),
    ];
    if cfg!(target_os = "linux") {
        cases.push(fails(
            "an unwritable output folder",
            &["train", "-o", "/sys/new-model", "--steps", "1"],
            &["cannot write in /sys"],
        ));
    }
    assert_all_hold(lab.run(&cases));
}

/// `dump` of a short prompt with `--model model`, into the output folder's existing file.
fn dump_model(lab: &Lab, what: &str, model: &str, needles: &[&str]) -> Case {
    let out = lab.out_arg("existing.safetensors");
    fails(
        what,
        &["dump", "--prompt", "Boats", "-m", model, "-o", &out],
        needles,
    )
}

#[test]
fn broken_safetensors_and_configs() {
    let lab = Lab::new();
    let weights = |d: &Path| d.join("model.safetensors");
    let v = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "tiny-a", change);
    let rows: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "truncated weights",
            v("truncated", &|d| {
                let bytes = std::fs::read(weights(d)).unwrap();
                std::fs::write(weights(d), &bytes[..bytes.len() / 2]).unwrap();
            }),
            vec!["truncated/model.safetensors"],
        ),
        (
            "a header that is not JSON",
            v("corrupt", &|d| {
                std::fs::write(weights(d), b"\x10\0\0\0\0\0\0\0{not json}}}}}}}").unwrap()
            }),
            vec!["corrupt/model.safetensors is not a readable safetensors file"],
        ),
        (
            "an empty weights file",
            v("empty-weights", &|d| {
                std::fs::write(weights(d), b"").unwrap()
            }),
            vec!["empty-weights/model.safetensors is not a readable"],
        ),
        (
            "a header size of 2^62",
            v("huge-header", &|d| {
                let mut bytes = std::fs::read(weights(d)).unwrap();
                bytes[..8].copy_from_slice(&(1u64 << 62).to_le_bytes());
                std::fs::write(weights(d), bytes).unwrap();
            }),
            vec!["huge-header/model.safetensors", "header too large"],
        ),
        (
            "a header size of 0",
            v("zero-header", &|d| {
                let mut bytes = std::fs::read(weights(d)).unwrap();
                bytes[..8].copy_from_slice(&0u64.to_le_bytes());
                std::fs::write(weights(d), bytes).unwrap();
            }),
            vec!["zero-header/model.safetensors is not a readable"],
        ),
        (
            "a tensor of 2^62 × 4 elements",
            v("huge-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["shape"] = json!([1u64 << 62, 4])
                })
            }),
            vec!["huge-shape/model.safetensors is not a readable"],
        ),
        (
            "a tensor with no elements",
            v("zero-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| t["shape"] = json!([0]))
            }),
            vec!["zero-shape/model.safetensors"],
        ),
        (
            "a tensor of the wrong shape",
            v("wrong-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["shape"] = json!([32, 2])
                })
            }),
            vec!["shape mismatch for transformer.ln_f.weight"],
        ),
        (
            "integer weights",
            v("int-weights", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| t["dtype"] = json!("I32"))
            }),
            vec!["tensor transformer.ln_f.weight is stored as I32"],
        ),
        (
            "byte weights",
            v("u8-weights", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["dtype"] = json!("U8");
                    t["shape"] = json!([256]);
                })
            }),
            vec!["stored as U8"],
        ),
        (
            "fewer layers in config.json than in the weights",
            v("fewer-layers", &|d| edit_config(d, json!({"n_layer": 1}))),
            vec!["holds 2 blocks (h.0 to h.1)", "says n_layer 1"],
        ),
        (
            "more layers in config.json than in the weights",
            v("more-layers", &|d| edit_config(d, json!({"n_layer": 3}))),
            vec!["holds 2 blocks", "says n_layer 3"],
        ),
        (
            "n_layer 0",
            v("zero-layers", &|d| edit_config(d, json!({"n_layer": 0}))),
            vec!["config.json: n_layer is 0"],
        ),
        (
            "n_layer 10^12",
            v("huge-layers", &|d| {
                edit_config(d, json!({"n_layer": 1_000_000_000_000u64}))
            }),
            vec!["n_layer 1000000000000 is larger than any model's"],
        ),
        (
            "n_embd 2^62 (3 × n_embd would overflow)",
            v("huge-embd", &|d| {
                edit_config(d, json!({"n_embd": 1u64 << 62, "n_head": 1}))
            }),
            vec!["n_embd 4611686018427387904 is larger than any model's"],
        ),
        (
            "n_layer -1",
            v("negative-layers", &|d| {
                edit_config(d, json!({"n_layer": -1}))
            }),
            vec!["is not a GPT-2 config", "-1"],
        ),
        (
            "n_layer 1.5",
            v("fractional-layers", &|d| {
                edit_config(d, json!({"n_layer": 1.5}))
            }),
            vec!["is not a GPT-2 config"],
        ),
        (
            "heads that do not divide n_embd",
            v("three-heads", &|d| edit_config(d, json!({"n_head": 3}))),
            vec!["n_embd 64 is not divisible by n_head 3"],
        ),
        (
            "n_positions 0",
            v("no-context", &|d| {
                edit_config(d, json!({"n_positions": 0, "n_ctx": 0}))
            }),
            vec!["n_positions is 0"],
        ),
        (
            "a config.json n_embd that disagrees with the weights",
            v("narrow", &|d| edit_config(d, json!({"n_embd": 32}))),
            vec!["narrow/config.json"],
        ),
        (
            "a vocabulary smaller than the tokenizer's",
            v("small-vocab", &|d| {
                edit_config(d, json!({"vocab_size": 100}))
            }),
            vec!["tokenizer.json has 400 tokens", "vocabulary has 100"],
        ),
        (
            "an unknown model_type",
            v("bert", &|d| edit_config(d, json!({"model_type": "bert"}))),
            vec!["model_type \"bert\" is not supported"],
        ),
        (
            "config.json that is not JSON",
            v("bad-json", &|d| {
                std::fs::write(d.join("config.json"), "{").unwrap()
            }),
            vec!["bad-json/config.json is not valid JSON"],
        ),
        (
            "no config.json",
            v("no-config", &|d| {
                std::fs::remove_file(d.join("config.json")).unwrap()
            }),
            vec!["no-config/config.json is missing"],
        ),
        (
            "no tokenizer.json",
            v("no-tokenizer", &|d| {
                std::fs::remove_file(d.join("tokenizer.json")).unwrap()
            }),
            vec!["no-tokenizer/tokenizer.json is missing"],
        ),
        (
            "a tokenizer.json that is not a tokenizer",
            v("bad-tokenizer", &|d| {
                std::fs::write(d.join("tokenizer.json"), "{}").unwrap()
            }),
            vec!["cannot read tokenizer", "bad-tokenizer/tokenizer.json"],
        ),
        (
            "only a pickle",
            v("pickle", &|d| {
                std::fs::remove_file(weights(d)).unwrap();
                std::fs::write(d.join("pytorch_model.bin"), b"pickle").unwrap();
            }),
            vec!["has only pytorch_model.bin"],
        ),
    ];
    let mut cases: Vec<Case> = rows
        .iter()
        .map(|(what, model, needles)| dump_model(&lab, what, model, needles))
        .collect();
    // Llama: the same holes under its own names.
    let lv = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "llama-a", change);
    let llama_rows: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "Llama: fewer layers in config.json than in the weights",
            lv("llama-fewer", &|d| {
                edit_config(d, json!({"num_hidden_layers": 1}))
            }),
            vec![
                "holds 2 blocks (model.layers.0 to model.layers.1)",
                "num_hidden_layers 1",
            ],
        ),
        (
            "Llama: head_dim 2^62",
            lv("llama-head-dim", &|d| {
                edit_config(d, json!({"head_dim": 1u64 << 62}))
            }),
            vec!["head_dim 4611686018427387904 is larger"],
        ),
        (
            "Llama: key/value heads that do not divide the heads",
            lv("llama-kv", &|d| {
                edit_config(d, json!({"num_key_value_heads": 3}))
            }),
            vec!["num_key_value_heads 3 does not divide num_attention_heads 4"],
        ),
        (
            "Llama: a context of 0",
            lv("llama-no-context", &|d| {
                edit_config(d, json!({"max_position_embeddings": 0}))
            }),
            vec!["max_position_embeddings is 0"],
        ),
        (
            "Llama: a rope scaling it would compute differently",
            lv("llama-rope", &|d| {
                edit_config(
                    d,
                    json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}),
                )
            }),
            vec!["rope type \"llama3\""],
        ),
    ];
    cases.extend(
        llama_rows
            .iter()
            .map(|(what, model, needles)| dump_model(&lab, what, model, needles)),
    );
    assert_all_hold(lab.run(&cases));
}

#[test]
fn model_paths_links_and_shard_indexes() {
    let lab = Lab::new();
    let sharded = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "tiny-b", change);
    let mut rows: Vec<(&str, String, Vec<&str>)> =
        vec![
        (
            "a missing shard",
            sharded("missing-shard", &|d| {
                std::fs::remove_file(d.join("model-00002-of-00002.safetensors")).unwrap()
            }),
            vec!["model-00002-of-00002.safetensors, which is missing"],
        ),
        (
            "a shard index that climbs out of the folder",
            sharded("climbing-index", &|d| {
                edit_index(d, |map| map["h.0.ln_1.weight"] = json!("../../../../etc/passwd"))
            }),
            vec!["names the shard \"../../../../etc/passwd\", which lies outside the model folder"],
        ),
        (
            "a shard index with an absolute path",
            sharded("absolute-index", &|d| {
                edit_index(d, |map| map["h.0.ln_1.weight"] = json!("/etc/passwd"))
            }),
            vec!["\"/etc/passwd\", which lies outside"],
        ),
        (
            "a shard index with no shards",
            sharded("empty-index", &|d| edit_index(d, |map| *map = json!({}))),
            vec!["lists no shards"],
        ),
        (
            "a shard index that is not JSON",
            sharded("bad-index", &|d| {
                std::fs::write(d.join("model.safetensors.index.json"), "[").unwrap()
            }),
            vec!["is not a valid shard index"],
        ),
        (
            "a folder named model.safetensors",
            lab.variant("folder-weights", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                std::fs::create_dir(d.join("model.safetensors")).unwrap();
            }),
            vec!["folder-weights/model.safetensors is a folder, not a file"],
        ),
        ("a model folder that does not exist", lab.arg("no-such-model"), vec!["no-such-model"]),
    ];
    let config = lab.arg("missing-shard/config.json");
    rows.push((
        "a path through a regular file",
        format!("{config}/model"),
        vec!["config.json is a file, not a folder"],
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        rows.push((
            "a link to a missing blob",
            lab.variant("dangling", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                symlink("../blobs/0123abcd", d.join("model.safetensors")).unwrap();
            }),
            vec!["is a link to ../blobs/0123abcd, which does not exist"],
        ));
        rows.push((
            "a link loop",
            lab.variant("loop", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                symlink("model.safetensors", d.join("model.safetensors")).unwrap();
            }),
            vec!["loop/model.safetensors is a link that cannot be followed"],
        ));
        symlink(lab.path("nowhere"), lab.path("dangling-model")).unwrap();
        rows.push((
            "--model is a link to nothing",
            lab.arg("dangling-model"),
            vec!["dangling-model is a link to"],
        ));
    }
    let mut cases: Vec<Case> = rows
        .iter()
        .map(|(what, model, needles)| dump_model(&lab, what, model, needles))
        .collect();
    #[cfg(unix)]
    {
        // The Hugging Face cache keeps files as links into blobs/: an interrupted download leaves one
        // pointing at nothing.
        let snapshot = lab.path("hub/models--me--tiny/snapshots/0123abcd");
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::create_dir_all(lab.path("hub/models--me--tiny/refs")).unwrap();
        std::fs::write(lab.path("hub/models--me--tiny/refs/main"), "0123abcd").unwrap();
        for f in ["config.json", "tokenizer.json"] {
            std::fs::copy(fixture_dir("tiny-a").join(f), snapshot.join(f)).unwrap();
        }
        std::os::unix::fs::symlink("../../blobs/5f1e8d0c", snapshot.join("model.safetensors"))
            .unwrap();
        cases.push(
            dump_model(
                &lab,
                "a hub cache with a missing blob",
                "me/tiny",
                &["model.safetensors is a link to ../../blobs/5f1e8d0c, which does not exist"],
            )
            .env("HF_HUB_CACHE", &lab.arg("hub")),
        );
    }
    assert_all_hold(lab.run(&cases));
}

/// A GGUF fixture rewritten with some metadata changed (None removes the key), its tensors as they are.
fn gguf_variant(to: &Path, change: &[(&str, Option<gguf_file::Value>)]) {
    let src = fixture_dir("gguf").join("small-f32.gguf");
    let mut file = std::fs::File::open(&src).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut metadata = content.metadata.clone();
    for (key, value) in change {
        match value {
            Some(v) => metadata.insert(key.to_string(), v.clone()),
            None => metadata.remove(*key),
        };
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let tensors: Vec<(&str, candle_core::quantized::QTensor)> = names
        .iter()
        .map(|n| {
            let t = content
                .tensor(&mut file, n, &candle_core::Device::Cpu)
                .unwrap();
            (n.as_str(), t)
        })
        .collect();
    let meta: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &candle_core::quantized::QTensor)> =
        tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut out = std::fs::File::create(to).unwrap();
    gguf_file::write(&mut out, &meta, &tensor_refs).unwrap();
}

#[test]
fn broken_gguf_files() {
    use gguf_file::Value;
    let lab = Lab::new();
    let good = std::fs::read(fixture_dir("gguf").join("small-f32.gguf")).unwrap();
    lab.write("header.gguf", &good[..100]);
    lab.write("short.gguf", &good[..good.len() * 3 / 4]);
    lab.write("text.gguf", "not a model\n");
    // An unknown tensor type: the dtype field of output_norm.weight's tensor info set to 99.
    let mut odd = good.clone();
    let name = b"output_norm.weight";
    let pos = odd.windows(name.len()).rposition(|w| w == name).unwrap();
    let dtype_at = pos + name.len() + 4 + 8; // n_dims (u32), one dimension (u64)
    odd[dtype_at..dtype_at + 4].copy_from_slice(&99u32.to_le_bytes());
    lab.write("odd-type.gguf", odd);
    let variant = |file: &str, change: &[(&str, Option<Value>)]| {
        gguf_variant(&lab.path(file), change);
    };
    let string = |s: &str| Some(Value::String(s.into()));
    variant("qwen.gguf", &[("general.architecture", string("qwen2"))]);
    variant("no-tokenizer.gguf", &[("tokenizer.ggml.tokens", None)]);
    variant(
        "sentencepiece.gguf",
        &[("tokenizer.ggml.model", string("llama"))],
    );
    variant(
        "wide.gguf",
        &[("llama.embedding_length", Some(Value::U32(48)))],
    );
    variant(
        "heads.gguf",
        &[("llama.attention.head_count_kv", Some(Value::U32(3)))],
    );
    variant("no-layers.gguf", &[("llama.block_count", None)]);
    variant("align.gguf", &[("general.alignment", Some(Value::U32(0)))]);
    variant(
        "fewer-blocks.gguf",
        &[("llama.block_count", Some(Value::U32(1)))],
    );
    variant(
        "huge-blocks.gguf",
        &[("llama.block_count", Some(Value::U32(u32::MAX)))],
    );
    variant(
        "no-context.gguf",
        &[("llama.context_length", Some(Value::U32(0)))],
    );
    let rows = [
        ("header.gguf", "not a readable GGUF file"),
        ("short.gguf", "cannot read tensor"),
        ("text.gguf", "not a readable GGUF file"),
        ("odd-type.gguf", "unknown dtype"),
        ("qwen.gguf", "architecture \"qwen2\" is not supported"),
        ("no-tokenizer.gguf", "has no tokenizer"),
        (
            "sentencepiece.gguf",
            "tokenizer.ggml.model \"llama\" is not supported",
        ),
        ("wide.gguf", "has shape"),
        ("heads.gguf", "does not divide"),
        ("no-layers.gguf", "llama.block_count is missing"),
        ("align.gguf", "general.alignment must be above 0"),
        (
            "fewer-blocks.gguf",
            "the tensors hold 2 blocks (blk.0 to blk.1), but llama.block_count is 1",
        ),
        (
            "huge-blocks.gguf",
            "llama.block_count 4294967295 is larger than any model's",
        ),
        ("no-context.gguf", "llama.context_length is 0"),
    ];
    let cases: Vec<Case> = rows
        .iter()
        .map(|(file, needle)| {
            // The file is named too, so the user knows which one.
            dump_model(&lab, file, &lab.arg(file), &[file, needle])
        })
        .collect();
    assert_all_hold(lab.run(&cases));
}

#[test]
fn malformed_lesson_files() {
    let lab = Lab::new();
    let dir = lab.path("lessons");
    std::fs::create_dir(&dir).unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/01-what-a-language-model-does.md"),
    )
    .unwrap();
    lab.write("lessons/01-good.md", &good);
    lab.write("lessons/02-no-front-matter.md", "hello");
    lab.write("lessons/03-bad-toml.md", "+++\nid = 3\n+++\n");
    lab.write("lessons/04-latin1.md", b"+++\ntitle = \"caf\xe9\"\n+++\n");
    lab.write("lessons/05-nul.md", b"+++\0");
    std::fs::create_dir(dir.join("06-folder.md")).unwrap();
    let lessons = lab.arg("lessons");
    let bad_list = [
        "02-no-front-matter.md:1: a lesson starts with TOML front matter",
        "03-bad-toml.md:2: invalid type",
        "04-latin1.md:1: the file is not UTF-8 text",
        "05-nul.md:1: the file is not text: it holds a NUL byte",
        "06-folder.md:1: the file is a folder, not a file",
    ];
    let empty = lab.arg("empty-lessons");
    std::fs::create_dir(&empty).unwrap();
    let mut cases = vec![
        // The list shows what loads and reports the rest.
        succeeds(
            "lessons list with broken files",
            &["lessons", "list"],
            &bad_list,
        )
        .env("GLASSBOX_LESSONS", &lessons),
        fails(
            "lessons check with broken files",
            &["lessons", "check"],
            &bad_list,
        )
        .after_report()
        .env("GLASSBOX_LESSONS", &lessons),
        fails(
            "lessons check of one file that is not a lesson",
            &[
                "lessons",
                "check",
                &lab.arg("lessons/02-no-front-matter.md"),
            ],
            &[
                "a lesson starts with TOML front matter",
                "1 problem in 1 lesson file",
            ],
        )
        .after_report(),
        fails(
            "lessons list of an empty folder",
            &["lessons", "list"],
            &["no lessons in"],
        )
        .env("GLASSBOX_LESSONS", &empty),
        fails(
            "lessons check of an empty folder",
            &["lessons", "check"],
            &["no lessons in"],
        )
        .env("GLASSBOX_LESSONS", &empty),
        fails(
            "lessons check of a missing folder",
            &["lessons", "check"],
            &["no lessons in", "no-such-folder"],
        )
        .env("GLASSBOX_LESSONS", &lab.arg("no-such-folder")),
        fails(
            "the tutor with a lesson that does not exist",
            &["tutor", "--lesson", "99"],
            &["no lesson \"99\""],
        )
        .env("GLASSBOX_LESSONS", &lessons),
    ];
    if cfg!(unix) {
        cases.push(
            fails(
                "lessons check of /dev/zero",
                &["lessons", "check", "/dev/zero"],
                &["/dev/zero:1: the file is longer than 1048576 bytes"],
            )
            .after_report(),
        );
    }
    assert_all_hold(lab.run(&cases));
}
