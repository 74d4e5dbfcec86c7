//! How text from the model looks to a reader: one table of marks for whitespace and control
//! characters, shared by the terminal, the PNG export and `glassbox inspect`, so a newline or a tab
//! looks the same everywhere. Imports nothing of the crate, so every layer may use it.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// How many terminal cells `s` takes: two for a wide (CJK) character, none for a combining mark.
pub fn cells(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `width` cells, ending in `…` when cut (a wide character that would straddle
/// the edge goes whole).
pub fn fit_cells(s: &str, width: usize) -> String {
    if cells(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `s` right-aligned in `width` cells (as `format!("{s:>width$}")` would, counting cells, not
/// characters).
pub fn pad_left(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(cells(s))))
}

/// `s` left-aligned in `width` cells.
pub fn pad_right(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(cells(s))))
}

/// One character for a one-cell slot: itself when it takes one cell, `…` for a wide one, `None` for
/// one that takes none (a combining mark).
pub fn one_cell(c: char) -> Option<char> {
    match c.width().unwrap_or(0) {
        0 => None,
        1 => Some(c),
        _ => Some('…'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_terminal_cells() {
        assert_eq!(cells("·the"), 4);
        assert_eq!(cells("日本"), 4, "a CJK character is two cells");
        assert_eq!(fit_cells("日本の首都", 5), "日本…");
        assert_eq!(
            fit_cells("日本の首都", 4),
            "日…",
            "no half of a wide character"
        );
        assert_eq!(fit_cells("short", 9), "short");
        assert_eq!(pad_left("日本", 6), "  日本");
        assert_eq!(pad_right("日本", 6), "日本  ");
        assert_eq!(one_cell('a'), Some('a'));
        assert_eq!(one_cell('本'), Some('…'));
        assert_eq!(one_cell('\u{301}'), None);
    }

    #[test]
    fn tokens_and_text_share_one_set_of_marks() {
        assert_eq!(visible(" the\n\tx\r\u{7}"), "·the⏎→x␍�");
        assert_eq!(visible_text("a b\n\tc\r\u{7}"), "a b⏎→c␍�");
        assert_eq!(visible("naïve"), "naïve", "other characters are themselves");
    }
}
