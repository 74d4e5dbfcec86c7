//! Keys and mouse clicks -> state changes and worker requests. The help screen lists `KEYS`.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::worker::Request;
use super::{App, Overlay, View};
use crate::model::sampling::SamplingConfig;

/// What a key does in the main view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CursorLeft,
    CursorRight,
    CursorFirst,
    CursorLast,
    HeadUp,
    HeadDown,
    LayerPrev,
    LayerNext,
    ViewNext,
    ViewPrev,
    /// Jump to view 1-8 (the index into `View::ALL`).
    ViewJump(usize),
    /// Generate a token; in the Heads view, open the selected head.
    GenerateOrOpen,
    ToggleSampling,
    TemperatureUp,
    TemperatureDown,
    PopToken,
    EditPrompt,
    Ablate,
    Unscaled,
    Dense,
    CycleMetric,
    Export,
    LessonList,
    StepNext,
    StepPrev,
    Hint,
    LessonScrollDown,
    LessonScrollUp,
    Help,
    Quit,
}

/// One line of the help screen and the keys it describes: the one table that both dispatches keys
/// and lists them, so the two cannot drift apart.
pub struct KeyHelp {
    pub keys: &'static str,
    pub what: &'static str,
    pub binds: &'static [(KeyCode, Action)],
}

const fn key(
    keys: &'static str,
    what: &'static str,
    binds: &'static [(KeyCode, Action)],
) -> KeyHelp {
    KeyHelp { keys, what, binds }
}

use Action as A;
use KeyCode as K;

/// Every key, as the help screen shows it.
pub const KEYS: &[KeyHelp] = &[
    key(
        "← → / h l",
        "move the cursor token (Home/End: first/last)",
        &[
            (K::Left, A::CursorLeft),
            (K::Char('h'), A::CursorLeft),
            (K::Right, A::CursorRight),
            (K::Char('l'), A::CursorRight),
            (K::Home, A::CursorFirst),
            (K::End, A::CursorLast),
        ],
    ),
    key(
        "↑ ↓ / k j",
        "choose the head",
        &[
            (K::Up, A::HeadUp),
            (K::Char('k'), A::HeadUp),
            (K::Down, A::HeadDown),
            (K::Char('j'), A::HeadDown),
        ],
    ),
    key(
        "[ ]",
        "choose the layer",
        &[(K::Char('['), A::LayerPrev), (K::Char(']'), A::LayerNext)],
    ),
    key(
        "Tab / Shift-Tab",
        "next / previous view (1-8 jump to one)",
        &[
            (K::Tab, A::ViewNext),
            (K::BackTab, A::ViewPrev),
            (K::Char('1'), A::ViewJump(0)),
            (K::Char('2'), A::ViewJump(1)),
            (K::Char('3'), A::ViewJump(2)),
            (K::Char('4'), A::ViewJump(3)),
            (K::Char('5'), A::ViewJump(4)),
            (K::Char('6'), A::ViewJump(5)),
            (K::Char('7'), A::ViewJump(6)),
            (K::Char('8'), A::ViewJump(7)),
        ],
    ),
    key(
        "Enter / n",
        "generate the next token (Heads: open the selected head)",
        &[
            (K::Enter, A::GenerateOrOpen),
            (K::Char('n'), A::GenerateOrOpen),
        ],
    ),
    key(
        "s",
        "toggle sampling (off: always the most probable token)",
        &[(K::Char('s'), A::ToggleSampling)],
    ),
    key(
        "+ -",
        "raise / lower the temperature",
        &[
            (K::Char('+'), A::TemperatureUp),
            (K::Char('='), A::TemperatureUp),
            (K::Char('-'), A::TemperatureDown),
            (K::Char('_'), A::TemperatureDown),
        ],
    ),
    key(
        "Backspace",
        "remove the last token",
        &[(K::Backspace, A::PopToken)],
    ),
    key(
        "e",
        "edit the prompt (Enter runs it, Esc cancels)",
        &[(K::Char('e'), A::EditPrompt)],
    ),
    key(
        "a",
        "ablate the selected head: zero its output (what-if)",
        &[(K::Char('a'), A::Ablate)],
    ),
    key(
        "u",
        "Scores: remove the 1/√dₖ scaling (what-if)",
        &[(K::Char('u'), A::Unscaled)],
    ),
    key(
        "z",
        "dense heatmap: two query rows per line",
        &[(K::Char('z'), A::Dense)],
    ),
    key(
        "i",
        "Heads: previous-token / first-token / induction score",
        &[(K::Char('i'), A::CycleMetric)],
    ),
    key(
        "x",
        "export the current view as a PNG in this folder",
        &[(K::Char('x'), A::Export)],
    ),
    key("click", "select a token, a head or a heatmap row", &[]),
    key(
        "L",
        "the lesson list (↑↓ choose, Enter opens)",
        &[(K::Char('L'), A::LessonList)],
    ),
    key(
        "> < / PgDn PgUp",
        "next / previous lesson step",
        &[
            (K::Char('>'), A::StepNext),
            (K::PageDown, A::StepNext),
            (K::Char('<'), A::StepPrev),
            (K::PageUp, A::StepPrev),
        ],
    ),
    key(
        "H",
        "show the next hint for the step's task",
        &[(K::Char('H'), A::Hint)],
    ),
    key(
        "J / K",
        "scroll the lesson text down / up",
        &[
            (K::Char('J'), A::LessonScrollDown),
            (K::Char('K'), A::LessonScrollUp),
        ],
    ),
    key("?", "this help", &[(K::Char('?'), A::Help)]),
    key(
        "q / Esc / Ctrl-C",
        "quit",
        &[(K::Char('q'), A::Quit), (K::Esc, A::Quit)],
    ),
];

/// The action a key stands for in the main view, from [`KEYS`].
pub fn action_of(code: KeyCode) -> Option<Action> {
    KEYS.iter()
        .flat_map(|k| k.binds)
        .find(|(c, _)| *c == code)
        .map(|&(_, a)| a)
}

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
        // An overlay takes the keys first; the main view gets them only when nothing covers it.
        match &mut self.overlay {
            Overlay::None => {}
            Overlay::Editing(_) => return self.on_edit_key(key),
            Overlay::Help { scroll } => {
                // ↑ ↓ scroll a help box that does not fit; any other key closes it; q still quits.
                match key.code {
                    KeyCode::Down | KeyCode::Char('j') => {
                        *scroll = (*scroll + 1).min(KEYS.len() as u16)
                    }
                    KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                    code => {
                        self.overlay = Overlay::None;
                        if code == KeyCode::Char('q') {
                            self.quit = true;
                        }
                    }
                }
                return Vec::new();
            }
            Overlay::LessonList(_) => {
                let mut out = self.on_lesson_list_key(key);
                out.extend(self.follow_ups());
                self.check_task();
                return out;
            }
        }
        let Some(action) = action_of(key.code) else {
            return Vec::new();
        };
        let (n_layers, n_heads) = self.dims();
        let mut out = Vec::new();
        match action {
            A::Quit => self.quit = true,
            A::Help => self.overlay = Overlay::Help { scroll: 0 },
            A::CursorLeft => self.move_cursor(self.cursor as isize - 1),
            A::CursorRight => self.move_cursor(self.cursor as isize + 1),
            A::CursorFirst => self.move_cursor(0),
            A::CursorLast => self.move_cursor(isize::MAX / 2),
            A::HeadUp if n_heads > 0 => self.head = (self.head + n_heads - 1) % n_heads,
            A::HeadDown if n_heads > 0 => self.head = (self.head + 1) % n_heads,
            A::LayerPrev if n_layers > 0 => self.layer = (self.layer + n_layers - 1) % n_layers,
            A::LayerNext if n_layers > 0 => self.layer = (self.layer + 1) % n_layers,
            A::ViewNext => self.view = self.view.cycled(true),
            A::ViewPrev => self.view = self.view.cycled(false),
            A::ViewJump(i) => self.view = View::ALL[i.min(View::ALL.len() - 1)],
            A::GenerateOrOpen if self.view == View::Heads && key.code == K::Enter => {
                self.view = View::Attention
            }
            A::GenerateOrOpen => out.extend(self.generate()),
            A::ToggleSampling => {
                self.sampling = !self.sampling;
                self.status = if self.sampling {
                    format!("sampling at temperature {}", self.temperature)
                } else {
                    "greedy: the most probable token".into()
                };
            }
            A::TemperatureUp => self.step_temperature(true),
            A::TemperatureDown => self.step_temperature(false),
            A::PopToken if self.busy.is_none() && self.n_tokens() > 1 => {
                self.busy = Some("removing the last token…".into());
                out.push(Request::Pop);
            }
            A::EditPrompt => self.overlay = Overlay::Editing(self.full_text()),
            A::Ablate => {
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
            A::Unscaled => {
                self.unscaled = !self.unscaled;
                self.status = if self.unscaled {
                    "what-if: scores without 1/√dₖ".into()
                } else {
                    "scores scaled by 1/√dₖ, as the model computes them".into()
                };
            }
            A::Dense => self.dense = !self.dense,
            A::CycleMetric => {
                self.head_metric = self.head_metric.cycled();
                self.status = format!(
                    "Heads view shows each head's {}",
                    self.head_metric.describe()
                );
            }
            A::Export => self
                .effects
                .push(super::Effect::ExportPng { dir: ".".into() }),
            A::LessonList
            | A::StepNext
            | A::StepPrev
            | A::Hint
            | A::LessonScrollDown
            | A::LessonScrollUp => out.extend(self.on_lesson_action(action)),
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
        let Overlay::Editing(buf) = &mut self.overlay else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.overlay = Overlay::None,
            KeyCode::Enter => {
                let text = std::mem::take(buf);
                self.overlay = Overlay::None;
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
        let editing = matches!(self.overlay, Overlay::Editing(_));
        if event.kind != MouseEventKind::Down(MouseButton::Left) || editing {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_means_one_thing_and_the_help_names_it() {
        let codes: Vec<KeyCode> = KEYS.iter().flat_map(|k| k.binds).map(|&(c, _)| c).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(!codes[..i].contains(c), "{c:?} is bound twice");
        }
        // The help line of a key lists it: Esc quits, and the help says so.
        assert_eq!(action_of(KeyCode::Esc), Some(Action::Quit));
        let quit = KEYS
            .iter()
            .find(|k| k.binds.iter().any(|&(_, a)| a == Action::Quit))
            .unwrap();
        assert!(
            quit.keys.contains("Esc") && quit.keys.contains('q'),
            "{}",
            quit.keys
        );
        assert_eq!(action_of(KeyCode::Char('7')), Some(Action::ViewJump(6)));
        assert_eq!(action_of(KeyCode::Char('y')), None);
    }
}
