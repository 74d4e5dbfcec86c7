//! What the views ask of the worker beyond the snapshot, and the answers kept for them.
//!
//! A snapshot carries only what is small at any prompt length (tokens, residual norms). A head's
//! n × n map, the heads grid's thumbnails, a position's logits, the losses and the head scores are
//! computed by the worker from its trace when a view needs them: [`App::wants`] says what the
//! screen needs now, [`App::fetches`] asks for what is neither here nor on its way, and the answers
//! wait in a small cache, so memory follows what is on screen, not the model's size.

use std::collections::{HashMap, HashSet, VecDeque};

use super::worker::{Answer, Fetched, Query, Request};
use super::{App, View};
use crate::analysis::heatmap::THUMBNAIL_EXPORT_PX;
use crate::lesson::task::TaskKind;

/// How much the cache keeps before it forgets the oldest answers: a few heads' maps at 1,024
/// tokens (8 MB each) and many logits rows (0.2 MB each).
const CACHE_BYTES: usize = 64 << 20;

/// The answers for one snapshot version, the oldest forgotten first past [`CACHE_BYTES`].
#[derive(Default)]
pub(super) struct FetchCache {
    version: u64,
    answers: HashMap<Query, Result<Answer, String>>,
    order: VecDeque<Query>,
    bytes: usize,
    /// Questions sent and not answered yet, with the version they were asked of.
    asked: HashSet<(u64, Query)>,
}

impl FetchCache {
    pub(super) fn get(&self, version: u64, query: &Query) -> Option<&Result<Answer, String>> {
        (self.version == version)
            .then(|| self.answers.get(query))
            .flatten()
    }

    /// Keep `answer`; past the budget, forget the oldest answers that are not in `keep` (what the
    /// screen needs now).
    fn insert(
        &mut self,
        version: u64,
        query: Query,
        answer: Result<Answer, String>,
        keep: &HashSet<Query>,
    ) {
        if version != self.version {
            self.answers.clear();
            self.order.clear();
            self.bytes = 0;
            self.version = version;
        }
        self.bytes += answer.as_ref().map_or(0, Answer::nbytes);
        if self.answers.insert(query.clone(), answer).is_none() {
            self.order.push_back(query);
        }
        let mut kept = VecDeque::new();
        while self.bytes > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if keep.contains(&old) {
                kept.push_back(old);
                continue;
            }
            if let Some(Ok(a)) = self.answers.remove(&old) {
                self.bytes = self.bytes.saturating_sub(a.nbytes());
            }
        }
        kept.append(&mut self.order);
        self.order = kept;
    }
}

impl App {
    /// What the screen needs from the worker now: the open view's data and the lesson task's.
    pub fn wants(&self) -> Vec<Query> {
        let mut wants = Vec::new();
        if self.snap.is_none() {
            return wants;
        }
        // The worker answers in order: what the view itself draws first.
        let mut scores = false;
        match self.view {
            View::Attention | View::Scores => wants.push(Query::Head {
                layer: self.layer,
                head: self.head,
            }),
            View::Heads => {
                // The thumbnails at the size the last frame drew them; then the head scores, which
                // take a pass over every head's whole pattern (seconds at 1,024 tokens), so they are
                // asked once the thumbnails are here and do not hold them up.
                let thumbs: Vec<Query> = self
                    .hits
                    .borrow()
                    .thumbnails
                    .iter()
                    .map(|&(layer, rows, cols)| Query::Thumbnails { layer, rows, cols })
                    .collect();
                let version = self.snap.as_ref().map_or(0, |s| s.version);
                let drawn = !thumbs.is_empty()
                    && thumbs
                        .iter()
                        .all(|q| self.fetched.borrow().get(version, q).is_some());
                wants.extend(thumbs);
                scores = drawn;
            }
            _ => {}
        }
        // The next-token panel sits beside most views, and the status line reads it; then the
        // losses (an unembedding of every position) and the grid's scores.
        wants.extend([Query::Logits { pos: self.cursor }, Query::Losses]);
        if scores {
            wants.push(Query::HeadScores(self.head_metric));
        }
        // A PNG of the heads grid waits for every layer's thumbnails at the figure's size.
        if self.view == View::Heads && self.export_queued() {
            let px = THUMBNAIL_EXPORT_PX;
            wants.extend((0..self.dims().0).map(|layer| Query::Thumbnails {
                layer,
                rows: px,
                cols: px,
            }));
        }
        if let Some(h) = self.what_if.ablation {
            wants.push(Query::AblatedLogits {
                heads: vec![h],
                pos: self.cursor,
            });
        }
        if let Some(task) = self.lessons.current_step().and_then(|s| s.task.as_ref()) {
            match &task.kind {
                TaskKind::SelectHead { criterion, .. } | TaskKind::AblateHead { criterion } => {
                    wants.push(Query::HeadScores(*criterion))
                }
                TaskKind::CursorOnTopKey { layer, head, .. } => wants.push(Query::Head {
                    layer: *layer,
                    head: *head,
                }),
                TaskKind::HardestToken => wants.push(Query::Losses),
                _ => {}
            }
        }
        let mut seen = HashSet::new();
        wants.retain(|q| seen.insert(q.clone()));
        wants
    }

    /// Requests for what [`App::wants`] lists that is neither answered nor on its way. Called after
    /// every change and every frame (a frame tells the heads grid's thumbnail size).
    pub fn fetches(&mut self) -> Vec<Request> {
        // A prompt, token or pop on its way will replace the snapshot: ask that one instead.
        let Some(version) = self
            .snap
            .as_ref()
            .map(|s| s.version)
            .filter(|_| self.in_flight == 0)
        else {
            return Vec::new();
        };
        let wants = self.wants();
        let mut cache = self.fetched.borrow_mut();
        let mut out = Vec::new();
        for query in wants {
            if cache.get(version, &query).is_none() && cache.asked.insert((version, query.clone()))
            {
                out.push(Request::Fetch { version, query });
            }
        }
        out
    }

    /// Keep an answer for the views, when it is about the snapshot on screen.
    pub(super) fn on_fetched(&mut self, fetched: Fetched) {
        let Fetched {
            version,
            query,
            answer,
        } = fetched;
        let keep: HashSet<Query> = self.wants().into_iter().collect();
        let mut cache = self.fetched.borrow_mut();
        cache.asked.remove(&(version, query.clone()));
        let current = self.snap.as_ref().is_some_and(|s| s.version == version);
        if let (Some(answer), true) = (answer, current) {
            cache.insert(version, query, answer, &keep);
        }
    }

    /// An answer for the snapshot on screen, if it is here.
    pub(super) fn answer(&self, query: &Query) -> Option<Answer> {
        let version = self.snap.as_ref()?.version;
        match self.fetched.borrow().get(version, query)? {
            Ok(a) => Some(a.clone()),
            Err(_) => None,
        }
    }

    /// Why a wanted answer could not be computed, if it could not.
    pub fn fetch_error(&self) -> Option<String> {
        let version = self.snap.as_ref()?.version;
        let cache = self.fetched.borrow();
        self.wants()
            .iter()
            .find_map(|q| cache.get(version, q)?.as_ref().err().cloned())
    }

    /// Whether something the screen needs has been asked for and not answered yet.
    pub fn answers_on_the_way(&self) -> bool {
        let Some(version) = self.snap.as_ref().map(|s| s.version) else {
            return false;
        };
        let cache = self.fetched.borrow();
        self.wants()
            .into_iter()
            .any(|q| cache.asked.contains(&(version, q)))
    }

    /// Whether something the screen needs is still on its way.
    pub fn fetching(&self) -> bool {
        let Some(version) = self.snap.as_ref().map(|s| s.version) else {
            return false;
        };
        let cache = self.fetched.borrow();
        self.wants().iter().any(|q| cache.get(version, q).is_none())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn row(mb: usize) -> Result<Answer, String> {
        Ok(Answer::Row(Arc::new(vec![0.0; mb << 18])))
    }

    /// Past the budget the oldest answers go, never one the screen needs now; another version
    /// starts afresh.
    #[test]
    fn the_cache_forgets_the_oldest_unneeded_answers_and_old_versions() {
        let mut cache = FetchCache::default();
        let q = |pos| Query::Logits { pos };
        let keep: HashSet<Query> = [q(0)].into_iter().collect();
        for pos in 0..6 {
            cache.insert(1, q(pos), row(16), &keep);
        }
        // 6 × 16 MB against 64 MB: the oldest unneeded (1 and 2) went, the needed first stayed.
        assert!(cache.get(1, &q(0)).is_some());
        assert!(cache.get(1, &q(1)).is_none() && cache.get(1, &q(2)).is_none());
        assert!((3..6).all(|p| cache.get(1, &q(p)).is_some()));
        assert!(cache.bytes <= CACHE_BYTES);
        // An error is kept (so it is not asked again) and costs nothing.
        cache.insert(1, Query::Losses, Err("no".into()), &keep);
        assert!(matches!(cache.get(1, &Query::Losses), Some(Err(_))));
        // A new version: nothing of the old one answers.
        cache.insert(2, q(9), row(1), &keep);
        assert!(cache.get(1, &q(0)).is_none() && cache.get(2, &q(0)).is_none());
        assert!(cache.get(2, &q(9)).is_some());
        assert_eq!(cache.bytes, 1 << 20);
    }
}
