//! Training work in FLOPs: 6·N·D for the weights plus the causal attention term, with active
//! parameters for mixture-of-experts models, or FLOPs given directly.

use serde::Serialize;
use xpufleet_model::Work;

use crate::PerfError;

/// A job's training FLOPs, split by where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WorkFlops {
    /// Total training FLOPs (forward and backward; no recompute).
    pub total: f64,
    /// 6 · N_active · D.
    pub dense: f64,
    /// 6 · n_layer · seq_len · d_model · D (causal attention scores and values); 0 when the
    /// shape is not given.
    pub attention: f64,
    /// Active parameters per token below total parameters: a mixture-of-experts model, which
    /// runs at lower MFU (all-to-all, imbalance).
    pub moe: bool,
}

/// Training FLOPs of `work`, checking that its numbers are finite and positive.
///
/// Weights: each parameter does a multiply-add (2 FLOPs) per token forward and twice that
/// backward, so 6 FLOPs per active parameter per token (Kaplan et al. 2020; Narayanan et al.
/// SC'21). Attention: QKᵀ and AV are 2·seq·d_model multiply-adds per layer per token forward,
/// halved by the causal mask, ×3 for the backward: 6·n_layer·seq·d_model per token (PaLM's
/// count, 12·L·H·Q·T, is non-causal).
pub fn work_flops(work: &Work) -> Result<WorkFlops, PerfError> {
    match *work {
        Work::Flops(f) => {
            positive("flops", f)?;
            Ok(WorkFlops {
                total: f,
                dense: f,
                attention: 0.0,
                moe: false,
            })
        }
        Work::Model {
            params,
            active_params,
            tokens,
            attention,
        } => {
            positive("params", params)?;
            positive("active_params", active_params)?;
            positive("tokens", tokens)?;
            if active_params > params {
                return Err(PerfError::Invalid(format!(
                    "active_params ({active_params:e}) exceeds params ({params:e}); active parameters are the subset used per token"
                )));
            }
            let dense = 6.0 * active_params * tokens;
            let attention = match attention {
                Some((n_layers, seq_len, d_model)) => {
                    if n_layers == 0 || seq_len == 0 || d_model == 0 {
                        return Err(PerfError::Invalid(format!(
                            "attention shape needs n_layers, seq_len and d_model all > 0; found {n_layers}, {seq_len}, {d_model}"
                        )));
                    }
                    6.0 * n_layers as f64 * seq_len as f64 * d_model as f64 * tokens
                }
                None => 0.0,
            };
            Ok(WorkFlops {
                total: dense + attention,
                dense,
                attention,
                moe: active_params < params,
            })
        }
    }
}

fn positive(name: &str, v: f64) -> Result<(), PerfError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PerfError::Invalid(format!(
            "`{name}` must be a finite number > 0; found {v}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_n_d() {
        let w = work_flops(&Work::Model {
            params: 405e9,
            active_params: 405e9,
            tokens: 15.6e12,
            attention: None,
        })
        .unwrap();
        // Llama 3 405B: the paper's 3.8e25 FLOPs.
        assert!((w.total / 3.8e25 - 1.0).abs() < 0.01, "{}", w.total);
        assert!(!w.moe);
    }

    #[test]
    fn attention_term_and_moe() {
        // DeepSeek-V3 shape: 61 layers, 4K context, d_model 7168, 37B of 671B active.
        let w = work_flops(&Work::Model {
            params: 671e9,
            active_params: 37e9,
            tokens: 14.8e12,
            attention: Some((61, 4096, 7168)),
        })
        .unwrap();
        assert_eq!(w.dense, 6.0 * 37e9 * 14.8e12);
        assert_eq!(w.attention, 6.0 * 61.0 * 4096.0 * 7168.0 * 14.8e12);
        assert!(w.moe);
        // About 5% on top of 6ND at this context length.
        assert!((w.attention / w.dense - 0.0484).abs() < 0.001);
    }

    #[test]
    fn bad_numbers_are_named() {
        let e = work_flops(&Work::Flops(-1.0)).unwrap_err();
        assert!(e.to_string().contains("flops"), "{e}");
        let e = work_flops(&Work::Model {
            params: 1e9,
            active_params: 2e9,
            tokens: 1e9,
            attention: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("active_params"), "{e}");
    }
}
