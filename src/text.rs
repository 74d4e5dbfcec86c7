//! How text from the model looks to a reader: one table of marks for whitespace and control
//! characters, shared by the terminal, the PNG export and `glassbox inspect`, so a newline or a tab
//! looks the same everywhere. Imports nothing of the crate, so every layer may use it.

/// The mark shown for a character a reader could not see, or `None` for one shown as itself.
/// A space is not marked here: tokens mark it ([`visible`]), running text keeps it ([`visible_text`]).
fn mark(c: char) -> Option<char> {
    match c {
        '\n' => Some('⏎'),
        '\t' => Some('→'),
        '\r' => Some('␍'),
        c if c.is_control() => Some('�'),
        _ => None,
    }
}

/// A token as a reader should see it: spaces as `·`, newlines as `⏎`, tabs as `→`, carriage returns
/// as `␍`, other control characters as `�`.
pub fn visible(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            ' ' => '·',
            c => mark(c).unwrap_or(c),
        })
        .collect()
}

/// Running text (a prompt shown in a title) on one line: spaces stay spaces, everything else is
/// marked as in [`visible`].
pub fn visible_text(text: &str) -> String {
    text.chars().map(|c| mark(c).unwrap_or(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_text_share_one_set_of_marks() {
        assert_eq!(visible(" the\n\tx\r\u{7}"), "·the⏎→x␍�");
        assert_eq!(visible_text("a b\n\tc\r\u{7}"), "a b⏎→c␍�");
        assert_eq!(visible("naïve"), "naïve", "other characters are themselves");
    }
}
