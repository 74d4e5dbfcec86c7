//! Markdown for the lesson pane: headings, emphasis, inline code, lists and code blocks as styled
//! terminal lines (formulas are plain Unicode in the lesson text, e.g. softmax(QKᵀ/√dₖ)V).

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;

pub fn render(text: &str, theme: Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut styles: Vec<Style> = vec![Style::default()];
    let mut list_depth = 0usize;
    let mut ordered: Vec<Option<u64>> = Vec::new();
    let mut in_code_block = false;
    let flush = |spans: &mut Vec<Span<'static>>, lines: &mut Vec<Line<'static>>| {
        if !spans.is_empty() {
            lines.push(Line::from(std::mem::take(spans)));
        }
    };
    for event in Parser::new(text) {
        let style = *styles.last().unwrap_or(&Style::default());
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut spans, &mut lines);
                let s = match level {
                    HeadingLevel::H1 | HeadingLevel::H2 => theme.accent(),
                    _ => Style::default().add_modifier(Modifier::BOLD),
                };
                styles.push(s);
            }
            Event::End(TagEnd::Heading(_)) => {
                styles.pop();
                flush(&mut spans, &mut lines);
            }
            Event::Start(Tag::Emphasis) => styles.push(style.add_modifier(Modifier::ITALIC)),
            Event::Start(Tag::Strong) => styles.push(style.add_modifier(Modifier::BOLD)),
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => {
                styles.pop();
            }
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => {
                flush(&mut spans, &mut lines);
                if list_depth == 0 {
                    lines.push(Line::default());
                }
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut spans, &mut lines);
                list_depth += 1;
                ordered.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                ordered.pop();
                if list_depth == 0 {
                    lines.push(Line::default());
                }
            }
            Event::Start(Tag::Item) => {
                flush(&mut spans, &mut lines);
                let indent = "  ".repeat(list_depth.saturating_sub(1));
                let bullet = match ordered.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ => "• ".to_string(),
                };
                spans.push(Span::styled(format!("{indent}{bullet}"), theme.accent()));
            }
            Event::End(TagEnd::Item) => flush(&mut spans, &mut lines),
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut spans, &mut lines);
                in_code_block = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                lines.push(Line::default());
            }
            Event::Code(code) => spans.push(Span::styled(code.to_string(), code_style(theme))),
            Event::Text(t) if in_code_block => {
                for l in t.lines() {
                    lines.push(Line::styled(format!("  {l}"), code_style(theme)));
                }
            }
            Event::Text(t) => spans.push(Span::styled(t.to_string(), style)),
            Event::SoftBreak => spans.push(Span::raw(" ")),
            Event::HardBreak => flush(&mut spans, &mut lines),
            Event::Rule => {
                flush(&mut spans, &mut lines);
                lines.push(Line::styled("────────", theme.dim()));
            }
            _ => {}
        }
    }
    flush(&mut spans, &mut lines);
    while lines.last().is_some_and(|l| l.spans.is_empty()) {
        lines.pop();
    }
    lines
}

fn code_style(theme: Theme) -> Style {
    theme.accent().remove_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::theme::ColorMode;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn headings_lists_emphasis_and_code() {
        let theme = Theme::new(ColorMode::TrueColor);
        let lines = render(
            "# Title\nSome *soft* and **bold** with `code`.\n\n- one\n- two\n\n1. first\n2. second",
            theme,
        );
        assert_eq!(
            plain(&lines),
            vec![
                "Title",
                "Some soft and bold with code.",
                "",
                "• one",
                "• two",
                "",
                "1. first",
                "2. second"
            ]
        );
        let soft = &lines[1].spans[1];
        assert!(soft.style.add_modifier.contains(Modifier::ITALIC));
        assert!(lines[1].spans[3]
            .style
            .add_modifier
            .contains(Modifier::BOLD));
    }
}
