//! Tutor benchmark: time to draw one frame of each view at 200×60 on the bundled model.
//!
//!   cargo bench --bench tutor
//!
//! Time to first frame of the whole process is measured with hyperfine (see BENCHMARKS.md), since it
//! needs a terminal.

use std::time::Instant;

use candle_core::Device;
use glassbox::app::worker::{serve_inline, settle, start_inline};
use glassbox::app::View;
use glassbox::model;
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let story = "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva saw a dog. ";
    for (label, prompt) in [("short", story.to_string()), ("long", story.repeat(6))] {
        let loaded = model::load(None, &Device::Cpu).unwrap();
        let (mut app, mut session) = start_inline(loaded, &prompt).unwrap();
        let n = app.n_tokens();
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        let theme = Theme::new(ColorMode::TrueColor);
        println!("{label} prompt: {n} tokens");
        for view in View::ALL {
            app.view = view;
            // What the view asks the worker for at both cursor positions drawn below, answered
            // before the timing: a frame's time is the drawing.
            for cursor in [n - 2, n - 1] {
                app.cursor = cursor;
                let follow_ups = app.follow_ups();
                serve_inline(&mut app, &mut session, follow_ups).unwrap();
                settle(&mut app, &mut session, |a| {
                    terminal
                        .draw(|f| f.render_widget(Screen { app: a, theme }, f.area()))
                        .unwrap();
                })
                .unwrap();
            }
            let mut times = Vec::new();
            for i in 0..200 {
                // Move the cursor so per-cursor work is not served from a cache every time.
                app.cursor = (n - 1) - (i % 2);
                let t = Instant::now();
                terminal
                    .draw(|f| f.render_widget(Screen { app: &app, theme }, f.area()))
                    .unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "  {:<10} median {:.3} ms   p95 {:.3} ms",
                view.title(),
                times[times.len() / 2],
                times[times.len() * 95 / 100]
            );
        }
    }
}
