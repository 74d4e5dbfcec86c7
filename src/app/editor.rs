//! The prompt editor's line: tui-input keeps the text and the cursor (in characters) and does the
//! editing; this maps the keys a shell's line editor understands onto it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::{Input, InputRequest as R};

/// The text being edited and where the cursor is.
#[derive(Debug, Clone, Default)]
pub struct Editor(Input);

impl PartialEq for Editor {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text() && self.cursor() == other.cursor()
    }
}

impl Eq for Editor {}

impl From<&str> for Editor {
    /// `text` with the cursor after its last character.
    fn from(text: &str) -> Self {
        Editor(Input::new(text.to_string()))
    }
}

impl Editor {
    pub fn text(&self) -> &str {
        self.0.value()
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.0.cursor()
    }

    /// Apply an editing key: characters, ← → (Ctrl or Alt: by word), Home/End and Ctrl-A/E,
    /// Backspace/Delete, Ctrl-W and Alt-Backspace (word before), Alt-D (word after), Ctrl-U (to the
    /// start), Ctrl-K (to the end). Other keys are ignored.
    pub fn on_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let request = match key.code {
            KeyCode::Char('a') if ctrl => R::GoToStart,
            KeyCode::Char('e') if ctrl => R::GoToEnd,
            KeyCode::Char('b') if ctrl => R::GoToPrevChar,
            KeyCode::Char('f') if ctrl => R::GoToNextChar,
            KeyCode::Char('w') if ctrl => R::DeletePrevWord,
            KeyCode::Char('k') if ctrl => R::DeleteTillEnd,
            KeyCode::Char('d') if ctrl => R::DeleteNextChar,
            KeyCode::Char('h') if ctrl => R::DeletePrevChar,
            KeyCode::Char('u') if ctrl => return self.delete_to_start(),
            KeyCode::Char('b') if alt => R::GoToPrevWord,
            KeyCode::Char('f') if alt => R::GoToNextWord,
            KeyCode::Char('d') if alt => R::DeleteNextWord,
            KeyCode::Char(_) if ctrl || alt => return,
            KeyCode::Char(c) => R::InsertChar(c),
            KeyCode::Backspace if ctrl || alt => R::DeletePrevWord,
            KeyCode::Backspace => R::DeletePrevChar,
            KeyCode::Delete => R::DeleteNextChar,
            KeyCode::Left if ctrl || alt => R::GoToPrevWord,
            KeyCode::Right if ctrl || alt => R::GoToNextWord,
            KeyCode::Left => R::GoToPrevChar,
            KeyCode::Right => R::GoToNextChar,
            KeyCode::Home => R::GoToStart,
            KeyCode::End => R::GoToEnd,
            _ => return,
        };
        self.0.handle(request);
    }

    /// Ctrl-U: what is before the cursor goes, the cursor lands at the start.
    fn delete_to_start(&mut self) {
        let rest: String = self.text().chars().skip(self.cursor()).collect();
        self.0 = Input::new(rest).with_cursor(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(editor: &mut Editor, keys: &[(KeyCode, KeyModifiers)]) {
        for &(code, mods) in keys {
            editor.on_key(KeyEvent::new(code, mods));
        }
    }

    const NONE: KeyModifiers = KeyModifiers::NONE;
    const CTRL: KeyModifiers = KeyModifiers::CONTROL;
    const ALT: KeyModifiers = KeyModifiers::ALT;

    #[test]
    fn the_usual_line_editing_keys() {
        let mut e = Editor::from("The dog bit the man");
        assert_eq!(e.cursor(), 19);
        keys(&mut e, &[(KeyCode::Char('w'), CTRL)]);
        assert_eq!(e.text(), "The dog bit the ");
        keys(
            &mut e,
            &[(KeyCode::Char('a'), CTRL), (KeyCode::Char('A'), NONE)],
        );
        assert_eq!((e.text(), e.cursor()), ("AThe dog bit the ", 1));
        keys(&mut e, &[(KeyCode::Right, ALT), (KeyCode::Right, CTRL)]);
        assert_eq!(e.cursor(), 9, "two words on: the start of \"bit\"");
        keys(&mut e, &[(KeyCode::Left, CTRL), (KeyCode::Char('u'), CTRL)]);
        assert_eq!((e.text(), e.cursor()), ("dog bit the ", 0));
        keys(
            &mut e,
            &[
                (KeyCode::End, NONE),
                (KeyCode::Left, NONE),
                (KeyCode::Left, NONE),
            ],
        );
        keys(&mut e, &[(KeyCode::Char('k'), CTRL)]);
        assert_eq!(e.text(), "dog bit th");
        keys(&mut e, &[(KeyCode::Home, NONE), (KeyCode::Delete, NONE)]);
        assert_eq!(e.text(), "og bit th");
        keys(&mut e, &[(KeyCode::Char('d'), ALT)]);
        assert_eq!(e.text(), "bit th");
        // Ctrl or Alt with a letter that means nothing here types nothing.
        keys(
            &mut e,
            &[(KeyCode::Char('x'), CTRL), (KeyCode::Char('x'), ALT)],
        );
        assert_eq!(e.text(), "bit th");
    }

    #[test]
    fn the_cursor_counts_characters_not_bytes() {
        let mut e = Editor::from("née 東京");
        assert_eq!(e.cursor(), 6);
        keys(&mut e, &[(KeyCode::Left, NONE), (KeyCode::Backspace, NONE)]);
        assert_eq!((e.text(), e.cursor()), ("née 京", 4));
        keys(&mut e, &[(KeyCode::Char('u'), CTRL)]);
        assert_eq!((e.text(), e.cursor()), ("京", 0));
    }
}
