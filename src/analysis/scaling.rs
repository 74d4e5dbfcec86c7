//! Scaling laws on a small family of runs (`models/scaling/`, trained by `tools/train_scaling.sh`):
//! the final held-out loss against the parameter count at one data budget, and against the tokens
//! trained on at one size, each with a power law fitted on log–log axes.

use std::collections::BTreeMap;
use std::path::Path;

use super::training::TrainLog;
use crate::model::config::{Config, HfGpt2Config};

/// One finished run of the family.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run's folder name ("d64-l3-s1000").
    pub name: String,
    pub d_model: usize,
    pub n_layers: usize,
    /// Every parameter, the embeddings included.
    pub params: usize,
    /// Parameters outside the token and position embeddings, as Kaplan et al. (2020) count N: the
    /// count their laws are smooth in.
    pub non_embedding: usize,
    pub tokens: u64,
    /// The last held-out loss of the run (nats per token).
    pub loss: f32,
    /// Seconds the training loop took.
    pub seconds: f64,
}

/// L(x) = a · x^(−alpha), fitted by least squares on (ln x, ln L).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerLaw {
    pub a: f64,
    pub alpha: f64,
    /// The share of the variance of ln L the line explains.
    pub r2: f64,
}

impl PowerLaw {
    /// Fit through `(x, loss)` points; `None` for fewer than two distinct x.
    pub fn fit(points: &[(f64, f64)]) -> Option<PowerLaw> {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .map(|&(x, y)| (x.ln(), y.ln()))
            .collect();
        let n = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
        if pts.len() < 2 || sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let r2 = if syy > 0.0 {
            (sxy * sxy) / (sxx * syy)
        } else {
            1.0
        };
        Some(PowerLaw {
            a: (my - slope * mx).exp(),
            alpha: -slope,
            r2,
        })
    }

    pub fn at(&self, x: f64) -> f64 {
        self.a * x.powf(-self.alpha)
    }
}

/// One axis of the study: the runs that differ only in one quantity, and the law through them.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// (x, loss) per run, x ascending: non-embedding parameters, or tokens.
    pub points: Vec<(f64, f64)>,
    pub names: Vec<String>,
    pub law: Option<PowerLaw>,
    /// What is held fixed, in words ("4.1M tokens", "d64-l3").
    pub fixed: String,
}

/// The family: the size series (one data budget) and the data series (one size).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub runs: Vec<Run>,
    pub by_params: Series,
    pub by_tokens: Series,
}

impl Run {
    /// Read a run folder: its config.json and train_log.csv.
    pub fn read(dir: &Path) -> Result<Run, String> {
        let cfg = read_gpt2_config(&dir.join("config.json"))?;
        let log = TrainLog::read(&dir.join("train_log.csv"))?;
        let loss = log.final_heldout().ok_or_else(|| {
            format!(
                "{}: no held-out loss logged",
                dir.join("train_log.csv").display()
            )
        })?;
        let embeddings = (cfg.d_vocab + cfg.n_ctx) * cfg.d_model;
        Ok(Run {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            d_model: cfg.d_model,
            n_layers: cfg.n_layers,
            params: cfg.n_params(),
            non_embedding: cfg.n_params().saturating_sub(embeddings),
            tokens: log.tokens(),
            loss,
            seconds: log.rows.last().map_or(0.0, |r| r.elapsed_s),
        })
    }
}

/// A GPT-2 config.json, as `glassbox train` writes it; errors name the file.
pub fn read_gpt2_config(path: &Path) -> Result<Config, String> {
    let text =
        crate::textfile::read_text(path, 1 << 20).map_err(|e| format!("{} {e}", path.display()))?;
    let hf: HfGpt2Config =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Config::from_hf(&hf).map_err(|e| format!("{}: {e}", path.display()))
}

impl Family {
    /// Every run folder under `dir` (sorted by name), grouped into the two series.
    pub fn read(dir: &Path) -> Result<Family, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut folders: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("train_log.csv").is_file())
            .collect();
        folders.sort();
        let runs = folders
            .iter()
            .map(|f| Run::read(f))
            .collect::<Result<Vec<_>, _>>()?;
        Family::from_runs(runs)
    }

    /// Group runs: the size series is the data budget shared by the most distinct sizes, the data
    /// series the size trained on the most distinct budgets.
    pub fn from_runs(runs: Vec<Run>) -> Result<Family, String> {
        let mut by_tokens: BTreeMap<u64, Vec<&Run>> = BTreeMap::new();
        let mut by_size: BTreeMap<usize, Vec<&Run>> = BTreeMap::new();
        for r in &runs {
            by_tokens.entry(r.tokens).or_default().push(r);
            by_size.entry(r.non_embedding).or_default().push(r);
        }
        let sizes = by_tokens
            .iter()
            .max_by_key(|(_, rs)| rs.len())
            .map(|(&t, rs)| {
                series(
                    rs,
                    |r| r.non_embedding as f64,
                    format!("{} tokens", short(t as f64)),
                )
            });
        let data = by_size
            .iter()
            .max_by_key(|(_, rs)| rs.len())
            .map(|(_, rs)| {
                let fixed = format!("d{}-l{}", rs[0].d_model, rs[0].n_layers);
                series(rs, |r| r.tokens as f64, fixed)
            });
        match (sizes, data) {
            (Some(s), Some(d)) if s.points.len() >= 3 && d.points.len() >= 3 => Ok(Family {
                by_params: s,
                by_tokens: d,
                runs,
            }),
            _ => Err(
                "the family needs at least three sizes at one data budget and three budgets at one size"
                    .into(),
            ),
        }
    }
}

fn series(runs: &[&Run], x: impl Fn(&Run) -> f64, fixed: String) -> Series {
    let mut pts: Vec<(f64, f64, String)> = runs
        .iter()
        .map(|r| (x(r), f64::from(r.loss), r.name.clone()))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let points: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
    Series {
        law: PowerLaw::fit(&points),
        names: pts.into_iter().map(|p| p.2).collect(),
        points,
        fixed,
    }
}

/// 43k, 1.1M, 12M: a count in two or three significant figures.
pub fn short(x: f64) -> String {
    let (v, unit) = if x >= 1e9 {
        (x / 1e9, "B")
    } else if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    if v >= 10.0 || unit.is_empty() || (v - v.round()).abs() < 0.05 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_law_is_recovered_exactly() {
        let pts: Vec<(f64, f64)> = [1e4, 1e5, 1e6]
            .iter()
            .map(|&x: &f64| (x, 8.0 * x.powf(-0.1)))
            .collect();
        let law = PowerLaw::fit(&pts).unwrap();
        assert!(
            (law.alpha - 0.1).abs() < 1e-9 && (law.a - 8.0).abs() < 1e-6,
            "{law:?}"
        );
        assert!((law.r2 - 1.0).abs() < 1e-9);
        assert!((law.at(1e5) - 8.0 * 1e5f64.powf(-0.1)).abs() < 1e-9);
        assert_eq!(PowerLaw::fit(&[(1.0, 2.0)]), None);
        assert_eq!(PowerLaw::fit(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn noise_lowers_r2() {
        let law = PowerLaw::fit(&[(1e4, 3.0), (1e5, 2.0), (1e6, 2.6)]).unwrap();
        assert!(law.r2 < 0.5, "{law:?}");
    }

    fn run(name: &str, non_embedding: usize, tokens: u64, loss: f32) -> Run {
        Run {
            name: name.into(),
            d_model: 64,
            n_layers: 3,
            params: non_embedding + 1000,
            non_embedding,
            tokens,
            loss,
            seconds: 1.0,
        }
    }

    #[test]
    fn runs_are_grouped_into_the_two_series() {
        let runs = vec![
            run("a", 10, 100, 3.0),
            run("b", 20, 100, 2.5),
            run("c", 40, 100, 2.0),
            run("d", 20, 50, 2.8),
            run("e", 20, 200, 2.2),
        ];
        let f = Family::from_runs(runs).unwrap();
        assert_eq!(f.by_params.names, ["a", "b", "c"]);
        assert_eq!(f.by_params.fixed, "100 tokens");
        assert_eq!(f.by_tokens.names, ["d", "b", "e"]);
        assert_eq!(f.by_tokens.points[0], (50.0, f64::from(2.8f32)));
        assert!(Family::from_runs(vec![run("a", 10, 100, 3.0)]).is_err());
    }

    #[test]
    fn counts_are_short() {
        assert_eq!(short(43_210.0), "43k");
        assert_eq!(short(1_080_000.0), "1.1M");
        assert_eq!(short(4_096_000.0), "4.1M");
        assert_eq!(short(512.0), "512");
        assert_eq!(short(1000.0), "1k");
        assert_eq!(short(1e6), "1M");
    }
}
