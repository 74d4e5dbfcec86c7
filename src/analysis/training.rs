//! A training run as `glassbox train` logs it (`train_log.csv`): the loss curve, the held-out loss,
//! and the step where the induction head appears.

use std::path::Path;

use serde::Deserialize;

/// One row of `train_log.csv`, as `glassbox train` writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogRow {
    /// 1-based.
    pub step: usize,
    /// The loss on this step's batch (nats per token).
    pub train_loss: f32,
    /// On evaluation steps only: the loss on held-out text.
    pub heldout_loss: Option<f32>,
    /// On evaluation steps only: the best previous-token head ("L1H1") and its score.
    pub prev_token_head: Option<String>,
    pub prev_token_score: Option<f32>,
    /// On evaluation steps only: the best induction head and its score.
    pub induction_head: Option<String>,
    pub induction_score: Option<f32>,
    /// Tokens trained on so far, this step's included.
    pub tokens_seen: u64,
    pub elapsed_s: f64,
}

/// A whole log, in step order.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainLog {
    pub rows: Vec<LogRow>,
}

/// Where the induction head appears: the first evaluation at which the best induction score has
/// reached half of the highest score of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Onset {
    pub step: usize,
    pub head: String,
    pub score: f32,
    /// The evaluation before it (step, score), to show the jump.
    pub before: Option<(usize, f32)>,
    /// The highest score of the run.
    pub peak: f32,
}

/// (step, value) points of a curve.
pub type Curve = Vec<(usize, f32)>;

/// Below this peak score no induction head formed: there is no onset to show.
pub const MIN_INDUCTION_PEAK: f32 = 0.3;

impl TrainLog {
    /// Read a `train_log.csv`; errors name the file and the line.
    pub fn read(path: &Path) -> Result<TrainLog, String> {
        let text = crate::textfile::read_text(path, 64 << 20)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse the text of a `train_log.csv`.
    pub fn parse(text: &str) -> Result<TrainLog, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let mut rows: Vec<LogRow> = Vec::new();
        for (i, row) in reader.deserialize::<LogRow>().enumerate() {
            // Line 1 is the header.
            let row = row.map_err(|e| format!("line {}: {}", i + 2, csv_error(&e)))?;
            if !row.train_loss.is_finite() || row.heldout_loss.is_some_and(|l| !l.is_finite()) {
                return Err(format!(
                    "line {}: a loss is not a number (the run diverged?)",
                    i + 2
                ));
            }
            if rows.last().is_some_and(|last| last.step >= row.step) {
                return Err(format!(
                    "line {}: step {} does not follow step {}",
                    i + 2,
                    row.step,
                    rows.last().map_or(0, |r| r.step)
                ));
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err("no steps logged".into());
        }
        Ok(TrainLog { rows })
    }

    pub fn last_step(&self) -> usize {
        self.rows.last().map_or(0, |r| r.step)
    }

    /// Tokens trained on in the whole run.
    pub fn tokens(&self) -> u64 {
        self.rows.last().map_or(0, |r| r.tokens_seen)
    }

    /// (step, held-out loss) at every evaluation.
    pub fn heldout(&self) -> Vec<(usize, f32)> {
        self.rows
            .iter()
            .filter_map(|r| r.heldout_loss.map(|l| (r.step, l)))
            .collect()
    }

    /// The last held-out loss (the run's result).
    pub fn final_heldout(&self) -> Option<f32> {
        self.heldout().last().map(|&(_, l)| l)
    }

    /// (step, induction score) and (step, previous-token score) at every evaluation.
    pub fn head_scores(&self) -> (Curve, Curve) {
        let pick = |f: fn(&LogRow) -> Option<f32>| {
            self.rows
                .iter()
                .filter_map(|r| f(r).map(|s| (r.step, s)))
                .collect()
        };
        (pick(|r| r.induction_score), pick(|r| r.prev_token_score))
    }

    /// The training loss averaged over a centred window of `window` steps (the per-batch loss is
    /// noisy): one (step, mean) per row. A window of 1 gives the raw loss.
    pub fn smoothed_train(&self, window: usize) -> Vec<(usize, f32)> {
        let w = window.max(1);
        let losses: Vec<f64> = self.rows.iter().map(|r| f64::from(r.train_loss)).collect();
        // Prefix sums keep this O(n) for the 3,000-step log.
        let mut prefix = vec![0.0; losses.len() + 1];
        for (i, l) in losses.iter().enumerate() {
            prefix[i + 1] = prefix[i] + l;
        }
        (0..losses.len())
            .map(|i| {
                let lo = i.saturating_sub(w / 2);
                let hi = (i + w - w / 2).min(losses.len());
                let mean = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
                (self.rows[i].step, mean as f32)
            })
            .collect()
    }

    /// Where the induction head appears, if one formed (its peak score at least
    /// [`MIN_INDUCTION_PEAK`]).
    pub fn induction_onset(&self) -> Option<Onset> {
        let evals: Vec<&LogRow> = self
            .rows
            .iter()
            .filter(|r| r.induction_score.is_some())
            .collect();
        let peak = evals
            .iter()
            .filter_map(|r| r.induction_score)
            .fold(f32::NEG_INFINITY, f32::max);
        // (A NaN peak, from no evaluation at all, fails this too.)
        if peak.is_nan() || peak < MIN_INDUCTION_PEAK {
            return None;
        }
        let i = evals
            .iter()
            .position(|r| r.induction_score.is_some_and(|s| s >= peak / 2.0))?;
        let row = evals[i];
        Some(Onset {
            step: row.step,
            head: row.induction_head.clone().unwrap_or_default(),
            score: row.induction_score.unwrap_or(0.0),
            before: i
                .checked_sub(1)
                .and_then(|j| evals[j].induction_score.map(|s| (evals[j].step, s))),
            peak,
        })
    }
}

/// The csv crate's message without its own position prefix (we name the line ourselves).
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(f) => format!("field {}: {}", f + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, the header has {expected_len}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "step,train_loss,heldout_loss,prev_token_head,prev_token_score,induction_head,induction_score,tokens_seen,lr,elapsed_s\n";

    fn log(rows: &[&str]) -> Result<TrainLog, String> {
        TrainLog::parse(&(HEADER.to_string() + &rows.join("\n") + "\n"))
    }

    #[test]
    fn reads_training_and_evaluation_rows() {
        let l = log(&[
            "1,7.6,,,,,,4096,2e-5,0.6",
            "2,7.5,7.4,L1H1,0.0300,L2H0,0.0100,8192,4e-5,1.0",
        ])
        .unwrap();
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[0].heldout_loss, None);
        assert_eq!(l.heldout(), vec![(2, 7.4)]);
        assert_eq!(l.rows[1].induction_head.as_deref(), Some("L2H0"));
        assert_eq!(l.tokens(), 8192);
        assert_eq!(l.final_heldout(), Some(7.4));
    }

    #[test]
    fn bad_logs_name_the_line() {
        let e = log(&["1,7.6,,,,,,4096,2e-5,0.6", "2,x,,,,,,8192,4e-5,1.0"]).unwrap_err();
        assert!(e.starts_with("line 3: field 2"), "{e}");
        let e = log(&["2,7.6,,,,,,4096,2e-5,0.6", "2,7.5,,,,,,8192,4e-5,1.0"]).unwrap_err();
        assert_eq!(e, "line 3: step 2 does not follow step 2");
        let e = log(&["1,7.6,,,,4096"]).unwrap_err();
        assert!(e.contains("line 2") && e.contains("fields"), "{e}");
        let e = log(&["1,NaN,,,,,,4096,2e-5,0.6"]).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        assert_eq!(TrainLog::parse(HEADER).unwrap_err(), "no steps logged");
    }

    #[test]
    fn smoothing_is_a_centred_mean() {
        let l = log(&[
            "1,1,,,,,,1,0,0",
            "2,2,,,,,,2,0,0",
            "3,3,,,,,,3,0,0",
            "4,4,,,,,,4,0,0",
        ])
        .unwrap();
        assert_eq!(
            l.smoothed_train(1),
            vec![(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
        );
        // Window 3: [1,2] [1,2,3] [2,3,4] [3,4].
        assert_eq!(
            l.smoothed_train(3),
            vec![(1, 1.5), (2, 2.0), (3, 3.0), (4, 3.5)]
        );
    }

    #[test]
    fn the_onset_is_the_first_evaluation_at_half_the_peak() {
        let rows = [
            "100,3,3,L1H1,0.1,L2H0,0.03,1,0,0",
            "200,3,3,L1H1,0.1,L2H0,0.06,2,0,0",
            "300,3,3,L1H1,0.1,L2H1,0.45,3,0,0",
            "400,3,3,L1H1,0.1,L2H0,0.80,4,0,0",
        ];
        let onset = log(&rows).unwrap().induction_onset().unwrap();
        assert_eq!(onset.step, 300);
        assert_eq!(onset.head, "L2H1");
        assert_eq!(onset.before, Some((200, 0.06)));
        assert_eq!(onset.peak, 0.8);
        // No head above MIN_INDUCTION_PEAK: none formed.
        let flat = log(&["100,3,3,L1H1,0.1,L2H0,0.03,1,0,0"]).unwrap();
        assert_eq!(flat.induction_onset(), None);
    }

    #[test]
    fn the_bundled_models_log_shows_its_induction_head_forming() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/glassbox-tiny/train_log.csv");
        let l = TrainLog::read(&path).unwrap();
        assert_eq!(l.last_step(), 3000);
        let first = l.smoothed_train(1)[0].1;
        // The first loss is a uniform guess over the 2,048-token vocabulary: ln 2048 ≈ 7.62.
        assert!((first - 2048f32.ln()).abs() < 0.1, "{first}");
        let onset = l.induction_onset().unwrap();
        // The card says the head forms between steps 1,900 and 2,300.
        assert!((1900..=2300).contains(&onset.step), "{onset:?}");
        assert_eq!(onset.head, "L2H0");
    }
}
