//! Keys and mouse clicks -> state changes and worker requests. The help screen lists `KEYS`.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::worker::Request;
use super::{App, View};
use crate::model::sampling::SamplingConfig;

/// Every key, as the help screen shows it.
pub const KEYS: &[(&str, &str)] = &[
    ("← → / h l", "move the cursor token (Home/End: first/last)"),
    ("↑ ↓ / k j", "choose the head"),
    ("[ ]", "choose the layer"),
    ("Tab / Shift-Tab", "next / previous view (1-8 jump to one)"),
    (
        "Enter / n",
        "generate the next token (Heads: open the selected head)",
    ),
    ("s", "toggle sampling (off: always the most probable token)"),
    ("+ -", "raise / lower the temperature"),
    ("Backspace", "remove the last token"),
    ("e", "edit the prompt (Enter runs it, Esc cancels)"),
    ("a", "ablate the selected head: zero its output (what-if)"),
    ("u", "Scores: remove the 1/√dₖ scaling (what-if)"),
    ("z", "dense heatmap: two query rows per line"),
    ("i", "Heads: previous-token / first-token / induction score"),
    ("x", "export the current view as a PNG in this folder"),
    ("click", "select a token, a head or a heatmap row"),
    ("L", "the lesson list (↑↓ choose, Enter opens)"),
    ("> < / PgDn PgUp", "next / previous lesson step"),
    ("H", "show the next hint for the step's task"),
    ("J / K", "scroll the lesson text down / up"),
    ("?", "this help"),
    ("q / Ctrl-C", "quit"),
];

const TEMPERATURES: &[f32] = &[0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0];

impl App {
    /// Handle one key press; returns what the worker must do (effects wait in [`App::take_effects`]).
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
            self.quit = true;
            return Vec::new();
        }
        if self.editing.is_some() {
            return self.on_edit_key(key);
        }
        if self.help {
            // ↑ ↓ scroll a help box that does not fit; any other key closes it; q still quits.
            match key.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    self.help_scroll = (self.help_scroll + 1).min(KEYS.len() as u16)
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                code => {
                    self.help = false;
                    self.help_scroll = 0;
                    if code == KeyCode::Char('q') {
                        self.quit = true;
                    }
                }
            }
            return Vec::new();
        }
        if let Some(mut out) = self.on_lesson_key(key) {
            out.extend(self.follow_ups());
            self.check_task();
            return out;
        }
        let (n_layers, n_heads) = self.dims();
        let mut out = Vec::new();
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Left | KeyCode::Char('h') => self.move_cursor(self.cursor as isize - 1),
            KeyCode::Right | KeyCode::Char('l') => self.move_cursor(self.cursor as isize + 1),
            KeyCode::Home => self.move_cursor(0),
            KeyCode::End => self.move_cursor(isize::MAX / 2),
            KeyCode::Up | KeyCode::Char('k') if n_heads > 0 => {
                self.head = (self.head + n_heads - 1) % n_heads
            }
            KeyCode::Down | KeyCode::Char('j') if n_heads > 0 => {
                self.head = (self.head + 1) % n_heads
            }
            KeyCode::Char('[') if n_layers > 0 => {
                self.layer = (self.layer + n_layers - 1) % n_layers
            }
            KeyCode::Char(']') if n_layers > 0 => self.layer = (self.layer + 1) % n_layers,
            KeyCode::Tab => self.view = self.view.cycled(true),
            KeyCode::BackTab => self.view = self.view.cycled(false),
            KeyCode::Char(c @ '1'..='8') => {
                self.view = View::ALL[c as usize - '1' as usize];
            }
            KeyCode::Enter if self.view == View::Heads => self.view = View::Attention,
            KeyCode::Enter | KeyCode::Char('n') => out.extend(self.generate()),
            KeyCode::Char('s') => {
                self.sampling = !self.sampling;
                self.status = if self.sampling {
                    format!("sampling at temperature {}", self.temperature)
                } else {
                    "greedy: the most probable token".into()
                };
            }
            KeyCode::Char('+') | KeyCode::Char('=') => self.step_temperature(true),
            KeyCode::Char('-') | KeyCode::Char('_') => self.step_temperature(false),
            KeyCode::Backspace if self.busy.is_none() && self.n_tokens() > 1 => {
                self.busy = Some("removing the last token…".into());
                out.push(Request::Pop);
            }
            KeyCode::Char('e') => self.editing = Some(self.full_text()),
            KeyCode::Char('a') => {
                let selected = (self.layer, self.head);
                self.ablation = if self.ablation == Some(selected) {
                    self.status = "ablation off".into();
                    None
                } else {
                    self.status = format!(
                        "L{}H{} ablated: its output is zeroed",
                        selected.0, selected.1
                    );
                    Some(selected)
                };
            }
            KeyCode::Char('u') => {
                self.unscaled = !self.unscaled;
                self.status = if self.unscaled {
                    "what-if: scores without 1/√dₖ".into()
                } else {
                    "scores scaled by 1/√dₖ, as the model computes them".into()
                };
            }
            KeyCode::Char('z') => self.dense = !self.dense,
            KeyCode::Char('i') => {
                self.head_metric = self.head_metric.cycled();
                self.status = format!(
                    "Heads view shows each head's {}",
                    self.head_metric.describe()
                );
            }
            KeyCode::Char('x') => self
                .effects
                .push(super::Effect::ExportPng { dir: ".".into() }),
            _ => {}
        }
        out.extend(self.follow_ups());
        self.check_task();
        out
    }

    fn generate(&mut self) -> Vec<Request> {
        if self.busy.is_some() || self.snap.is_none() {
            return Vec::new();
        }
        let n_ctx = self.info.as_ref().map_or(0, |i| i.config.n_ctx);
        if self.n_tokens() >= n_ctx {
            self.error = Some(format!(
                "the context is full ({n_ctx} tokens): remove tokens with Backspace"
            ));
            return Vec::new();
        }
        self.busy = Some("generating…".into());
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        vec![Request::Generate(SamplingConfig {
            temperature: if self.sampling {
                f64::from(self.temperature)
            } else {
                0.0
            },
            top_k: None,
            top_p: None,
            seed: self.seed,
        })]
    }

    fn step_temperature(&mut self, up: bool) {
        let t = self.temperature;
        self.temperature = if up {
            TEMPERATURES.iter().copied().find(|&x| x > t + 1e-6)
        } else {
            TEMPERATURES.iter().rev().copied().find(|&x| x < t - 1e-6)
        }
        .unwrap_or(t);
        self.status = format!("temperature {}", self.temperature);
    }

    fn on_edit_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let Some(buf) = self.editing.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.editing = None,
            KeyCode::Enter => {
                let text = std::mem::take(buf);
                self.editing = None;
                self.prompt = text.clone();
                self.prompt_len = 0; // the next snapshot is all prompt
                self.busy = Some("running the prompt…".into());
                return vec![Request::Prompt(text)];
            }
            KeyCode::Backspace => {
                buf.pop();
            }
            KeyCode::Char(c) => buf.push(c),
            _ => {}
        }
        Vec::new()
    }

    /// Handle a mouse event: a left click selects a tab, a token, a head or a heatmap row.
    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Request> {
        if event.kind != MouseEventKind::Down(MouseButton::Left) || self.editing.is_some() {
            return Vec::new();
        }
        let (x, y) = (event.column, event.row);
        let inside = |r: &ratatui::layout::Rect| {
            x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height
        };
        let hits = self.hits.borrow().clone();
        if let Some((_, view)) = hits.tabs.iter().find(|(r, _)| inside(r)) {
            self.view = *view;
        } else if let Some((_, i)) = hits.tokens.iter().find(|(r, _)| inside(r)) {
            self.move_cursor(*i as isize);
        } else if let Some((_, l, h)) = hits.heads.iter().find(|(r, _, _)| inside(r)) {
            self.select_head(*l, *h);
            self.view = View::Attention;
        } else if let Some(hit) = hits.heatmap.filter(|h| inside(&h.area)) {
            let line = usize::from(y - hit.area.y);
            self.move_cursor((hit.row0 + line * hit.rows_per_line) as isize);
        }
        let out = self.follow_ups();
        self.check_task();
        out
    }
}
