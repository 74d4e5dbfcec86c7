//! The key table: every key of the main view, the action it stands for and its line in the help
//! screen, in one list that both dispatches keys and draws the help.

use ratatui::crossterm::event::KeyCode;

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
    /// Jump to view 1-9, 0 (the index into `View::ALL`).
    ViewJump(usize),
    /// Generate a token; in the Heads view, open the selected head.
    GenerateOrOpen,
    ToggleSampling,
    TemperatureUp,
    TemperatureDown,
    PopToken,
    EditPrompt,
    /// Chat mode on or off: the prompt as a question in the model's chat template.
    ToggleChat,
    Ablate,
    Positions,
    Unscaled,
    Dense,
    CycleMetric,
    Export,
    LessonList,
    StepNext,
    StepPrev,
    Hint,
    /// The open step's own prompt again, after the learner edited it.
    RestorePrompt,
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
        "next / previous view (1-9, 0 jump to one)",
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
            (K::Char('9'), A::ViewJump(8)),
            (K::Char('0'), A::ViewJump(9)),
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
        "c",
        "chat mode: the prompt as a question in the chat template",
        &[(K::Char('c'), A::ToggleChat)],
    ),
    key(
        "a",
        "ablate the selected head: zero its output (what-if)",
        &[(K::Char('a'), A::Ablate)],
    ),
    key(
        "p",
        "positions: learned → zeroed → reversed (what-if)",
        &[(K::Char('p'), A::Positions)],
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
        "Heads: which head score; Training: curve / scaling family",
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
        "R",
        "the lesson step's own prompt again, after an edit",
        &[(K::Char('R'), A::RestorePrompt)],
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
    key("Ctrl-Z", "suspend to the shell; `fg` comes back", &[]),
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
