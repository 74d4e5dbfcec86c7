//! The command line as a user meets it: outputs checked against the transformers references, and bad
//! input answered with one line that names the file, with nothing left behind.

mod common;

use std::path::Path;

use assert_cmd::Command;
use candle_core::quantized::gguf_file;
use common::{fixture_dir, reference};
use predicates::prelude::*;

fn glassbox() -> Command {
    let mut cmd = Command::cargo_bin("glassbox").unwrap();
    cmd.env_remove("GLASSBOX_DEBUG").env("HF_HUB_OFFLINE", "1");
    cmd
}

fn fixture(name: &str) -> String {
    fixture_dir(name).to_str().unwrap().to_string()
}

/// Run to success and return standard output (standard error in the failure message).
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn softmax(v: &[f32]) -> Vec<f32> {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

#[test]
fn inspect_json_agrees_with_transformers() {
    for name in common::FIXTURES {
        let r = reference(name);
        let j: serde_json::Value = serde_json::from_str(&stdout_of(
            glassbox()
                .args(["inspect", "--json", "--top", "5", "--model", &fixture(name)])
                .args(["--prompt", &r.metadata["prompt"]]),
        ))
        .unwrap();

        // Next-token probabilities: softmax of the reference logits at the last position.
        let logits = r.tensors["logits"]
            .squeeze(0)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let probs = softmax(logits.last().unwrap());
        let top = j["next_token"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        for c in top {
            let id = c["id"].as_u64().unwrap() as usize;
            let p = c["prob"].as_f64().unwrap() as f32;
            assert!(
                (p - probs[id]).abs() <= 1e-4 * probs[id].max(1e-3),
                "{name}: p({id})"
            );
        }
        let best = (0..probs.len())
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap();
        assert_eq!(
            top[0]["id"].as_u64().unwrap() as usize,
            best,
            "{name}: top-1"
        );

        // Previous-token heads: recomputed here from the reference patterns.
        let heads = j["previous_token_heads"].as_array().unwrap();
        assert_eq!(heads.len(), j["n_layers"].as_u64().unwrap() as usize);
        for h in heads {
            let (l, head) = (
                h["layer"].as_u64().unwrap(),
                h["head"].as_u64().unwrap() as usize,
            );
            let p = r.tensors[&format!("blocks.{l}.attn.hook_pattern")]
                .squeeze(0)
                .unwrap()
                .to_vec3::<f32>()
                .unwrap();
            let score = |hh: usize| {
                let n = p[hh].len();
                (1..n).map(|i| p[hh][i][i - 1]).sum::<f32>() / (n - 1) as f32
            };
            let best_head = (0..p.len())
                .max_by(|&a, &b| score(a).total_cmp(&score(b)))
                .unwrap();
            assert_eq!(head, best_head, "{name} layer {l}");
            assert!((h["score"].as_f64().unwrap() as f32 - score(head)).abs() < 1e-4);
        }
        assert_eq!(j["tokens"].as_array().unwrap()[0], "<|endoftext|>");
    }
}

#[test]
fn inspect_table_is_readable() {
    glassbox()
        .args([
            "inspect",
            "--model",
            &fixture("tiny-a"),
            "--prompt",
            "The boats came home.",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("next token (entropy"))
        .stdout(predicate::str::contains("previous-token heads"))
        .stdout(predicate::str::contains("layer  1: head"))
        .stdout(predicate::str::contains("0:<|endoftext|>"));
}

#[test]
fn dump_writes_every_hook_with_transformerlens_names_and_shapes() {
    let r = reference("tiny-a");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache.safetensors");
    glassbox()
        .args([
            "dump",
            "--model",
            &fixture("tiny-a"),
            "--prompt",
            &r.metadata["prompt"],
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let seq = r.tensors["input_ids"].dim(1).unwrap();
    let (h, d, dh, vocab) = (4, 64, 16, 400);
    let expect: Vec<(String, Vec<usize>)> = {
        let mut v = vec![
            ("hook_embed".to_string(), vec![1, seq, d]),
            ("hook_pos_embed".to_string(), vec![1, seq, d]),
        ];
        for l in 0..2 {
            for (s, shape) in [
                ("hook_resid_pre", vec![1, seq, d]),
                ("attn.hook_q", vec![1, seq, h, dh]),
                ("attn.hook_k", vec![1, seq, h, dh]),
                ("attn.hook_v", vec![1, seq, h, dh]),
                ("attn.hook_attn_scores", vec![1, h, seq, seq]),
                ("attn.hook_pattern", vec![1, h, seq, seq]),
                ("attn.hook_z", vec![1, seq, h, dh]),
                ("hook_attn_out", vec![1, seq, d]),
                ("hook_resid_mid", vec![1, seq, d]),
                ("hook_mlp_out", vec![1, seq, d]),
                ("hook_resid_post", vec![1, seq, d]),
            ] {
                v.push((format!("blocks.{l}.{s}"), shape));
            }
        }
        v.push(("ln_final.hook_normalized".into(), vec![1, seq, d]));
        v.push(("logits".into(), vec![1, seq, vocab]));
        v.push(("input_ids".into(), vec![1, seq]));
        v
    };
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want_names: Vec<String> = expect.iter().map(|e| e.0.clone()).collect();
    want_names.sort();
    assert_eq!(names, want_names);
    for (name, shape) in &expect {
        assert_eq!(st.tensor(name).unwrap().shape(), shape.as_slice(), "{name}");
    }
    assert_eq!(
        st.tensor("input_ids").unwrap().dtype(),
        safetensors::Dtype::I64
    );

    // Values: every hook in the file, each streamed as the pass made it, is transformers' tensor.
    let loaded = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu).unwrap();
    for (name, _) in expect.iter().filter(|(n, _)| n != "input_ids") {
        let err = common::rel_err(&loaded[name], &r.tensors[name]);
        assert!(err <= 1e-4, "{name}: relative error {err:e}");
    }
    let ids: Vec<i64> = loaded["input_ids"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let want_ids: Vec<i64> = r.tensors["input_ids"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(ids, want_ids);

    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let tokens: Vec<String> = serde_json::from_str(&meta["tokens"]).unwrap();
    assert_eq!(tokens.len(), seq);
    assert_eq!(tokens[0], "<|endoftext|>");
    let cfg: serde_json::Value = serde_json::from_str(&meta["config"]).unwrap();
    assert_eq!(cfg["n_layer"], 2);
    assert_eq!(meta["prompt"], r.metadata["prompt"]);
}

#[test]
fn dump_names_filter_and_prompt_file() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = dir.path().join("prompt.txt");
    std::fs::write(&prompt, "Boats came home.").unwrap();
    let out = dir.path().join("p.safetensors");
    glassbox()
        .args([
            "dump",
            "--model",
            &fixture("tiny-b"),
            "--names",
            "blocks.*.attn.hook_pattern,logits",
        ])
        .arg("--prompt-file")
        .arg(&prompt)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "blocks.0.attn.hook_pattern",
            "blocks.1.attn.hook_pattern",
            "blocks.2.attn.hook_pattern",
            "input_ids",
            "logits"
        ]
    );
}

/// A failing command: non-zero exit, an `error:` line naming `needle`, no panic, nothing written.
fn assert_clean_failure(cmd: &mut Command, needle: &str, out: &Path) {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, got success: {stderr}"
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: "),
        "first line: {first:?}\n{stderr}"
    );
    assert!(first.contains(needle), "{needle:?} not in {first:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.lines().count() <= 2,
        "more than an error and a hint: {stderr}"
    );
    assert!(!out.exists(), "{} was left behind", out.display());
    if let Some(parent) = out.parent() {
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                assert!(!n.contains(".tmp-"), "temporary file {n} left behind");
            }
        }
    }
}

/// A copy of a fixture folder that a test may break.
fn broken_copy(name: &str, break_it: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture_dir(name)).unwrap().flatten() {
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    break_it(dir.path());
    dir
}

fn dump_into(model: &Path, out_dir: &Path) -> (Command, std::path::PathBuf) {
    let out = out_dir.join("out.safetensors");
    let mut cmd = glassbox();
    cmd.args(["dump", "--prompt", "Boats came home."])
        .arg("--model")
        .arg(model)
        .arg("--out")
        .arg(&out);
    (cmd, out)
}

#[test]
fn bad_model_folders_fail_cleanly() {
    let out_dir = tempfile::tempdir().unwrap();
    type Breaker = Box<dyn FnOnce(&Path)>;
    let cases: Vec<(&str, Breaker, &str)> = vec![
        (
            "truncated weights",
            Box::new(|d: &Path| {
                let p = d.join("model.safetensors");
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
            }),
            "model.safetensors",
        ),
        (
            "corrupt weights",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("model.safetensors"),
                    b"\x10\0\0\0\0\0\0\0{not json}}}}}}}",
                )
                .unwrap()
            }),
            "model.safetensors",
        ),
        (
            "missing tokenizer",
            Box::new(|d: &Path| std::fs::remove_file(d.join("tokenizer.json")).unwrap()),
            "tokenizer.json",
        ),
        (
            "missing config",
            Box::new(|d: &Path| std::fs::remove_file(d.join("config.json")).unwrap()),
            "config.json",
        ),
        (
            "config disagrees with the weights",
            Box::new(|d: &Path| {
                let p = d.join("config.json");
                let text = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("\"n_embd\": 64", "\"n_embd\": 32");
                std::fs::write(&p, text).unwrap();
            }),
            "config.json",
        ),
        (
            "config that is not JSON",
            Box::new(|d: &Path| std::fs::write(d.join("config.json"), "{").unwrap()),
            "config.json",
        ),
        (
            "only a pickle",
            Box::new(|d: &Path| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                std::fs::write(d.join("pytorch_model.bin"), b"pickle").unwrap();
            }),
            "pytorch_model.bin",
        ),
        (
            "corrupt tokenizer",
            Box::new(|d: &Path| std::fs::write(d.join("tokenizer.json"), "{}").unwrap()),
            "tokenizer.json",
        ),
    ];
    for (what, break_it, needle) in cases {
        let model = broken_copy("tiny-a", break_it);
        let (mut cmd, out) = dump_into(model.path(), out_dir.path());
        eprintln!("case: {what}");
        assert_clean_failure(&mut cmd, needle, &out);
    }

    let missing = out_dir.path().join("no-such-model");
    let (mut cmd, out) = dump_into(&missing, out_dir.path());
    assert_clean_failure(&mut cmd, "no-such-model", &out);

    // A missing shard of a sharded checkpoint is named.
    let sharded = broken_copy("tiny-b", |d| {
        std::fs::remove_file(d.join("model-00002-of-00002.safetensors")).unwrap()
    });
    let (mut cmd, out) = dump_into(sharded.path(), out_dir.path());
    assert_clean_failure(&mut cmd, "model-00002-of-00002.safetensors", &out);
}

/// A GGUF fixture rewritten with some metadata changed (None removes the key), with its tensors as
/// they are.
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
fn bad_gguf_files_fail_cleanly() {
    use gguf_file::Value;
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(fixture_dir("gguf").join("small-f32.gguf")).unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("header.gguf"), &good[..100]).unwrap();
    std::fs::write(at("short.gguf"), &good[..good.len() * 3 / 4]).unwrap();
    std::fs::write(at("text.gguf"), "not a model\n").unwrap();
    // An unknown tensor type: the dtype field of output_norm.weight's tensor info set to 99.
    let mut odd = good.clone();
    let name = b"output_norm.weight";
    let pos = odd.windows(name.len()).rposition(|w| w == name).unwrap();
    let dtype_at = pos + name.len() + 4 + 8; // n_dims (u32), one dimension (u64)
    odd[dtype_at..dtype_at + 4].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(at("odd-type.gguf"), odd).unwrap();
    gguf_variant(
        &at("qwen.gguf"),
        &[("general.architecture", Some(Value::String("qwen2".into())))],
    );
    gguf_variant(&at("no-tokenizer.gguf"), &[("tokenizer.ggml.tokens", None)]);
    gguf_variant(
        &at("sentencepiece.gguf"),
        &[("tokenizer.ggml.model", Some(Value::String("llama".into())))],
    );
    gguf_variant(
        &at("wide.gguf"),
        &[("llama.embedding_length", Some(Value::U32(48)))],
    );
    gguf_variant(
        &at("heads.gguf"),
        &[("llama.attention.head_count_kv", Some(Value::U32(3)))],
    );
    gguf_variant(&at("no-layers.gguf"), &[("llama.block_count", None)]);
    gguf_variant(
        &at("align.gguf"),
        &[("general.alignment", Some(Value::U32(0)))],
    );
    let cases = [
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
    ];
    for (file, needle) in cases {
        eprintln!("case: {file}");
        let (mut cmd, out) = dump_into(&at(file), dir.path());
        assert_clean_failure(&mut cmd, needle, &out);
        // The file is named, so the user knows which one.
        let stderr = String::from_utf8_lossy(&cmd.output().unwrap().stderr).into_owned();
        assert!(stderr.contains(file), "{file} not named: {stderr}");
    }
}

#[test]
fn bad_arguments_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.safetensors");
    let model = fixture("tiny-a");

    let mut cmd = glassbox();
    cmd.args([
        "dump",
        "--model",
        &model,
        "--prompt",
        "hi",
        "--names",
        "blocks.*.hook_patern",
    ])
    .arg("--out")
    .arg(&out);
    assert_clean_failure(&mut cmd, "blocks.*.hook_patern", &out);

    let long = "word ".repeat(200);
    let mut cmd = glassbox();
    cmd.args(["dump", "--model", &model, "--prompt", &long])
        .arg("--out")
        .arg(&out);
    assert_clean_failure(&mut cmd, "64", &out);

    let unwritable = dir.path().join("no-such-folder").join("x.safetensors");
    let mut cmd = glassbox();
    cmd.args(["dump", "--model", &model, "--prompt", "hi"])
        .arg("--out")
        .arg(&unwritable);
    assert_clean_failure(&mut cmd, "no-such-folder", &unwritable);

    let mut cmd = glassbox();
    cmd.args(["dump", "--model", &model, "--prompt-file"])
        .arg(dir.path().join("missing.txt"))
        .arg("--out")
        .arg(&out);
    assert_clean_failure(&mut cmd, "missing.txt", &out);

    if !cfg!(feature = "cuda") {
        let mut cmd = glassbox();
        cmd.args([
            "dump", "--device", "cuda", "--model", &model, "--prompt", "hi",
        ])
        .arg("--out")
        .arg(&out);
        assert_clean_failure(&mut cmd, "CUDA", &out);
    }
}

/// Lay out a fixture as the Hugging Face cache does: models--ORG--NAME/{refs/main, snapshots/REV/}.
fn fake_cache(root: &Path, repo_folder: &str) {
    let repo = root.join(repo_folder);
    let snap = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "0123abcd").unwrap();
    for e in std::fs::read_dir(fixture_dir("tiny-a")).unwrap().flatten() {
        std::fs::copy(e.path(), snap.join(e.file_name())).unwrap();
    }
}

#[test]
fn hub_names_resolve_from_the_local_cache() {
    let cache = tempfile::tempdir().unwrap();
    fake_cache(cache.path(), "models--openai-community--gpt2");
    // HF_HUB_CACHE, and both the old and the new name of GPT-2.
    for name in ["gpt2", "openai-community/gpt2"] {
        glassbox()
            .env("HF_HUB_CACHE", cache.path())
            .args(["inspect", "--model", name, "--prompt", "hi"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("model   {name}")));
    }
    // HF_HOME/hub, then XDG_CACHE_HOME/huggingface/hub, then HOME/.cache/huggingface/hub: each found
    // with the variables before it unset.
    let order = [
        (
            "HF_HOME",
            "hub",
            "distilgpt2",
            "models--distilbert--distilgpt2",
        ),
        (
            "XDG_CACHE_HOME",
            "huggingface/hub",
            "me/tiny",
            "models--me--tiny",
        ),
        (
            "HOME",
            ".cache/huggingface/hub",
            "me/tiny",
            "models--me--tiny",
        ),
    ];
    let vars = ["HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"];
    for (i, (var, sub, name, folder)) in order.into_iter().enumerate() {
        let root = tempfile::tempdir().unwrap();
        fake_cache(&root.path().join(sub), folder);
        let mut cmd = glassbox();
        for unset in &vars[..i + 1] {
            cmd.env_remove(unset);
        }
        cmd.env(var, root.path())
            .args(["inspect", "--model", name, "--prompt", "hi"])
            .assert()
            .success();
    }
}

#[test]
fn a_model_missing_from_the_cache_says_where_it_looked_and_how_to_get_it() {
    let cache = tempfile::tempdir().unwrap();
    let out = glassbox()
        .env("HF_HUB_CACHE", cache.path())
        .args(["inspect", "--model", "gpt2", "--prompt", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: model \"gpt2\" is not in the local Hugging Face cache"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&cache.path().display().to_string()),
        "{stderr}"
    );
    assert!(
        stderr.contains("models--openai-community--gpt2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("huggingface-cli download openai-community/gpt2"),
        "{stderr}"
    );
}

#[test]
fn generate_is_deterministic_and_continues_the_prompt() {
    let run = |extra: &[&str]| {
        stdout_of(
            glassbox()
                .args([
                    "generate",
                    "--model",
                    &fixture("tiny-c"),
                    "--prompt",
                    "The boat",
                    "-n",
                    "8",
                ])
                .args(extra),
        )
    };
    let greedy = run(&[]);
    assert!(greedy.starts_with("The boat") && greedy.len() > "The boat\n".len());
    assert_eq!(greedy, run(&[]));
    let sampled = run(&["-t", "1.5", "--top-k", "50", "--seed", "3"]);
    assert_eq!(sampled, run(&["-t", "1.5", "--top-k", "50", "--seed", "3"]));
}

#[test]
fn no_bos_drops_the_leading_token() {
    let tokens = |extra: &[&str]| {
        let j: serde_json::Value = serde_json::from_str(&stdout_of(
            glassbox()
                .args([
                    "inspect",
                    "--json",
                    "--model",
                    &fixture("tiny-a"),
                    "--prompt",
                    "The boats",
                ])
                .args(extra),
        ))
        .unwrap();
        j["tokens"].as_array().unwrap().clone()
    };
    let with = tokens(&[]);
    let without = tokens(&["--no-bos"]);
    assert_eq!(with[0], "<|endoftext|>");
    assert_eq!(&with[1..], &without[..]);
}

#[test]
fn the_tutor_without_a_terminal_says_so_in_one_line() {
    let data = tempfile::tempdir().unwrap();
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "the tutor needs an interactive terminal",
        ))
        .stderr(predicates::str::contains("panicked").not());
}
