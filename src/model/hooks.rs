//! TransformerLens hook names, and the filter that chooses which of them a forward pass records.
//!
//! A name means exactly what it means in TransformerLens' `HookedTransformer` (no weight processing), so
//! a tensor we capture compares one to one with `run_with_cache`.

use super::config::Config;

/// The hooks inside one block, in the order the forward pass reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockHook {
    ResidPre,
    Q,
    K,
    V,
    AttnScores,
    Pattern,
    Z,
    AttnOut,
    ResidMid,
    MlpOut,
    ResidPost,
}

impl BlockHook {
    pub const ALL: [BlockHook; 11] = [
        Self::ResidPre,
        Self::Q,
        Self::K,
        Self::V,
        Self::AttnScores,
        Self::Pattern,
        Self::Z,
        Self::AttnOut,
        Self::ResidMid,
        Self::MlpOut,
        Self::ResidPost,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            Self::ResidPre => "hook_resid_pre",
            Self::Q => "attn.hook_q",
            Self::K => "attn.hook_k",
            Self::V => "attn.hook_v",
            Self::AttnScores => "attn.hook_attn_scores",
            Self::Pattern => "attn.hook_pattern",
            Self::Z => "attn.hook_z",
            Self::AttnOut => "hook_attn_out",
            Self::ResidMid => "hook_resid_mid",
            Self::MlpOut => "hook_mlp_out",
            Self::ResidPost => "hook_resid_post",
        }
    }

    /// Attention-shaped hooks are [batch, head, query_pos, key_pos]; the rest have the position on axis 1.
    pub fn is_attention(self) -> bool {
        matches!(self, Self::AttnScores | Self::Pattern)
    }
}

pub const HOOK_EMBED: &str = "hook_embed";
pub const HOOK_POS_EMBED: &str = "hook_pos_embed";
pub const LN_FINAL_NORMALIZED: &str = "ln_final.hook_normalized";
pub const LOGITS: &str = "logits";

pub fn block_hook(layer: usize, hook: BlockHook) -> String {
    format!("blocks.{layer}.{}", hook.suffix())
}

/// One hook of the forward pass.
#[derive(Debug, Clone, Copy)]
enum Hook {
    Embed,
    PosEmbed,
    Block(usize, BlockHook),
    LnFinal,
    Logits,
}

impl Hook {
    fn name(self) -> String {
        match self {
            Self::Embed => HOOK_EMBED.into(),
            Self::PosEmbed => HOOK_POS_EMBED.into(),
            Self::Block(layer, hook) => block_hook(layer, hook),
            Self::LnFinal => LN_FINAL_NORMALIZED.into(),
            Self::Logits => LOGITS.into(),
        }
    }

    /// The shape in a pass over `seq` positions of a model configured by `cfg`.
    fn shape(self, cfg: &Config, seq: usize) -> Vec<usize> {
        let (d, h, dh) = (cfg.d_model, cfg.n_heads, cfg.d_head);
        match self {
            Self::Block(_, BlockHook::Q | BlockHook::K | BlockHook::V | BlockHook::Z) => {
                vec![1, seq, h, dh]
            }
            Self::Block(_, BlockHook::AttnScores | BlockHook::Pattern) => vec![1, h, seq, seq],
            Self::Logits => vec![1, seq, cfg.d_vocab],
            Self::Embed | Self::PosEmbed | Self::Block(..) | Self::LnFinal => vec![1, seq, d],
        }
    }
}

/// Every hook of a model with `n_layers` blocks, in forward order.
fn hooks_in_order(n_layers: usize) -> impl Iterator<Item = Hook> {
    let blocks = (0..n_layers).flat_map(|l| BlockHook::ALL.map(|h| Hook::Block(l, h)));
    [Hook::Embed, Hook::PosEmbed]
        .into_iter()
        .chain(blocks)
        .chain([Hook::LnFinal, Hook::Logits])
}

/// Every hook name of a model with `n_layers` blocks, in forward order.
pub fn all_hook_names(n_layers: usize) -> Vec<String> {
    hooks_in_order(n_layers).map(Hook::name).collect()
}

/// Every hook of a pass over `seq` positions, with its shape, in forward order (the order of
/// [`all_hook_names`]).
pub fn all_hook_shapes(cfg: &Config, seq: usize) -> Vec<(String, Vec<usize>)> {
    hooks_in_order(cfg.n_layers)
        .map(|h| (h.name(), h.shape(cfg, seq)))
        .collect()
}

/// Which hooks to record: everything, or the names matching any of a list of glob patterns (`*` matches
/// any run of characters, dots included: `blocks.*.attn.hook_pattern`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NamesFilter {
    #[default]
    All,
    Patterns(Vec<String>),
}

impl NamesFilter {
    /// Parse a comma-separated list of patterns. Empty entries are ignored.
    pub fn parse(spec: &str) -> Self {
        Self::Patterns(
            spec.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    /// Exactly these names.
    pub fn names<S: AsRef<str>>(names: &[S]) -> Self {
        Self::Patterns(names.iter().map(|s| s.as_ref().to_string()).collect())
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Patterns(pats) => pats.iter().any(|p| glob_match(p, name)),
        }
    }

    /// The first pattern that matches none of `names`, so a typo is reported instead of silently
    /// capturing nothing.
    pub fn unmatched<'a>(&'a self, names: &[String]) -> Option<&'a str> {
        match self {
            Self::All => None,
            Self::Patterns(pats) => pats
                .iter()
                .find(|p| !names.iter().any(|n| glob_match(p, n)))
                .map(String::as_str),
        }
    }
}

/// `*` matches any (possibly empty) run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None; // (pattern index after '*', text index it matched up to)
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last '*' swallow one more character and retry.
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_forward_order() {
        let names = all_hook_names(2);
        assert_eq!(names.len(), 2 + 2 * 11 + 2);
        assert_eq!(names[0], "hook_embed");
        assert_eq!(names[2], "blocks.0.hook_resid_pre");
        assert_eq!(names[7], "blocks.0.attn.hook_pattern");
        assert_eq!(names.last().unwrap(), "logits");
    }

    #[test]
    fn shapes_follow_the_names() {
        let hf = serde_json::json!({"n_embd": 8, "n_head": 2, "n_layer": 2, "n_positions": 16, "vocab_size": 11});
        let cfg = Config::from_hf(&serde_json::from_value(hf).unwrap()).unwrap();
        let shapes = all_hook_shapes(&cfg, 5);
        let names: Vec<String> = shapes.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, all_hook_names(2));
        let shape = |name: &str| shapes.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(shape("blocks.1.attn.hook_q"), vec![1, 5, 2, 4]);
        assert_eq!(shape("blocks.0.attn.hook_attn_scores"), vec![1, 2, 5, 5]);
        assert_eq!(shape("blocks.0.hook_mlp_out"), vec![1, 5, 8]);
        assert_eq!(shape("logits"), vec![1, 5, 11]);
    }

    #[test]
    fn glob_patterns() {
        let f = NamesFilter::parse("blocks.*.attn.hook_pattern, logits");
        assert!(f.matches("blocks.11.attn.hook_pattern"));
        assert!(f.matches("logits"));
        assert!(!f.matches("blocks.1.attn.hook_q"));
        assert!(!f.matches("logits2"));
        assert!(NamesFilter::parse("*resid*").matches("blocks.0.hook_resid_mid"));
        assert!(NamesFilter::parse("a*b*c").matches("aXXbYYc"));
        assert!(!NamesFilter::parse("a*b*c").matches("aXXbYY"));
        assert!(NamesFilter::All.matches("anything"));
    }

    #[test]
    fn unmatched_pattern_is_reported() {
        let names = all_hook_names(1);
        let f = NamesFilter::parse("logits,blocks.*.hook_patern");
        assert_eq!(f.unmatched(&names), Some("blocks.*.hook_patern"));
        assert_eq!(NamesFilter::parse("logits").unmatched(&names), None);
    }
}
