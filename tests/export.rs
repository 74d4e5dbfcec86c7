//! `glassbox export` as a user meets it: the PNGs are decoded and checked pixel by pixel against the
//! model's own attention weights, and every bad input is one line that leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use candle_core::Device;
use glassbox::analysis::heatmap::attention_pattern;
use glassbox::export::colors::{MASK_FILL, MASK_HATCH};
use glassbox::model::{self, NamesFilter};
use image::RgbImage;
use predicates::prelude::*;

const PROMPT: &str = "Zorva Kelpim went to the park. Zorva";

fn glassbox() -> Command {
    let mut cmd = Command::cargo_bin("glassbox").unwrap();
    cmd.env_remove("GLASSBOX_DEBUG").env("HF_HUB_OFFLINE", "1");
    cmd
}

fn png(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap();
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8()
}

/// Run an export to success; returns the (width, height) it reports.
fn export(args: &[&str]) -> (u32, u32) {
    let out = glassbox().arg("export").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // "wrote PATH (W×H px)"
    let size = text
        .rsplit_once('(')
        .and_then(|(_, s)| s.strip_suffix(" px)\n"))
        .and_then(|s| s.split_once('×'))
        .unwrap_or_else(|| panic!("unexpected output: {text}"));
    (size.0.parse().unwrap(), size.1.parse().unwrap())
}

fn rgb(c: colorous::Color) -> [u8; 3] {
    [c.r, c.g, c.b]
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tol)
}

/// The heatmap's top-left cell and its side in pixels. Row 0 (BOS) can attend only to itself, with
/// weight 1: the first pixel in reading order with the map's top colour is that cell's corner, and the
/// colour runs one cell wide (the next cell of row 0 is masked).
fn locate_plot(img: &RgbImage, top: [u8; 3]) -> (u32, u32, u32) {
    for y in 0..img.height() {
        for x in 0..img.width() {
            if img.get_pixel(x, y).0 == top {
                let mut w = 0;
                while img.get_pixel(x + w, y).0 == top {
                    w += 1;
                }
                return (x, y, w);
            }
        }
    }
    panic!("the top colour {top:?} is nowhere in the image");
}

/// The model's own pattern for one head of PROMPT: the numbers the picture must show.
fn pattern(layer: usize, head: usize) -> glassbox::analysis::heatmap::Heatmap {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let ids = loaded.codec.encode(PROMPT, true).unwrap();
    let trace = loaded
        .model
        .trace(&ids, NamesFilter::parse("blocks.*.attn.hook_pattern"))
        .unwrap();
    let tokens = loaded.codec.token_strs(&ids);
    attention_pattern(trace.capture(), layer, head, &tokens).unwrap()
}

/// Dark pixels (text) inside a rectangle.
fn ink(img: &RgbImage, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            let p = img.get_pixel(x, y).0;
            if u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 3 * 110 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn one_head_shows_the_models_weights_masked_future_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.png");
    let p = path.to_str().unwrap();
    let (w, h) = export(&["--prompt", PROMPT, "--layer", "2", "--head", "3", "-o", p]);
    let img = png(&path);
    assert_eq!((img.width(), img.height()), (w, h), "the reported size");

    let map = pattern(2, 3);
    let n = map.rows as u32;
    let top = rgb(colorous::VIRIDIS.eval_continuous(1.0));
    let (x0, y0, c) = locate_plot(&img, top);
    assert!(c >= 4, "cells of {c} px");
    let center = |row: u32, col: u32| img.get_pixel(x0 + col * c + c / 2, y0 + row * c + c / 2).0;

    // The last query's strongest key, found by the analysis, has that weight's viridis colour.
    let last = map.rows - 1;
    let k = map.argmax_in_row(last).unwrap();
    let weight = map.get(last, k).unwrap();
    let expected = rgb(colorous::VIRIDIS.eval_continuous(f64::from(weight)));
    assert!(
        close(center(n - 1, k as u32), expected, 3),
        "cell ({last}, {k}) weight {weight}: {:?} vs {expected:?}",
        center(n - 1, k as u32)
    );

    // Every cell of the upper-right triangle is the mask's grey or its hatching, which no viridis
    // colour is close to.
    let mut masked = 0;
    for row in 0..n {
        for col in row + 1..n {
            let px = img.get_pixel(x0 + col * c + c / 3, y0 + row * c + c / 3).0;
            assert!(
                px == [MASK_FILL.0, MASK_FILL.1, MASK_FILL.2]
                    || px == [MASK_HATCH.0, MASK_HATCH.1, MASK_HATCH.2],
                "masked cell ({row}, {col}) is {px:?}"
            );
            masked += 1;
        }
    }
    assert!(masked > 0);
    for t in 0..=255 {
        let v = rgb(colorous::VIRIDIS.eval_rational(t, 255));
        assert!(!close(v, [MASK_FILL.0, MASK_FILL.1, MASK_FILL.2], 20));
    }

    // Token labels: ink left of the rows and below the columns.
    let side = n * c;
    assert!(
        ink(&img, 0, y0, x0.saturating_sub(3), y0 + side) > 50,
        "row labels"
    );
    assert!(
        ink(&img, x0, y0 + side + 3, x0 + side, y0 + side + 60) > 50,
        "column labels"
    );
}

#[test]
fn cmap_changes_the_colours_and_scale_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    let args = ["--prompt", PROMPT, "--layer", "0", "--head", "1"];
    let small = export(&[&args[..], &["--cmap", "magma", "-o", a.to_str().unwrap()]].concat());
    let big = export(&[&args[..], &["--scale", "2", "-o", b.to_str().unwrap()]].concat());
    assert!(big.0 as f64 > 1.8 * small.0 as f64 && big.1 as f64 > 1.8 * small.1 as f64);
    assert_eq!((png(&b).width(), png(&b).height()), big);
    // The magma picture has magma's top colour where the viridis one has viridis'.
    locate_plot(&png(&a), rgb(colorous::MAGMA.eval_continuous(1.0)));
    locate_plot(&png(&b), rgb(colorous::VIRIDIS.eval_continuous(1.0)));
}

#[test]
fn grids_of_a_layer_and_of_all_layers_are_larger_than_one_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let one = export(&[
        "--prompt",
        PROMPT,
        "--layer",
        "1",
        "--head",
        "0",
        "-o",
        &path("one.png"),
    ]);
    let layer = export(&["--prompt", PROMPT, "--layer", "1", "-o", &path("layer.png")]);
    let all = export(&[
        "attention",
        "--prompt",
        PROMPT,
        "--all",
        "-o",
        &path("all.png"),
    ]);
    let area = |s: (u32, u32)| u64::from(s.0) * u64::from(s.1);
    assert!(layer.0 > one.0, "{layer:?} vs {one:?}");
    assert!(all.1 > layer.1, "{all:?} vs {layer:?}");
    assert!(area(all) > area(layer));
    assert_eq!(png(Path::new(&path("all.png"))).dimensions(), all);
}

#[test]
fn svg_is_svg_text_with_the_title_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.svg");
    export(&[
        "--prompt",
        PROMPT,
        "--layer",
        "0",
        "--head",
        "2",
        "-o",
        path.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("attention pattern L0H2"));
    assert!(svg.contains("·park"), "token labels with visible spaces");
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}

#[test]
fn values_positions_and_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // 26 tokens: small cells without numbers.
    let prompt = "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park with a dog.";
    let plain = export(&[
        "--prompt",
        prompt,
        "--layer",
        "0",
        "--head",
        "0",
        "-o",
        &path("p.png"),
    ]);
    let values = export(&[
        "--prompt",
        prompt,
        "--layer",
        "0",
        "--head",
        "0",
        "--values",
        "-o",
        &path("v.png"),
    ]);
    assert!(values.0 > plain.0, "cells grow to fit the numbers");
    let (w, _) = export(&["pos", "--positions", "64", "-o", &path("pos.png")]);
    assert!(w > 900, "three panels side by side");
    export(&[
        "probs",
        "--prompt",
        PROMPT,
        "--top",
        "5",
        "-t",
        "0.7",
        "-o",
        &path("probs.svg"),
    ]);
    let svg = std::fs::read_to_string(path("probs.svg")).unwrap();
    assert!(
        svg.contains("temperature 0.7") && svg.contains("entropy"),
        "the title"
    );
    // The model copies the name: " Kelpim"'s first token is among the candidates after "Zorva".
    assert!(svg.contains("“·K"), "{svg}");
}

#[test]
fn export_needs_no_fonts_from_the_system() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let path = home.path().join("map.png");
    let out = glassbox()
        .args(["export", "--prompt", PROMPT, "--layer", "0", "--head", "0"])
        .args(["-o", path.to_str().unwrap()])
        .env("HOME", home.path())
        .env("XDG_DATA_DIRS", empty.path())
        .env("XDG_DATA_HOME", empty.path())
        .env("XDG_CONFIG_HOME", empty.path())
        .env("XDG_CACHE_HOME", empty.path())
        .env("FONTCONFIG_FILE", empty.path().join("none.conf"))
        .env_remove("FONTCONFIG_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = png(&path);
    let (x0, y0, _) = locate_plot(&img, rgb(colorous::VIRIDIS.eval_continuous(1.0)));
    assert!(
        ink(&img, 0, y0, x0.saturating_sub(3), img.height()) > 50,
        "labels drawn"
    );
    assert!(ink(&img, 0, 0, img.width(), y0) > 200, "title drawn");
}

/// Run a failing export in a fresh folder: one error line naming the problem, a hint, and nothing
/// (not even a temporary file) left in the folder.
fn fails_cleanly(args: &[&str], out_name: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let target: PathBuf = dir.path().join(out_name);
    glassbox()
        .arg("export")
        .args(args)
        .args(["-o", target.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("hint:"));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
}

#[test]
fn bad_inputs_are_one_line_errors_that_leave_nothing() {
    let p = ["--prompt", PROMPT];
    fails_cleanly(
        &[&p[..], &["--layer", "9", "--head", "0"]].concat(),
        "m.png",
        "there is no layer 9",
    );
    fails_cleanly(&[&p[..], &["--layer", "9"]].concat(), "m.png", "0–3");
    fails_cleanly(
        &[&p[..], &["--layer", "1", "--head", "4"]].concat(),
        "m.png",
        "there is no head 4",
    );
    fails_cleanly(
        &["--prompt", "", "--layer", "0"],
        "m.png",
        "the prompt is empty",
    );
    fails_cleanly(
        &[&p[..], &["--layer", "0"]].concat(),
        "m.jpg",
        "must end in .png or .svg",
    );
    fails_cleanly(
        &[&p[..], &["--layer", "0"]].concat(),
        "missing/m.png",
        "does not exist",
    );
    fails_cleanly(
        &[&p[..], &["--layer", "0", "--scale", "50"]].concat(),
        "m.png",
        "scale",
    );
    fails_cleanly(
        &["probs", "--prompt", "Zorva", "--position", "7"],
        "m.png",
        "no position 7",
    );
    let long = "the cat sat on the mat. ".repeat(30);
    let tiny = common::fixture_dir("tiny-a");
    fails_cleanly(
        &[
            "--model",
            tiny.to_str().unwrap(),
            "--prompt",
            &long,
            "--layer",
            "0",
        ],
        "m.png",
        "context is 64 tokens",
    );
    let forty = "the cat sat on the mat. ".repeat(6);
    fails_cleanly(
        &[
            "--prompt", &forty, "--layer", "0", "--head", "0", "--values",
        ],
        "m.png",
        "--values needs a map of at most 32",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_folder_is_an_error() {
    // /proc refuses new files even to root, where a chmod-ed folder would not.
    glassbox()
        .args([
            "export",
            "--prompt",
            PROMPT,
            "--layer",
            "0",
            "-o",
            "/proc/glassbox-map.png",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot write /proc/glassbox-map.png",
        ));
    assert!(!Path::new("/proc/glassbox-map.png").exists());
}

#[test]
fn screenshots_picture_every_main_view() {
    let dir = tempfile::tempdir().unwrap();
    let out = glassbox()
        .args([
            "export",
            "screenshots",
            "--width",
            "100",
            "--height",
            "30",
            "-o",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "attention",
        "heads",
        "scores",
        "positions",
        "residual",
        "lens",
        "next",
        "lesson",
    ] {
        let img = png(&dir.path().join(format!("{name}.png")));
        assert_eq!(img.width(), 100 * glassbox::export::screenshot::CELL_W);
        assert_eq!(img.height() % 30, 0, "whole rows of cells");
        // Several colours: text and heatmaps, not a blank screen.
        let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 20, "{name}: {} colours", colours.len());
    }
}

#[test]
fn training_scaling_and_rotary_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // The bundled model's training curve, as SVG so its words can be read back.
    export(&["training", "-o", &path("training.svg")]);
    let svg = std::fs::read_to_string(path("training.svg")).unwrap();
    let log = glassbox::analysis::training::TrainLog::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/glassbox-tiny/train_log.csv"),
    )
    .unwrap();
    let onset = log.induction_onset().unwrap();
    let appears = format!("{} appears (step {})", onset.head, onset.step);
    assert!(svg.contains(&appears), "{appears} not in the figure");
    assert!(svg.contains("held-out text") && svg.contains("uniform guess, ln 2048"));
    // The scaling family, with its fitted laws in the legend.
    export(&["scaling", "-o", &path("scaling.svg")]);
    let svg = std::fs::read_to_string(path("scaling.svg")).unwrap();
    let family = glassbox::analysis::scaling::Family::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/scaling"),
    )
    .unwrap();
    let alpha = family.by_tokens.law.unwrap().alpha;
    assert!(svg.contains(&format!("x^−{alpha:.3}")), "the data law");
    // A rotary model has no W_pos: its angles and the decay of q·k instead.
    let (w, h) = export(&[
        "pos",
        "-m",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/llama-a"),
        "--positions",
        "32",
        "-o",
        &path("rope.png"),
    ]);
    assert!(w > 900 && h > 700, "two maps above two charts: {w}×{h}");
    // Folders without what a figure needs are one line with a hint, and no file.
    fails_cleanly(
        &[
            "training",
            "-m",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-a"),
        ],
        "t.png",
        "has no train_log.csv",
    );
    fails_cleanly(
        &[
            "scaling",
            "--runs",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
        ],
        "s.png",
        "the family needs",
    );
}

#[test]
fn attribution_shows_the_grid_and_the_largest_contributions() {
    use glassbox::analysis::attribution::{attribute_prompt, Target};
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("dla.svg");
    let m = model::load(None, &Device::Cpu).unwrap();
    let ids = m.codec.encode(PROMPT, true).unwrap();
    let park = m.codec.encode(" park", false).unwrap();
    assert_eq!(park.len(), 1);
    let a = attribute_prompt(
        &m.model,
        &ids,
        ids.len() - 1,
        Target {
            token: park[0],
            versus: None,
        },
        None,
    )
    .unwrap();
    export(&[
        "attribution",
        "--prompt",
        PROMPT,
        "--token",
        " park",
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(
        svg.contains("direct logit attribution to logit “·park”"),
        "{}",
        &svg[..400.min(svg.len())]
    );
    assert!(svg.contains("MLP"), "the MLP column is labelled");
    // The bars list the components the analysis ranks first, with their numbers.
    for (c, v) in a.ranked().into_iter().take(3) {
        assert!(
            svg.contains(&format!(">\n{}\n<", c.label())),
            "{} missing",
            c.label()
        );
        let shown = format!("{v:+.3}").replace('-', "−");
        assert!(svg.contains(&shown), "{shown} missing");
    }
    // The difference form names both tokens; a PNG is written at the size it reports.
    let png_path = dir.path().join("dla.png");
    let (w, h) = export(&[
        "attribution",
        "--prompt",
        PROMPT,
        "--token",
        " park",
        "--versus",
        " the",
        "--pos",
        "3",
        "-o",
        png_path.to_str().unwrap(),
    ]);
    let img = png(&png_path);
    assert_eq!((img.width(), img.height()), (w, h));
    fails_cleanly(
        &["attribution", "--prompt", PROMPT, "--position", "99"],
        "m.png",
        "no position 99",
    );
    fails_cleanly(
        &[
            "attribution",
            "--prompt",
            PROMPT,
            "--token",
            " Zorva Kelpim",
        ],
        "m.png",
        "not one",
    );
}
