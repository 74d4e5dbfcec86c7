//! The tutor drawn without a terminal: the whole screen into ratatui's `TestBackend`, and its text.
#![allow(dead_code)]

use glassbox::app::App;
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

/// Draw `app` on a `w`×`h` screen.
pub fn render(app: &App, mode: ColorMode, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| {
            f.render_widget(
                Screen {
                    app,
                    theme: Theme::new(mode),
                },
                f.area(),
            )
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The symbols of `buf`, a line per row, trailing spaces trimmed.
pub fn text(buf: &Buffer) -> String {
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
