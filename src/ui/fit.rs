//! Labels that shorten by words: the most telling of several variants that fits (full, then
//! abbreviated, then dropped), so a label is never cut in the middle of a word or drawn over another.
//!
//! Widths are terminal cells as ratatui counts them (wide characters take two).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Cells `s` takes on screen.
pub fn width(s: &str) -> usize {
    crate::text::cells(s)
}

/// The first of `variants` (most telling first) that fits in `room` cells; `None` when none does,
/// so the caller drops the label.
pub fn pick<S: AsRef<str>>(variants: impl IntoIterator<Item = S>, room: usize) -> Option<S> {
    variants.into_iter().find(|v| width(v.as_ref()) <= room)
}

/// The first of `variants` that fits in `room`, or nothing.
pub fn pick_or_empty(variants: &[impl AsRef<str>], room: usize) -> String {
    pick(variants.iter().map(AsRef::as_ref), room)
        .unwrap_or_default()
        .to_string()
}

/// `s` if it fits in `room`, else its longest run of whole words that fits followed by `…`, else
/// nothing: a sentence abbreviated at a word boundary.
pub fn words(s: &str, room: usize) -> String {
    if width(s) <= room {
        return s.to_string();
    }
    let mut out = String::new();
    for word in s.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if width(&next) + 1 > room {
            break;
        }
        out = next;
    }
    let out = out.trim_end_matches([' ', ',', ';', ':', '·', '(', '—']);
    if out.is_empty() {
        String::new()
    } else {
        format!("{out}…")
    }
}

/// A title that shortens by its own structure: whole, before its parenthesis or its " of …", then
/// by words (`cosine similarity of W_pos rows` → `cosine similarity`).
pub fn title_text(s: &str, room: usize) -> String {
    let before = |sep: &str| s.split(sep).next().unwrap_or(s).to_string();
    pick([s.to_string(), before(" ("), before(" of ")], room).unwrap_or_else(|| words(s, room))
}

/// `s` in lines of at most `room` cells, broken between words (a word longer than a line is the only
/// thing ever split).
pub fn wrap(s: &str, room: usize) -> Vec<String> {
    let room = room.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let joined = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width(&joined) <= room {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_string();
        while width(&rest) > room {
            let cut: String = rest.chars().take(room).collect();
            rest = rest[cut.len()..].to_string();
            lines.push(cut);
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A title line: the first of `heads` that fits (in `head_style`), followed by the first of `tails`
/// that still fits beside it (in `tail_style`); a tail that fits nowhere is dropped, and so is a head.
pub fn title(
    heads: &[impl AsRef<str>],
    head_style: Style,
    tails: &[impl AsRef<str>],
    tail_style: Style,
    room: usize,
) -> Line<'static> {
    let Some(head) = pick(heads.iter().map(AsRef::as_ref), room) else {
        return Line::default();
    };
    let mut spans = vec![Span::styled(head.to_string(), head_style)];
    if let Some(tail) = pick(tails.iter().map(AsRef::as_ref), room - width(head)) {
        spans.push(Span::styled(tail.to_string(), tail_style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_variant_that_fits_is_chosen_or_none() {
        let v = ["Enter/click opens", "Enter opens", "Enter"];
        assert_eq!(pick(v, 40), Some("Enter/click opens"));
        assert_eq!(pick(v, 16), Some("Enter opens"));
        assert_eq!(pick(v, 5), Some("Enter"));
        assert_eq!(pick(v, 4), None);
        assert_eq!(pick_or_empty(&v, 4), "");
        // Widths are cells: a wide character counts twice.
        assert_eq!(width("√dₖ"), 3);
        assert_eq!(width("日本"), 4);
    }

    #[test]
    fn words_are_kept_whole_or_dropped() {
        let s = "cosine similarity of W_pos rows";
        assert_eq!(words(s, 40), s);
        assert_eq!(words(s, 26), "cosine similarity of…");
        assert_eq!(words(s, 20), "cosine similarity…");
        assert_eq!(words(s, 8), "cosine…");
        assert_eq!(
            words(s, 6),
            "",
            "no room for a whole word: dropped, not cut"
        );
        assert_eq!(
            words("a, b", 3),
            "a…",
            "no dangling punctuation before the ellipsis"
        );
    }

    #[test]
    fn titles_lose_their_parenthesis_or_their_of_first() {
        assert_eq!(
            title_text("sinusoidal (Vaswani 2017)", 40),
            "sinusoidal (Vaswani 2017)"
        );
        assert_eq!(title_text("sinusoidal (Vaswani 2017)", 20), "sinusoidal");
        assert_eq!(
            title_text("cosine similarity of W_pos rows", 26),
            "cosine similarity"
        );
        assert_eq!(title_text("cosine similarity of W_pos rows", 10), "cosine…");
    }

    #[test]
    fn wrapping_breaks_between_words() {
        assert_eq!(
            wrap("move the cursor token (Home/End: first/last)", 16),
            ["move the cursor", "token (Home/End:", "first/last)"]
        );
        assert_eq!(wrap("short", 16), ["short"]);
        assert_eq!(wrap("", 16), [""]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
    }

    #[test]
    fn a_title_keeps_its_head_and_shortens_its_tail() {
        let heads = ["blocks.0.attn.hook_pattern  head 0", "L0H0"];
        let tails = ["  rows: queries · columns: keys", "  rows: queries", ""];
        let text = |room| -> String {
            title(&heads, Style::new(), &tails, Style::new(), room)
                .spans
                .iter()
                .map(|s| s.content.to_string())
                .collect()
        };
        assert_eq!(
            text(80),
            "blocks.0.attn.hook_pattern  head 0  rows: queries · columns: keys"
        );
        assert_eq!(
            text(50),
            "blocks.0.attn.hook_pattern  head 0  rows: queries"
        );
        assert_eq!(text(40), "blocks.0.attn.hook_pattern  head 0");
        assert_eq!(text(30), "L0H0  rows: queries");
        assert_eq!(text(3), "");
    }
}
