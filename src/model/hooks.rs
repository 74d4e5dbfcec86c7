//! TransformerLens hook names, their layouts and shapes, and the filter that chooses which of them a
//! forward pass records.
//!
//! A name means exactly what it means in TransformerLens' `HookedTransformer` (no weight processing), so
//! a tensor we capture compares one to one with `run_with_cache`. Each point knows its own layout
//! ([`Layout`]), so no call site decides how a tensor is stored.

use super::config::{Arch, Config};

/// The hooks inside one block. Which of them a block has, and in what order, depends on the family:
/// [`BlockHook::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockHook {
    ResidPre,
    /// RMSNorm (Llama) before its weight: x / √(mean(x²) + ε).
    Ln1Normalized,
    Q,
    K,
    V,
    /// q after the rotary embedding (Llama).
    RotQ,
    /// k after the rotary embedding (Llama).
    RotK,
    AttnScores,
    Pattern,
    Z,
    AttnOut,
    ResidMid,
    Ln2Normalized,
    /// The hidden layer before its activation: GPT-2's c_fc output, Llama's gate projection.
    MlpPre,
    /// The up projection (Llama's gated MLP).
    MlpPreLinear,
    /// The hidden layer after its activation, the output projection's input: GPT-2's act(c_fc(x)),
    /// Llama's act(gate) * up. One value per neuron.
    MlpPost,
    MlpOut,
    ResidPost,
}

const GPT2_BLOCK: [BlockHook; 13] = [
    BlockHook::ResidPre,
    BlockHook::Q,
    BlockHook::K,
    BlockHook::V,
    BlockHook::AttnScores,
    BlockHook::Pattern,
    BlockHook::Z,
    BlockHook::AttnOut,
    BlockHook::ResidMid,
    BlockHook::MlpPre,
    BlockHook::MlpPost,
    BlockHook::MlpOut,
    BlockHook::ResidPost,
];

const LLAMA_BLOCK: [BlockHook; 18] = [
    BlockHook::ResidPre,
    BlockHook::Ln1Normalized,
    BlockHook::Q,
    BlockHook::K,
    BlockHook::V,
    BlockHook::RotQ,
    BlockHook::RotK,
    BlockHook::AttnScores,
    BlockHook::Pattern,
    BlockHook::Z,
    BlockHook::AttnOut,
    BlockHook::ResidMid,
    BlockHook::Ln2Normalized,
    BlockHook::MlpPre,
    BlockHook::MlpPreLinear,
    BlockHook::MlpPost,
    BlockHook::MlpOut,
    BlockHook::ResidPost,
];

impl BlockHook {
    /// The hooks a block of this family has, in the order the forward pass reaches them.
    pub fn of(arch: Arch) -> &'static [BlockHook] {
        match arch {
            Arch::Gpt2 => &GPT2_BLOCK,
            Arch::Llama => &LLAMA_BLOCK,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            Self::ResidPre => "hook_resid_pre",
            Self::Ln1Normalized => "ln1.hook_normalized",
            Self::Q => "attn.hook_q",
            Self::K => "attn.hook_k",
            Self::V => "attn.hook_v",
            Self::RotQ => "attn.hook_rot_q",
            Self::RotK => "attn.hook_rot_k",
            Self::AttnScores => "attn.hook_attn_scores",
            Self::Pattern => "attn.hook_pattern",
            Self::Z => "attn.hook_z",
            Self::AttnOut => "hook_attn_out",
            Self::ResidMid => "hook_resid_mid",
            Self::Ln2Normalized => "ln2.hook_normalized",
            Self::MlpPre => "mlp.hook_pre",
            Self::MlpPreLinear => "mlp.hook_pre_linear",
            Self::MlpPost => "mlp.hook_post",
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

/// How a hook's tensor is laid out, so that a chunk of new positions can be appended to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    /// [1, pos, ...]
    Positional,
    /// [1, head, query_pos, key_pos]; `fill` is what the causal mask leaves above the diagonal (0 for
    /// the pattern, −∞ for the scores).
    Attention { fill: f32 },
}

impl Layout {
    /// The axis that grows when positions are appended.
    pub fn position_axis(self) -> usize {
        match self {
            Self::Positional => 1,
            Self::Attention { .. } => 2,
        }
    }
}

/// One named point of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookPoint {
    Embed,
    PosEmbed,
    Block(usize, BlockHook),
    LnFinal,
    Logits,
}

impl HookPoint {
    pub fn name(self) -> String {
        match self {
            Self::Embed => HOOK_EMBED.into(),
            Self::PosEmbed => HOOK_POS_EMBED.into(),
            Self::Block(layer, hook) => block_hook(layer, hook),
            Self::LnFinal => LN_FINAL_NORMALIZED.into(),
            Self::Logits => LOGITS.into(),
        }
    }

    /// The point a TransformerLens name stands for in a model configured by `cfg`, if it has one.
    pub fn parse(name: &str, cfg: &Config) -> Option<Self> {
        hooks_in_order(cfg).find(|p| p.name() == name)
    }

    pub fn layout(self) -> Layout {
        match self {
            Self::Block(_, BlockHook::AttnScores) => Layout::Attention {
                fill: f32::NEG_INFINITY,
            },
            Self::Block(_, BlockHook::Pattern) => Layout::Attention { fill: 0.0 },
            _ => Layout::Positional,
        }
    }

    /// The shape in a pass over `seq` positions of a model configured by `cfg`.
    pub fn shape(self, cfg: &Config, seq: usize) -> Vec<usize> {
        let (d, h, kv, dh) = (cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.d_head);
        match self {
            Self::Block(_, BlockHook::Q | BlockHook::RotQ | BlockHook::Z) => vec![1, seq, h, dh],
            // Grouped-query attention keeps n_kv_heads keys and values, as TransformerLens does.
            Self::Block(_, BlockHook::K | BlockHook::V | BlockHook::RotK) => vec![1, seq, kv, dh],
            Self::Block(_, BlockHook::AttnScores | BlockHook::Pattern) => vec![1, h, seq, seq],
            Self::Block(_, BlockHook::MlpPre | BlockHook::MlpPreLinear | BlockHook::MlpPost) => {
                vec![1, seq, cfg.d_mlp]
            }
            Self::Logits => vec![1, seq, cfg.d_vocab],
            Self::Embed | Self::PosEmbed | Self::Block(..) | Self::LnFinal => vec![1, seq, d],
        }
    }
}

/// Every hook of a model configured by `cfg`, in forward order.
pub fn hooks_in_order(cfg: &Config) -> impl Iterator<Item = HookPoint> {
    let arch = cfg.arch;
    let blocks = (0..cfg.n_layers).flat_map(move |l| {
        BlockHook::of(arch)
            .iter()
            .map(move |&h| HookPoint::Block(l, h))
    });
    let embeds: &[HookPoint] = match arch {
        Arch::Gpt2 => &[HookPoint::Embed, HookPoint::PosEmbed],
        // Rotary models have no position embedding to add.
        Arch::Llama => &[HookPoint::Embed],
    };
    embeds
        .iter()
        .copied()
        .chain(blocks)
        .chain([HookPoint::LnFinal, HookPoint::Logits])
}

/// Every hook name of a model configured by `cfg`, in forward order.
pub fn all_hook_names(cfg: &Config) -> Vec<String> {
    hooks_in_order(cfg).map(HookPoint::name).collect()
}

/// Every hook of a pass over `seq` positions, with its shape, in forward order (the order of
/// [`all_hook_names`]).
pub fn all_hook_shapes(cfg: &Config, seq: usize) -> Vec<(String, Vec<usize>)> {
    hooks_in_order(cfg)
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
    /// capturing nothing. A list with no pattern at all ("" or " , ") matches nothing either, and is
    /// reported as the empty pattern.
    pub fn unmatched<'a>(&'a self, names: &[String]) -> Option<&'a str> {
        match self {
            Self::All => None,
            Self::Patterns(pats) if pats.is_empty() => Some(""),
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

    fn gpt2(n_layers: usize) -> Config {
        let hf = serde_json::json!({"n_embd": 8, "n_head": 2, "n_layer": n_layers, "n_positions": 16, "vocab_size": 11});
        Config::from_hf(&serde_json::from_value(hf).unwrap()).unwrap()
    }

    #[test]
    fn names_in_forward_order() {
        let names = all_hook_names(&gpt2(2));
        assert_eq!(names.len(), 2 + 2 * 13 + 2);
        assert_eq!(names[0], "hook_embed");
        assert_eq!(names[2], "blocks.0.hook_resid_pre");
        assert_eq!(names[7], "blocks.0.attn.hook_pattern");
        assert_eq!(names.last().unwrap(), "logits");
    }

    #[test]
    fn shapes_follow_the_names() {
        let cfg = gpt2(2);
        let shapes = all_hook_shapes(&cfg, 5);
        let names: Vec<String> = shapes.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, all_hook_names(&cfg));
        let shape = |name: &str| shapes.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(shape("blocks.1.attn.hook_q"), vec![1, 5, 2, 4]);
        assert_eq!(shape("blocks.0.attn.hook_attn_scores"), vec![1, 2, 5, 5]);
        assert_eq!(shape("blocks.0.hook_mlp_out"), vec![1, 5, 8]);
        assert_eq!(shape("logits"), vec![1, 5, 11]);
    }

    /// TransformerLens' Llama names: no position embedding, the norms' and the gated MLP's hooks, and
    /// n_kv_heads keys and values under grouped-query attention.
    #[test]
    fn llama_names_and_shapes() {
        let hf = serde_json::json!({"model_type": "llama", "hidden_size": 8, "intermediate_size": 12,
            "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1, "vocab_size": 11});
        let cfg = Config::from_hf_llama(&serde_json::from_value(hf).unwrap()).unwrap();
        let names = all_hook_names(&cfg);
        assert_eq!(names.len(), 1 + 18 + 2);
        assert!(!names.iter().any(|n| n == HOOK_POS_EMBED));
        let shape = |name: &str| HookPoint::parse(name, &cfg).unwrap().shape(&cfg, 3);
        assert_eq!(shape("blocks.0.attn.hook_rot_q"), vec![1, 3, 4, 2]);
        assert_eq!(shape("blocks.0.attn.hook_k"), vec![1, 3, 2, 2]);
        assert_eq!(shape("blocks.0.mlp.hook_post"), vec![1, 3, 12]);
        assert_eq!(shape("blocks.0.ln1.hook_normalized"), vec![1, 3, 8]);
        assert!(HookPoint::parse("blocks.1.hook_resid_pre", &cfg).is_none());
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
        let names = all_hook_names(&gpt2(1));
        let f = NamesFilter::parse("logits,blocks.*.hook_patern");
        assert_eq!(f.unmatched(&names), Some("blocks.*.hook_patern"));
        assert_eq!(NamesFilter::parse("logits").unmatched(&names), None);
        // No pattern at all selects nothing, like a typo does.
        assert_eq!(NamesFilter::parse(" , ").unmatched(&names), Some(""));
    }
}
