//! A checkpoint with one NaN (or infinite) weight, as a user meets it: loading names the tensor,
//! inspect and generate stop with one line naming the hook and layer where the NaN first appeared,
//! export draws those cells with their own mark (never the mask's hatching), and the tutor shows them
//! with their own glyph and says where they came from in its status line.
//!
//! The broken checkpoints are copies of the tiny-a fixture with one value of one weight replaced.

mod common;
#[path = "common/screen.rs"]
mod screen;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use candle_core::Device;
use glassbox::app::worker::{Request, Session};
use glassbox::app::App;
use glassbox::export::colors::{MASK_FILL, MASK_HATCH, NAN_FILL};
use glassbox::model::sampling::SamplingConfig;
use glassbox::model::{self, NamesFilter};
use glassbox::ui::theme::{ColorMode, Theme, NAN_GLYPH};
use image::RgbImage;
use ratatui::buffer::Buffer;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tempfile::TempDir;

const PROMPT: &str = "hello world, hello";

/// The first query/key/value weight: the first value feeds head 0's queries.
const C_ATTN: &str = "transformer.h.0.attn.c_attn.weight";

/// A copy of fixture `name` in a temporary folder whose weight `tensor` has `value` at flat index
/// `index` (float32 weights only).
fn poked(name: &str, tensor: &str, index: usize, value: f32) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture_dir(name);
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap();
        if file != "model.safetensors" {
            std::fs::copy(&path, dir.path().join(file)).unwrap();
        }
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let (_, dtype, _, data) = owned
        .iter_mut()
        .find(|(n, ..)| n == tensor)
        .unwrap_or_else(|| panic!("{name} has no {tensor}"));
    assert_eq!(*dtype, Dtype::F32);
    data[index * 4..index * 4 + 4].copy_from_slice(&value.to_le_bytes());
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    dir
}

/// tiny-a with a NaN in the first query weight.
fn nan_model() -> TempDir {
    poked("tiny-a", C_ATTN, 0, f32::NAN)
}

fn glassbox() -> Command {
    let mut cmd = Command::cargo_bin("glassbox").unwrap();
    cmd.env_remove("GLASSBOX_DEBUG").env("HF_HUB_OFFLINE", "1");
    cmd
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = glassbox().args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A failure that is the warning, one error line naming `hook`, and its hint; nothing else.
fn assert_not_a_number_error(r: &Run, hook: &str) {
    assert!(!r.ok, "must fail: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].starts_with(&format!(
            "error: the model's output is not a number: {hook} is the first activation with"
        )),
        "{}",
        r.stderr
    );
    for bad in [
        "panicked",
        "NaN%",
        "entropy",
        "negative, too large",
        "RUST_BACKTRACE",
    ] {
        assert!(!r.stderr.contains(bad), "{bad} in {}", r.stderr);
        assert!(!r.stdout.contains(bad), "{bad} in {}", r.stdout);
    }
    assert!(lines
        .iter()
        .all(|l| l.starts_with("warning:") || l.starts_with("error:") || l.starts_with("  hint:")));
}

#[test]
fn loading_warns_naming_the_weight() {
    let dir = nan_model();
    let r = run(&[
        "inspect",
        "--model",
        path_str(dir.path()),
        "--prompt",
        PROMPT,
    ]);
    assert!(
        r.stderr
            .contains(&format!("warning: weight {C_ATTN} has 1 NaN value\n")),
        "{}",
        r.stderr
    );
    // The same through the library: the warning is data on the loaded model.
    let loaded = model::load(Some(path_str(dir.path())), &Device::Cpu).unwrap();
    let names: Vec<&str> = loaded.bad_weights.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, [C_ATTN]);

    let intact = run(&[
        "inspect",
        "--model",
        path_str(&common::fixture_dir("tiny-a")),
        "--prompt",
        PROMPT,
    ]);
    assert!(intact.ok, "{}", intact.stderr);
    assert!(!intact.stderr.contains("warning"), "{}", intact.stderr);
    assert!(intact.stdout.contains('%') && intact.stdout.contains("entropy"));
}

#[test]
fn inspect_names_the_hook_and_layer_where_nan_first_appeared() {
    let dir = nan_model();
    let m = path_str(dir.path());
    let r = run(&["inspect", "--model", m, "--prompt", PROMPT]);
    assert_not_a_number_error(&r, "blocks.0.attn.hook_q (layer 0)");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let json = run(&["inspect", "--model", m, "--prompt", PROMPT, "--json"]);
    assert_not_a_number_error(&json, "blocks.0.attn.hook_q (layer 0)");
    assert!(json.stdout.is_empty(), "no half report: {}", json.stdout);
}

/// Where the first non-finite value shows up depends on the weight, and the search follows it.
#[test]
fn the_first_hook_follows_the_broken_weight() {
    let cases = [
        // The MLP of block 1: its hidden layer, before the activation, is the first hook after c_fc.
        (
            "transformer.h.1.mlp.c_fc.weight",
            f32::NAN,
            "blocks.1.mlp.hook_pre (layer 1) is the first activation with NaN",
        ),
        // Position 0's learned embedding: +∞ from the first position.
        (
            "transformer.wpe.weight",
            f32::INFINITY,
            "hook_pos_embed is the first activation with infinity (1 of",
        ),
    ];
    for (tensor, value, expected) in cases {
        let dir = poked("tiny-a", tensor, 0, value);
        let r = run(&[
            "inspect",
            "--model",
            path_str(dir.path()),
            "--prompt",
            PROMPT,
        ]);
        assert!(!r.ok);
        assert!(r.stderr.contains(expected), "{tensor}: {}", r.stderr);
        assert!(r
            .stderr
            .contains(&format!("warning: weight {tensor} has 1 ")));
    }
}

/// A NaN in the unembedding row of a token the prompt does not use: every activation is a number,
/// only that token's logit is not.
#[test]
fn a_nan_only_in_the_logits_is_found_there() {
    let loaded = model::load(Some(path_str(&common::fixture_dir("tiny-a"))), &Device::Cpu).unwrap();
    let cfg = loaded.model.config().clone();
    let ids = loaded.codec.encode(PROMPT, true).unwrap();
    let unused = (0..cfg.d_vocab as u32)
        .rev()
        .find(|t| !ids.contains(t))
        .unwrap();
    // tiny-a ties its unembedding to wte [d_vocab, d_model].
    let dir = poked(
        "tiny-a",
        "transformer.wte.weight",
        unused as usize * cfg.d_model,
        f32::NAN,
    );
    let broken = model::load(Some(path_str(dir.path())), &Device::Cpu).unwrap();
    let trace = broken
        .model
        .trace(&ids, NamesFilter::names::<&str>(&[]))
        .unwrap();
    let at = trace.non_finite().expect("the logits are not all numbers");
    assert_eq!((at.hook.as_str(), at.layer), ("logits", None));
    assert_eq!(
        (at.count.nan, at.count.inf),
        (ids.len(), 0),
        "one logit per position"
    );
}

#[test]
fn generate_refuses_to_choose_from_nan_greedy_or_sampled() {
    let dir = nan_model();
    let m = path_str(dir.path());
    for extra in [&[][..], &["--temperature", "1", "--seed", "3"][..]] {
        let mut args = vec!["generate", "--model", m, "--prompt", PROMPT];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_not_a_number_error(&r, "blocks.0.attn.hook_q (layer 0)");
        assert!(!r.stdout.contains("<|endoftext|>"), "{}", r.stdout);
    }
}

fn png(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap();
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8()
}

fn export_head(model: &Path, out: &Path) -> Run {
    let args = [
        "export",
        "--model",
        path_str(model),
        "--prompt",
        PROMPT,
        "--layer",
        "0",
        "--head",
        "0",
        "-o",
        path_str(out),
    ];
    run(&args)
}

const MAGENTA: [u8; 3] = [NAN_FILL.0, NAN_FILL.1, NAN_FILL.2];

fn count(img: &RgbImage, color: [u8; 3]) -> usize {
    img.pixels().filter(|p| p.0 == color).count()
}

#[test]
fn export_marks_nan_cells_apart_from_the_mask() {
    let dir = nan_model();
    let out = tempfile::tempdir().unwrap();
    let path: PathBuf = out.path().join("nan.png");
    let r = export_head(dir.path(), &path);
    assert!(r.ok, "the figure is still drawn: {}", r.stderr);
    assert!(
        r.stderr.contains(
            "warning: the model's output is not a number: blocks.0.attn.hook_q (layer 0)"
        ),
        "{}",
        r.stderr
    );
    let img = png(&path);

    // Head 0 of layer 0 reads the NaN query: every visible cell is NaN. Cell (0, 0) is the first
    // magenta pixel in reading order, and its run is one cell wide (cell (0, 1) is masked).
    let (x0, y0, c) = (0..img.height())
        .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .find(|&(x, y)| img.get_pixel(x, y).0 == MAGENTA)
        .map(|(x, y)| {
            let w = (x..img.width())
                .take_while(|&xx| img.get_pixel(xx, y).0 == MAGENTA)
                .count() as u32;
            (x, y, w)
        })
        .expect("magenta cells");
    assert!(c >= 8, "cells of {c} px");
    let n = glassbox::model::load(Some(path_str(dir.path())), &Device::Cpu)
        .unwrap()
        .codec
        .encode(PROMPT, true)
        .unwrap()
        .len() as u32;
    for row in 0..n {
        for col in 0..n {
            let (x, y) = (x0 + col * c, y0 + row * c);
            if col <= row {
                // Magenta at the cell's edge, and the cross's dark ink at its centre.
                assert_eq!(img.get_pixel(x + 2, y + c / 2).0, MAGENTA, "({row}, {col})");
                let mid = img.get_pixel(x + c / 2, y + c / 2).0;
                assert!(
                    mid.iter().map(|&v| u32::from(v)).sum::<u32>() < 200,
                    "{mid:?}"
                );
            } else {
                let px = img.get_pixel(x + c / 3, y + c / 3).0;
                assert!(
                    px == [MASK_FILL.0, MASK_FILL.1, MASK_FILL.2]
                        || px == [MASK_HATCH.0, MASK_HATCH.1, MASK_HATCH.2],
                    "masked cell ({row}, {col}) is {px:?}"
                );
            }
        }
    }

    // The intact model's figure has no magenta at all: the legend's key comes with NaN cells only.
    let ok_path = out.path().join("ok.png");
    let ok = export_head(&common::fixture_dir("tiny-a"), &ok_path);
    assert!(ok.ok && !ok.stderr.contains("warning"), "{}", ok.stderr);
    assert_eq!(count(&png(&ok_path), MAGENTA), 0);
}

#[test]
fn export_probs_refuses_nan_probabilities() {
    let dir = nan_model();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("p.png");
    let args = [
        "export",
        "probs",
        "--model",
        path_str(dir.path()),
        "--prompt",
        PROMPT,
        "-o",
        path_str(&path),
    ];
    let r = run(&args);
    assert_not_a_number_error(&r, "blocks.0.attn.hook_q (layer 0)");
    assert!(!path.exists(), "no file is left behind");
}

/// The tutor's screen at 120×40.
fn render(app: &App, mode: ColorMode) -> Buffer {
    screen::render(app, mode, 120, 40)
}

fn tutor(model: &Path) -> (App, Session) {
    let loaded = model::load(Some(path_str(model)), &Device::Cpu).unwrap();
    glassbox::app::worker::start_inline(loaded, PROMPT).unwrap()
}

#[test]
fn the_tutor_draws_nan_cells_with_their_own_glyph_and_names_the_hook() {
    let dir = nan_model();
    let (mut app, mut session) = tutor(dir.path());
    let hit_cells = |app: &App, buf: &Buffer| -> Vec<(String, ratatui::style::Color)> {
        let hit = app.hits.borrow().heatmap.expect("the heatmap was placed");
        let line = hit.area.y + (app.cursor - hit.row0) as u16;
        (hit.area.x..hit.area.x + 4)
            .map(|x| (buf[(x, line)].symbol().to_string(), buf[(x, line)].bg))
            .collect()
    };
    let theme = Theme::new(ColorMode::TrueColor);
    let buf = render(&app, ColorMode::TrueColor);
    let screen = screen::text(&buf);
    // Layer 0, head 0 (the view opens there) reads the NaN query: the cursor row is all NaN.
    for (symbol, bg) in hit_cells(&app, &buf) {
        assert_eq!(symbol, NAN_GLYPH.to_string());
        assert_eq!(bg, theme.not_a_number());
        assert_ne!(bg, theme.masked());
    }
    assert!(
        screen.contains("not a number (NaN/∞)"),
        "the legend: {screen}"
    );
    let status = screen.lines().last().unwrap();
    assert!(
        status.contains("not a number from blocks.0.attn.hook_q (layer 0), position 0"),
        "{status}"
    );

    let mono = render(&app, ColorMode::Mono);
    for (symbol, _) in hit_cells(&app, &mono) {
        assert_eq!(symbol, NAN_GLYPH.to_string());
    }
    assert!(
        screen::text(&mono).contains('·'),
        "the mask keeps its own glyph"
    );

    // The next-token view shows no "NaN" probabilities and no entropy of 0 bits.
    let _ = app.on_key(ratatui::crossterm::event::KeyEvent::from(
        ratatui::crossterm::event::KeyCode::Char('8'),
    ));
    let next = screen::text(&render(&app, ColorMode::TrueColor));
    assert!(next.contains("not numbers"), "{next}");
    assert!(
        !next.contains("NaN ") && !next.contains("entropy"),
        "{next}"
    );

    // Generating refuses with the hook's name, not the sampler's complaint.
    for temperature in [0.0, 1.0] {
        let config = SamplingConfig {
            temperature,
            ..SamplingConfig::default()
        };
        let Err(e) = session.handle(Request::Generate(config)) else {
            panic!("generating from NaN must fail");
        };
        let (line, _) = glassbox::error::one_line(&e);
        assert!(
            line.contains("not a number: blocks.0.attn.hook_q (layer 0)"),
            "{line}"
        );
    }
}

#[test]
fn the_tutor_shows_the_weight_warning_and_an_intact_model_shows_none() {
    // A NaN in the position embedding of position 60, which a short prompt never reaches: every
    // number shown is right, and the status line still names the broken weight.
    let d_model = 64;
    let dir = poked("tiny-a", "transformer.wpe.weight", 60 * d_model, f32::NAN);
    let (app, _) = tutor(dir.path());
    assert!(app.snap.as_ref().unwrap().non_finite.is_none());
    let screen = screen::text(&render(&app, ColorMode::TrueColor));
    let status = screen.lines().last().unwrap();
    assert!(
        status.contains("weight transformer.wpe.weight has 1 NaN value"),
        "{status}"
    );
    assert!(!screen.contains(NAN_GLYPH), "{screen}");

    let (ok, _) = tutor(&common::fixture_dir("tiny-a"));
    let screen = screen::text(&render(&ok, ColorMode::TrueColor));
    assert!(!screen.contains(NAN_GLYPH), "{screen}");
    assert!(!screen.contains("not a number"), "{screen}");
}

/// The same through a GGUF file (Llama family): its weight is named as Hugging Face names it.
#[test]
fn a_gguf_file_with_a_nan_weight_warns_and_names_the_hook() {
    use candle_core::quantized::gguf_file::Content;
    use candle_core::quantized::GgmlDType;

    let src = common::fixture_dir("gguf").join("small-f32.gguf");
    let mut bytes = std::fs::read(&src).unwrap();
    let content = Content::read(&mut std::io::Cursor::new(&bytes)).unwrap();
    let info = &content.tensor_infos["blk.0.attn_q.weight"];
    assert_eq!(info.ggml_dtype, GgmlDType::F32);
    let at = content.tensor_data_offset as usize + info.offset as usize;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nan.gguf");
    std::fs::write(&file, bytes).unwrap();

    let r = run(&["inspect", "--model", path_str(&file), "--prompt", PROMPT]);
    assert!(
        r.stderr
            .contains("warning: weight model.layers.0.self_attn.q_proj.weight has 1 NaN value\n"),
        "{}",
        r.stderr
    );
    assert_not_a_number_error(&r, "blocks.0.attn.hook_q (layer 0)");
}

/// A dump keeps the values as the model computed them (NaN included: it may be what the user came
/// to look at) and says which hook in the file first held one; an intact model's dump says nothing,
/// its masked scores (−∞ by TransformerLens' convention) included.
#[test]
fn dump_names_the_first_hook_in_the_file_that_is_not_a_number() {
    let dir = nan_model();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("d.safetensors");
    let args = [
        "dump",
        "--model",
        path_str(dir.path()),
        "--prompt",
        PROMPT,
        "-o",
        path_str(&path),
    ];
    let r = run(&args);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: blocks.0.attn.hook_q is the first hook in the file with NaN"),
        "{}",
        r.stderr
    );
    assert!(path.is_file());
    let ok = common::fixture_dir("tiny-a");
    let r = run(&[
        "dump",
        "--model",
        path_str(&ok),
        "--prompt",
        PROMPT,
        "-o",
        path_str(&path),
    ]);
    assert!(r.ok && !r.stderr.contains("warning"), "{}", r.stderr);
}
