//! The command line as a user meets it: outputs checked against the transformers references. Bad input
//! (broken model folders and GGUF files, bad arguments and prompts) is tests/hostile_inputs.rs.

mod common;

use std::path::Path;

use assert_cmd::Command;
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

/// A token that is only some bytes of a character is shown by its bytes in the table, never as "�";
/// the JSON keeps TransformerLens' strings.
#[test]
fn tokens_that_split_a_character_are_shown_by_their_bytes() {
    let table = glassbox()
        .args(["inspect", "--prompt", "東 é"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&table.get_output().stdout).into_owned();
    let tokens = stdout.lines().find(|l| l.starts_with("tokens")).unwrap();
    assert!(!tokens.contains('\u{FFFD}'), "{tokens}");
    // 東 is e6 9d b1 and é is c3 a9 in UTF-8: every byte is shown, in order.
    let hex: String = tokens
        .split('⟨')
        .skip(1)
        .map(|t| t.split('⟩').next().unwrap().replace('\u{2009}', ""))
        .collect();
    assert_eq!(hex, "e69db1c3a9", "{tokens}");
    let json = glassbox()
        .args(["inspect", "--json", "--prompt", "東"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert!(
        v["tokens"].to_string().contains('\u{FFFD}'),
        "{}",
        v["tokens"]
    );
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
                ("mlp.hook_pre", vec![1, seq, 4 * d]),
                ("mlp.hook_post", vec![1, seq, 4 * d]),
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

    // Values: every hook in the file that transformers' reference holds (all but GPT-2's MLP
    // hidden layer, tested against hook_mlp_out in tests/inside.rs), each streamed as the pass made
    // it, is transformers' tensor.
    let loaded = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu).unwrap();
    let compared = expect
        .iter()
        .filter(|(n, _)| n != "input_ids" && !n.contains(".mlp.hook_"));
    for (name, _) in compared {
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

/// A real model named by its short name but not downloaded: one line that names it, where it was looked
/// for and the command that gets it, from a command, from `--lesson` and in `lessons list`; a
/// `GLASSBOX_SMOLLM2` that names no file is said as that.
#[test]
fn a_known_model_that_is_not_here_says_how_to_get_it() {
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str], smollm2: Option<&str>| {
        let mut cmd = glassbox();
        cmd.args(args)
            .env("XDG_CACHE_HOME", cache.path())
            .env("XDG_DATA_HOME", cache.path())
            .env_remove("GLASSBOX_CACHE")
            .env_remove("GLASSBOX_SMOLLM2");
        if let Some(v) = smollm2 {
            cmd.env("GLASSBOX_SMOLLM2", v);
        }
        cmd.output().unwrap()
    };
    for args in [
        &["inspect", "--model", "smollm2", "--prompt", "Hi"][..],
        &["--lesson", "real-heads"][..],
    ] {
        let out = run(args, None);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: SmolLM2-135M-Instruct")
                && first.contains("not downloaded")
                && err.contains("tools/fetch_smollm2.sh"),
            "{args:?}: {err}"
        );
    }
    let out = run(&["lessons", "list"], None);
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    let line = list.lines().find(|l| l.contains("real-heads")).unwrap();
    assert!(
        line.contains("not downloaded: tools/fetch_smollm2.sh"),
        "{list}"
    );
    let dir = cache.path().to_str().unwrap();
    let out = run(
        &["inspect", "--model", "smollm2", "--prompt", "Hi"],
        Some(dir),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("GLASSBOX_SMOLLM2=") && err.contains("names no file"),
        "{err}"
    );
}

/// `--chat` on a model without a chat template is refused before the screen opens (here, before the
/// terminal is even looked at), naming the model; a question given twice is refused too.
#[test]
fn the_tutor_refuses_chat_for_a_model_without_a_template() {
    let data = tempfile::tempdir().unwrap();
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .args(["--chat", "What is 2+2?"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "error: glassbox-tiny has no chat template",
        ))
        .stderr(predicates::str::contains("interactive terminal").not());
    let llama = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/llama-a");
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .args(["--model", llama, "--chat"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("llama-a has no chat template"));
    // A GGUF file is asked by its metadata alone, before any weight is read.
    let gguf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gguf/small-f32.gguf"
    );
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .args(["--model", gguf, "--chat"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("has no chat template"));
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .args(["--chat", "q", "--prompt", "p"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("both give the prompt"));
}
