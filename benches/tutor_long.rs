//! The tutor on a long prompt: what a learner waits for at 1,024 tokens. The worker's session answers
//! in this thread, so each time below is what the screen waits for: the worker's work, the app's
//! handling of the answers and the drawing of the frame (120 × 36).
//!
//!   cargo bench --bench tutor_long -- [--model PATH] [--tokens 1024] [--runs 5]
//!
//! Rows: the prompt run with the first frame's answers (the selected head's maps, the cursor's
//! logits, the losses); a head switch and a layer switch; a generated token at that context; the
//! heads grid (its thumbnails and the head scores), and again a token later; and the process's peak
//! memory after all of it.
//! The whole process's peak and time to first frame are measured on the binary (BENCHMARKS.md).

mod common;

use std::time::Instant;

use candle_core::Device;
use common::{arg, median, peak_rss_mb};
use glassbox::app::worker::{serve_inline, settle, start_inline, Session};
use glassbox::app::App;
use glassbox::model;
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const WORDS: &str = "the of and to in is that it was for on are as with his they at be this from have or \
     by one had not but what all were when we there can an your which their said if do will each about how \
     up out them then she many some so these would other into has more her two like him see time could no \
     make than first been its who now people my made over did down only way find use may water long little \
     very after words called just where most know get through back much go good new write our me man too \
     any day same right look think also around another came come work three word must because does part";

/// Random common words until the prompt is `tokens` long with the model's BOS (or a token more).
fn prompt(loaded: &model::LoadedModel, tokens: usize) -> String {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut s: u64 = 0x676c_6173;
    let mut text = String::new();
    let len = |t: &str| {
        loaded
            .encode_prompt(t, loaded.codec.prepends_bos())
            .unwrap()
            .len()
    };
    loop {
        // Many words at a time while far from the length, then one at a time.
        let batch = if len(&text) + 64 < tokens { 32 } else { 1 };
        for _ in 0..batch {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(words[(s >> 33) as usize % words.len()]);
        }
        if len(&text) >= tokens {
            return text;
        }
    }
}

/// A key, its requests answered, a frame drawn and what the frame asked for answered: the time the
/// screen waits for (ms).
fn press(
    app: &mut App,
    session: &mut Session,
    terminal: &mut Terminal<TestBackend>,
    code: KeyCode,
) -> f64 {
    let theme = Theme::new(ColorMode::TrueColor);
    let start = Instant::now();
    let requests = app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    serve_inline(app, session, requests).unwrap();
    settle(app, session, |a| {
        terminal
            .draw(|f| f.render_widget(Screen { app: a, theme }, f.area()))
            .unwrap();
    })
    .unwrap();
    terminal
        .draw(|f| f.render_widget(Screen { app, theme }, f.area()))
        .unwrap();
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let tokens: usize = arg("--tokens").map_or(1024, |s| s.parse().unwrap());
    let runs: usize = arg("--runs").map_or(5, |s| s.parse().unwrap());
    let model_arg = arg("--model");
    let loaded = model::load(model_arg.as_deref(), &Device::Cpu).unwrap();
    let name = loaded.files.name.clone();
    let text = prompt(&loaded, tokens);
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
    let theme = Theme::new(ColorMode::TrueColor);

    let start = Instant::now();
    let (mut app, mut session) = start_inline(loaded, &text).unwrap();
    settle(&mut app, &mut session, |a| {
        terminal
            .draw(|f| f.render_widget(Screen { app: a, theme }, f.area()))
            .unwrap();
    })
    .unwrap();
    let first = start.elapsed().as_secs_f64() * 1e3;
    let n = app.n_tokens();
    println!("{name}, {n} tokens, {runs} runs each (median, ms)");
    println!("  prompt run and first frame        {first:9.1}");

    let s = &mut session;
    let t = &mut terminal;
    let heads: Vec<f64> = (0..runs)
        .map(|_| press(&mut app, s, t, KeyCode::Down))
        .collect();
    println!("  head switch                       {:9.1}", median(heads));
    let layers: Vec<f64> = (0..runs)
        .map(|_| press(&mut app, s, t, KeyCode::Char(']')))
        .collect();
    println!("  layer switch                      {:9.1}", median(layers));
    let cursor: Vec<f64> = (0..runs)
        .map(|_| press(&mut app, s, t, KeyCode::Left))
        .collect();
    println!("  cursor move                       {:9.1}", median(cursor));
    let tokens: Vec<f64> = (0..runs)
        .map(|_| press(&mut app, s, t, KeyCode::Char('n')))
        .collect();
    println!(
        "  generated token (context {})    {:9.1}",
        app.n_tokens() - 1,
        median(tokens)
    );
    let grid = press(&mut app, s, t, KeyCode::Char('2'));
    println!("  heads grid (thumbnails, scores)   {grid:9.1}");
    let page: Vec<f64> = (0..runs)
        .map(|_| press(&mut app, s, t, KeyCode::Char(']')))
        .collect();
    println!("  heads grid, next layer            {:9.1}", median(page));
    // Back to one head, a token, and the grid again: its scores need only the new row.
    press(&mut app, s, t, KeyCode::Char('1'));
    press(&mut app, s, t, KeyCode::Char('n'));
    let again = press(&mut app, s, t, KeyCode::Char('2'));
    println!("  heads grid again, a token later   {again:9.1}");
    println!(
        "  peak RSS                          {:9.0} MB",
        peak_rss_mb()
    );
}
