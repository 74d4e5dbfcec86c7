//! The Lens view's second page (i switches): direct logit attribution at the cursor, for a target
//! the learner picks among the cursor's ten most likely next tokens (t), optionally against a
//! second one (v). The worker computes it ([`Request::Attribution`]); this keeps what was asked and
//! what came back.

use super::worker::{AttributionAnswer, AttributionKey, Request};
use super::{App, View};
use crate::analysis::attribution::Target;
use crate::analysis::predictions::top_k;

/// How many of the cursor's most likely next tokens t and v cycle through: the ten the Next view
/// lists.
pub const CANDIDATES: usize = 10;

/// The Lens view's two pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LensPage {
    #[default]
    Lens,
    Attribution,
}

/// The target as ranks among the cursor's most likely next tokens (0: the most likely), so it
/// follows the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetChoice {
    pub token: usize,
    pub versus: Option<usize>,
}

impl App {
    /// The cursor's most likely next tokens, most likely first (by logit, whatever the temperature).
    pub fn candidates(&self) -> Vec<u32> {
        self.logits_row(self.cursor)
            .map(|row| {
                top_k(&row, CANDIDATES)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the attribution page needs answered now, when it is open on a snapshot.
    pub fn attribution_wanted(&self) -> Option<AttributionKey> {
        let snap = self.snap.as_ref()?;
        if self.view != View::Lens || self.lens_page != LensPage::Attribution {
            return None;
        }
        let ids = self.candidates();
        let token = *ids.get(self.target.token)?;
        let versus = self.target.versus.and_then(|i| ids.get(i).copied());
        Some(AttributionKey {
            version: snap.version,
            pos: self.cursor,
            target: Target { token, versus },
        })
    }

    /// The attribution answer for the page's target at the cursor, if the worker has sent it.
    pub fn attribution_current(&self) -> Option<&AttributionAnswer> {
        let key = self.attribution_wanted()?;
        self.attribution.as_ref().filter(|a| a.key == key)
    }

    /// The request the page still needs, if any (asked once until it is answered).
    pub(super) fn attribution_follow_up(&mut self) -> Option<Request> {
        let key = self.attribution_wanted()?;
        let have = self.attribution.as_ref().is_some_and(|a| a.key == key);
        if have || self.attribution_asked == Some(key) {
            return None;
        }
        self.attribution_asked = Some(key);
        Some(Request::Attribution(key))
    }

    pub(super) fn on_attribution(&mut self, answer: AttributionAnswer) {
        if self.attribution_asked == Some(answer.key) {
            self.attribution_asked = None;
        }
        if answer.data.is_some() && self.in_flight == 0 {
            self.attribution = Some(answer);
        }
    }

    /// i in the Lens view: the logit lens or the attribution page.
    pub(super) fn toggle_lens_page(&mut self) {
        self.lens_page = match self.lens_page {
            LensPage::Lens => LensPage::Attribution,
            LensPage::Attribution => LensPage::Lens,
        };
        self.status = match self.lens_page {
            LensPage::Lens => "Lens: the logit lens (i: direct logit attribution)".into(),
            LensPage::Attribution => {
                "Lens: direct logit attribution (t: target, v: versus, i: back to the lens)".into()
            }
        };
    }

    /// t: the next of the cursor's likely tokens as the target (never the versus token).
    pub(super) fn next_target(&mut self) {
        if !self.on_attribution_page() {
            return;
        }
        let n = self.candidates().len().max(1);
        let mut next = (self.target.token + 1) % n;
        if Some(next) == self.target.versus {
            next = (next + 1) % n;
        }
        self.target.token = next;
    }

    /// v: no second token, then each of the cursor's likely tokens but the target, then none again.
    pub(super) fn next_versus(&mut self) {
        if !self.on_attribution_page() {
            return;
        }
        let n = self.candidates().len();
        let mut next = self.target.versus.map_or(0, |v| v + 1);
        if next == self.target.token {
            next += 1;
        }
        self.target.versus = (next < n).then_some(next);
    }

    fn on_attribution_page(&mut self) -> bool {
        let on = self.view == View::Lens && self.lens_page == LensPage::Attribution;
        if !on {
            self.status =
                "t and v choose the target on the Lens view's attribution page (7, then i)".into();
        }
        on
    }
}
