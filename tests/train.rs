//! `glassbox train` end to end on a tiny configuration: the loss falls, the folder loads and runs, the
//! same seed gives the same losses, and a failed run leaves nothing behind.

use std::path::Path;

use assert_cmd::Command;
use candle_core::Device;
use glassbox::model::NamesFilter;

/// A model small enough to train 40 steps in about a second, even in a debug build.
const TINY: &[&str] = &[
    "--steps",
    "40",
    "--docs",
    "300",
    "--eval-docs",
    "30",
    "--vocab-size",
    "300",
    "--layers",
    "2",
    "--heads",
    "2",
    "--d-model",
    "32",
    "--context",
    "128",
    "--seq-len",
    "128",
    "--batch",
    "8",
    "--warmup",
    "5",
    "--lr",
    "3e-3",
    "--eval-every",
    "10",
    "--eval-windows",
    "16",
];

/// Run `glassbox train --out OUT` with [`TINY`], where `extra` may override any of its options.
fn train(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let base: Vec<&str> = TINY
        .chunks(2)
        .filter(|pair| !extra.contains(&pair[0]))
        .flatten()
        .copied()
        .collect();
    Command::cargo_bin("glassbox")
        .unwrap()
        .env_remove("GLASSBOX_DEBUG")
        .arg("train")
        .arg("--out")
        .arg(out)
        .args(base)
        .args(extra)
        .assert()
}

/// (step, train_loss, heldout_loss, the best previous-token and induction heads and their scores)
/// rows of train_log.csv, as text so comparisons are exact; every column but the timings.
fn loss_columns(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("train_log.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("step,train_loss,heldout_loss,prev_token_head,prev_token_score,induction_head,induction_score,tokens_seen,lr,elapsed_s")
    );
    lines
        .map(|l| l.split(',').take(7).collect::<Vec<_>>().join(","))
        .collect()
}

fn train_losses(dir: &Path) -> Vec<f32> {
    loss_columns(dir)
        .iter()
        .map(|row| row.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn tiny_run_learns_and_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny");
    let run = train(&out, &[]).success();
    // Not a terminal here: progress comes as plain lines, one per evaluation.
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(
        err.contains("step 40/40") && err.contains("held-out"),
        "{err}"
    );

    assert_eq!(entries(tmp.path()), ["tiny"], "no temporary folder left");
    assert_eq!(
        entries(&out),
        [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "train_args.json",
            "train_log.csv"
        ]
    );
    let losses = train_losses(&out);
    assert_eq!(losses.len(), 40);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (first, last) = (mean(&losses[..5]), mean(&losses[35..]));
    // Uniform over 300 tokens is ln 300 ≈ 5.7; unigram statistics alone bring it well under 5.
    assert!(last < first - 0.8, "loss {first} -> {last}");
    let held: Vec<String> = loss_columns(&out)
        .iter()
        .filter_map(|r| {
            r.split(',')
                .nth(2)
                .filter(|s| !s.is_empty())
                .map(String::from)
        })
        .collect();
    assert_eq!(held.len(), 4, "held-out loss every 10 steps");
    // Evaluation rows name the best heads ("L1H0") with a score in [0, 1], the induction head in layer 1
    // (the only layer after the first); the others leave the columns empty.
    for row in loss_columns(&out) {
        let cols: Vec<&str> = row.split(',').collect();
        let evaluated = !cols[2].is_empty();
        for (head, score) in [(cols[3], cols[4]), (cols[5], cols[6])] {
            if evaluated {
                assert!(head.starts_with('L') && head.contains('H'), "{row}");
                let s: f32 = score.parse().unwrap();
                assert!((0.0..=1.0).contains(&s), "{row}");
            } else {
                assert!(head.is_empty() && score.is_empty(), "{row}");
            }
        }
        if evaluated {
            assert!(cols[5].starts_with("L1H"), "{row}");
        }
    }
    assert!(
        err.contains("previous-token L") && err.contains("induction L1H"),
        "{err}"
    );

    let args: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train_args.json")).unwrap())
            .unwrap();
    assert_eq!(args["steps"], 40);
    assert_eq!(args["d_model"], 32);

    let loaded = glassbox::model::load(Some(out.to_str().unwrap()), &Device::Cpu).unwrap();
    let cfg = loaded.model.config();
    assert_eq!(
        (cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.n_ctx),
        (2, 2, 32, 128)
    );
    assert!(cfg.d_vocab <= 300);
    let text = "Once upon a time, Zorvak saw a dog. Ünïcode too!";
    let ids = loaded.codec.encode(text, false).unwrap();
    assert_eq!(loaded.codec.decode(&ids), text, "the tokenizer round-trips");
    let ids = loaded.codec.encode("The cat sat", true).unwrap();
    assert_eq!(ids[0], cfg.bos_token_id.unwrap());
    let trace = loaded.model.trace(&ids, NamesFilter::parse("*")).unwrap();
    assert_eq!(trace.next_logits().dims(), [cfg.d_vocab]);
}

#[test]
fn same_seed_same_losses() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    train(&a, &["--steps", "12"]).success();
    train(&b, &["--steps", "12"]).success();
    train(&c, &["--steps", "12", "--seed", "7"]).success();
    assert_eq!(loss_columns(&a), loss_columns(&b));
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(b.join("model.safetensors")).unwrap()
    );
    assert_ne!(loss_columns(&a), loss_columns(&c));
}

/// `--pos-init sinusoidal` starts W_pos at the scaled sinusoidal encoding; one step of AdamW (at most
/// about lr per element) leaves it close to that start, and far from GPT-2's random start.
#[test]
fn sinusoidal_position_init() {
    let tmp = tempfile::tempdir().unwrap();
    let wpe = |name: &str, extra: &[&str]| -> Vec<Vec<f32>> {
        let out = tmp.path().join(name);
        let mut args = vec!["--steps", "1", "--lr", "1e-4"];
        args.extend_from_slice(extra);
        train(&out, &args).success();
        let loaded = glassbox::model::load(Some(out.to_str().unwrap()), &Device::Cpu).unwrap();
        loaded.model.pos_embed().unwrap().to_vec2::<f32>().unwrap()
    };
    let sinusoid = glassbox::analysis::positions::sinusoidal(128, 32);
    let scale = 0.02 * std::f32::consts::SQRT_2;
    let distance = |w: &[Vec<f32>]| -> f32 {
        w.iter()
            .flatten()
            .zip(&sinusoid.values)
            .map(|(a, b)| (a - b * scale).abs())
            .fold(0.0, f32::max)
    };
    let sinusoidal = wpe("sin", &["--pos-init", "sinusoidal"]);
    assert!(distance(&sinusoidal) < 1e-3, "{}", distance(&sinusoidal));
    let random = wpe("rand", &[]);
    assert!(distance(&random) > 1e-2, "{}", distance(&random));
}

#[test]
fn failures_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let missing_parent = tmp.path().join("no-such-folder").join("out");
    let assert = train(&missing_parent, &[]).failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("no-such-folder"),
        "{stderr}"
    );
    assert!(lines[1].trim_start().starts_with("hint: "), "{stderr}");

    // A bad setting fails before any work.
    train(&tmp.path().join("x"), &["--seq-len", "256"])
        .failure()
        .stderr(predicates::str::contains("--seq-len 256"));
    train(&tmp.path().join("x"), &["--repeat-fraction", "1.5"])
        .failure()
        .stderr(predicates::str::contains("--repeat-fraction 1.5"));
    train(&tmp.path().join("x"), &["--echo-fraction", "0.7"])
        .failure()
        .stderr(predicates::str::contains("leave no room"));
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));

    // An existing folder is kept unless --force, which replaces a folder of training's files whole,
    // and never one holding anything else.
    let out = tmp.path().join("m");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    train(&out, &["--steps", "2"])
        .failure()
        .stderr(predicates::str::contains("already exists"));
    train(&out, &["--steps", "2", "--force"])
        .failure()
        .stderr(predicates::str::contains(
            "keep.txt, which training did not write",
        ));
    assert_eq!(entries(&out), ["keep.txt"]);
    std::fs::remove_file(out.join("keep.txt")).unwrap();
    std::fs::write(out.join("train_log.csv"), "x").unwrap();
    train(&out, &["--steps", "2", "--force"]).success();
    assert!(out.join("model.safetensors").is_file());
    assert_ne!(std::fs::read(out.join("train_log.csv")).unwrap(), b"x");
    assert_eq!(entries(tmp.path()), ["m"]);
}

/// The training forward and backward pass (the model built from a `VarMap`, as `glassbox train` builds
/// it, with the trainer's loss) gives the same loss and gradients as PyTorch on the same weights and
/// batch (tools/make_grad_reference.py): relative error ≤ 1e-4 for each of the five reference gradients.
/// The embeddings' gradients pass back through every op of the pass (the fused cross-entropy, softmax
/// and GELU kernels included), so a wrong backward anywhere shows up in them.
#[test]
fn training_gradients_equal_pytorch() {
    use candle_core::DType;
    use candle_nn::{VarBuilder, VarMap};
    use glassbox::model::{config::HfGpt2Config, Config, Gpt2};

    let dev = Device::Cpu;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-a");
    let hf: HfGpt2Config =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let cfg = Config::from_hf(&hf).unwrap();
    let mut varmap = VarMap::new();
    let model = Gpt2::load(
        VarBuilder::from_varmap(&varmap, DType::F32, &dev),
        &cfg,
        true,
    )
    .unwrap();
    varmap.load(dir.join("model.safetensors")).unwrap();
    let r = candle_core::safetensors::load(dir.join("grads.safetensors"), &dev).unwrap();
    let ids = r["ids"].to_dtype(DType::U32).unwrap(); // [2, 65]: inputs fill the context
    let (b, n) = ids.dims2().unwrap();
    let x = ids.narrow(1, 0, n - 1).unwrap();
    let y = ids.narrow(1, 1, n - 1).unwrap();
    let logits = model.forward_t(&x, true).unwrap(); // [b, n-1, vocab]
    assert_eq!(logits.dims(), &[b, n - 1, cfg.d_vocab]);
    // The trainer's own loss (the fused cross-entropy), so its gradient is checked too.
    let loss = glassbox::train::next_token_loss(&logits, &y).unwrap();
    let want = r["loss"].to_vec1::<f32>().unwrap()[0];
    assert!((loss.to_scalar::<f32>().unwrap() - want).abs() < 1e-5);
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    let mut checked = 0;
    for (name, reference) in r.iter().filter(|(k, _)| k.starts_with("grad.")) {
        let var = &vars[name.trim_start_matches("grad.")];
        let got = grads
            .get(var.as_tensor())
            .expect("a gradient for every weight");
        let diff = (got - reference).unwrap().sqr().unwrap().sum_all().unwrap();
        let norm = reference.sqr().unwrap().sum_all().unwrap();
        let rel = (diff.to_scalar::<f32>().unwrap() / norm.to_scalar::<f32>().unwrap()).sqrt();
        assert!(rel <= 1e-4, "{name}: relative error {rel:e}");
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Killed while training (long before the folder exists) or while saving (the temporary folder is
/// caught as soon as it appears): no temporary folder is left, only nothing or (if the signal came
/// after the rename) the whole model folder, and the process ends by the signal.
#[cfg(unix)]
#[test]
fn a_signal_while_training_or_saving_leaves_nothing_behind() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    for (sig, while_saving) in [(libc::SIGINT, false), (libc::SIGTERM, true)] {
        let mut caught = false;
        // Saving takes a fraction of a second: a run that finishes before the folder is seen is
        // tried again.
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("m");
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
                .arg("train")
                .arg("--out")
                .arg(&out)
                .args(TINY.iter().map(|a| if *a == "40" { "10" } else { a }))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            if while_saving {
                let saving = || {
                    std::fs::read_dir(dir.path()).unwrap().any(|e| {
                        e.unwrap()
                            .file_name()
                            .to_string_lossy()
                            .starts_with(".m.tmp-")
                    })
                };
                while !saving() && child.try_wait().unwrap().is_none() {}
            } else {
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            if child.try_wait().unwrap().is_some() {
                continue; // finished before the signal could be sent
            }
            // SAFETY: kill has no memory preconditions.
            unsafe { libc::kill(child.id() as libc::pid_t, sig) };
            let status = child.wait().unwrap();
            if status.success() {
                continue; // finished between the check above and the signal (a loaded machine)
            }
            assert_eq!(status.signal(), Some(sig), "{status:?}");
            let left: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            match left.as_slice() {
                [] => {}
                [m] if m == "m" => {
                    assert!(
                        out.join("model.safetensors").is_file()
                            && out.join("config.json").is_file()
                    )
                }
                _ => panic!("signal {sig} left {left:?}"),
            }
            caught = true;
            break;
        }
        assert!(
            caught,
            "never caught the run with signal {sig} (saving: {while_saving})"
        );
    }
}
