//! Labels that fit: widths in terminal cells as ratatui counts them (wide characters take two).

use ratatui::text::Span;

/// Cells `s` takes on screen.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_cells() {
        assert_eq!(width("√dₖ"), 3);
        assert_eq!(width("日本"), 4);
    }
}
