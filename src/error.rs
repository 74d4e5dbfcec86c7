//! User-facing errors: one line that names the file or value, plus a hint with the fix.
//!
//! Errors travel as `color_eyre::Report`s. A [`Hinted`] error anywhere in the chain carries the fix; `main`
//! prints the chain on one line and the hint on the next.

use std::fmt;

/// An error a user can act on: what went wrong (naming the file or value) and how to fix it.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl Hinted {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// Build an `Err` holding a [`Hinted`] report.
pub fn hinted<T>(message: impl Into<String>, hint: impl Into<String>) -> color_eyre::Result<T> {
    Err(Hinted::new(message, hint).into())
}

/// The whole chain on one line ("loading X: reading Y: cause"), and the first hint found in it.
pub fn one_line(report: &color_eyre::Report) -> (String, Option<String>) {
    let mut parts: Vec<String> = Vec::new();
    for cause in report.chain() {
        // candle errors can span lines (backtraces, shape dumps); keep the first line of each.
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or_default().trim().to_string();
        if !first.is_empty() && !parts.iter().any(|p| p.contains(&first)) {
            parts.push(first);
        }
    }
    let hint = report
        .chain()
        .find_map(|c| c.downcast_ref::<Hinted>())
        .map(|h| h.hint.clone());
    (parts.join(": "), hint)
}
