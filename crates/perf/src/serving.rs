//! The serving (inference) model: how many accelerators of a type a service of N input and M
//! output tokens a day needs, under latency targets, and at what cost.
//!
//! Pure, like the rest of the crate: the measured profiles (`data/serving/profiles.toml`) and the
//! catalog come in as values. The order of the questions is the order of the code:
//! 1. memory fit: weights + KV cache + runtime reserve per split, or a refusal naming the
//!    shortfall ([`memory_fit`]);
//! 2. a measured profile for the (model, part) pair if one fits the targets, else the roofline:
//!    prefill from FLOPS ([`prefill_rate`]), decode from bandwidth and the batch that fits both in
//!    memory and under the time-per-output-token target ([`decode_rate`]), each times an
//!    efficiency factor fitted on the measured rows ([`fit_efficiency`]);
//! 3. pool sizes in whole nodes, cost and an interval ([`estimate_serving`]).
//!
//! Mélange's part-mix choice for one service (request buckets x part types at minimum cost) is
//! [`choose_mix`]. Every formula and its source is in `docs/serving.md`.

use serde::{Deserialize, Deserializer, Serialize};
use xpufleet_model::{Accelerator, Catalog, Precision};

use crate::typical_d_model;

/// Why the serving model cannot answer. Each names the figure or limit involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServingError {
    /// A catalog figure the estimate needs is unknown (never taken as zero).
    #[error("{accel}: `{field}` is unknown, and the serving estimate needs it ({why}); supply it in a catalog override file (`--catalog FILE`)")]
    MissingFigure {
        accel: String,
        field: String,
        why: String,
    },
    /// The weights and one sequence's KV cache fit no split of the part up to `max_group`.
    #[error("{accel}: the model does not fit: {needed_gb:.0} GB of weights and KV cache for one sequence, but {max_group} x {usable_gb_per_accel:.1} GB usable = {available_gb:.0} GB; short by {short_gb:.0} GB")]
    MemoryShortfall {
        accel: String,
        needed_gb: f64,
        available_gb: f64,
        short_gb: f64,
        max_group: u32,
        usable_gb_per_accel: f64,
    },
    /// A latency target the part cannot meet even at batch 1 on its largest split.
    #[error("{accel}: --{target} {asked_ms} ms is below what the part can do at batch 1 ({needed_ms:.1} ms with {group} accelerators per instance); ask for at least {needed_ms:.1} ms")]
    LatencyTooTight {
        accel: String,
        /// `tpot-ms` or `ttft-ms`.
        target: String,
        asked_ms: f64,
        needed_ms: f64,
        group: u32,
    },
    /// An input out of range, naming the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// The model being served.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedModel {
    pub params: f64,
    pub active_params: f64,
    /// Weight precision; `None` lets a measured profile say (any precision matches) and the
    /// roofline use BF16.
    pub precision: Option<Precision>,
    /// KV cache per token of context; `None` assumes a GQA layout (see [`assumed_kv_bytes`]).
    pub kv_bytes_per_token: Option<f64>,
}

/// What the service must serve and how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct ServingDemand {
    pub input_tokens_per_day: f64,
    pub output_tokens_per_day: f64,
    /// Mean prompt length; `None` takes [`ServingParams::default_input_tokens`].
    pub mean_input_tokens: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    /// Capacity is sized for the average rate times this (1 = average).
    pub peak_to_average: f64,
}

impl ServingDemand {
    /// Mean prompt and answer length: the answer in the same ratio as the daily volumes.
    fn lengths(&self, p: &ServingParams) -> (f64, f64) {
        let input = self.mean_input_tokens.unwrap_or(p.default_input_tokens);
        let output = if self.input_tokens_per_day > 0.0 {
            input * self.output_tokens_per_day / self.input_tokens_per_day
        } else {
            p.default_input_tokens
        };
        (input, output)
    }

    /// Tokens of context a decoding sequence holds on average: the prompt plus half the answer.
    pub fn mean_context_tokens(&self, p: &ServingParams) -> f64 {
        let (i, o) = self.lengths(p);
        (i + o / 2.0).max(1.0)
    }
}

/// Largest daily token volume accepted for one service (about 30 times Google's reported
/// 2025 total of ~1e15 tokens a month): anything above is a unit mistake, not a demand.
pub const MAX_TOKENS_PER_DAY: f64 = 1e15;

/// The constants of the serving model. `Default` holds the fitted and documented values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingParams {
    /// Share of peak FLOPS prefill achieves (fitted on the profiles; [`fit_efficiency`]).
    pub prefill_efficiency: f64,
    /// Lowest and highest prefill efficiency among the measured rows (the interval).
    pub prefill_efficiency_range: [f64; 2],
    /// Share of the bandwidth roofline decode achieves (fitted).
    pub decode_efficiency: f64,
    pub decode_efficiency_range: [f64; 2],
    /// Share of HBM kept back for activations, CUDA graphs and the runtime: vLLM's default
    /// `gpu_memory_utilization = 0.9` (vLLM 0.4-0.8 engine arguments).
    pub memory_reserve_frac: f64,
    /// Accelerators per node (HGX and Atlas 800 servers); pools are sized in whole nodes.
    pub node_accels: u64,
    /// Largest split of a dense model (tensor parallelism inside one scale-up domain).
    pub dense_max_group: u32,
    /// Largest split of a mixture-of-experts model (expert parallelism spans nodes: DeepSeek's
    /// decode units are EP144, CloudMatrix's EP320).
    pub moe_max_group: u32,
    /// Mean prompt length when the demand does not say (SGLang's and many public benchmarks').
    pub default_input_tokens: f64,
    /// Amortisation life of a catalog price when no hourly price is given.
    pub price_life_years: f64,
}

impl Default for ServingParams {
    fn default() -> Self {
        ServingParams {
            // Fitted by `fit_efficiency` on data/serving/profiles.toml; the test
            // `serving::refit_matches_defaults` fails if the data and these drift apart.
            prefill_efficiency: 0.290,
            prefill_efficiency_range: [0.244, 0.344],
            decode_efficiency: 0.098,
            decode_efficiency_range: [0.078, 0.126],
            memory_reserve_frac: 0.10,
            node_accels: 8,
            dense_max_group: 8,
            moe_max_group: 256,
            default_input_tokens: 2000.0,
            price_life_years: 4.0,
        }
    }
}

/// One measured serving figure (a row of `data/serving/profiles.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingProfile {
    pub id: String,
    pub model: String,
    pub params: f64,
    pub active_params: f64,
    pub precision: Precision,
    #[serde(default, deserialize_with = "maybe_f64")]
    pub kv_bytes_per_token: Option<f64>,
    pub accel: String,
    pub engine: String,
    pub engine_version: String,
    pub parallelism: String,
    #[serde(deserialize_with = "maybe_f64")]
    pub prefill_tokens_per_s_per_accel: Option<f64>,
    #[serde(deserialize_with = "maybe_f64")]
    pub decode_tokens_per_s_per_accel: Option<f64>,
    #[serde(default, deserialize_with = "maybe_f64")]
    pub tpot_ms: Option<f64>,
    #[serde(default, deserialize_with = "maybe_f64")]
    pub input_tokens: Option<f64>,
    pub date: String,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// The profiles file: `[[profile]]` rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingProfiles {
    #[serde(default, rename = "profile")]
    pub profiles: Vec<ServingProfile>,
}

/// A number, or `"?"` for unknown.
fn maybe_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(f64),
        S(String),
    }
    match V::deserialize(d)? {
        V::N(x) => Ok(Some(x)),
        V::S(s) if s == "?" => Ok(None),
        V::S(s) => Err(serde::de::Error::custom(format!(
            "expected a number or \"?\" (unknown); found {s:?}"
        ))),
    }
}

/// Bytes per weight at a precision.
pub fn bytes_per_param(p: Precision) -> f64 {
    match p {
        Precision::Bf16 | Precision::Fp16 => 2.0,
        Precision::Fp8 | Precision::Int8 => 1.0,
    }
}

/// KV cache per token of context for standard multi-head or grouped-query attention: keys and
/// values, each `kv_heads x head_dim` per layer.
pub fn kv_bytes_per_token(n_layers: u32, kv_heads: u32, head_dim: u32, bytes_per_elem: f64) -> f64 {
    2.0 * f64::from(n_layers) * f64::from(kv_heads) * f64::from(head_dim) * bytes_per_elem
}

/// The KV size assumed when the model's shape is not given: a Llama-style GQA decoder (8 KV
/// heads of 128, BF16) whose depth is that of a typical decoder of `active_params` (the width
/// rule of the training model, `d = (128·N/12)^(1/3)`, `L = d/128`): Llama 3 70B comes out at
/// 290 KB a token against its true 320 KB.
pub fn assumed_kv_bytes(active_params: f64) -> f64 {
    let d = typical_d_model(active_params);
    let layers = (d / 128.0).round().max(1.0) as u32;
    kv_bytes_per_token(layers, 8, 128, 2.0)
}

/// How the model sits in one part's memory at one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryFit {
    pub weights_gb: f64,
    pub kv_gb_per_1k_tokens: f64,
    /// The KV size was assumed from the parameter count, not given.
    pub kv_assumed: bool,
    /// HBM per accelerator left for weights and KV after the runtime reserve.
    pub usable_gb_per_accel: f64,
    /// Accelerators the smallest instance (one copy of the weights) needs.
    pub min_group: u32,
    /// Accelerators per instance the estimate uses.
    pub instance_accels: u32,
    /// Sequences one instance can decode at once: limited by memory, then by the tpot target.
    pub max_batch: u64,
}

fn figure(a: &Accelerator, field: &str, why: &str) -> Result<f64, ServingError> {
    a.figure(field)
        .and_then(|f| f.get())
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| ServingError::MissingFigure {
            accel: a.id.clone(),
            field: field.into(),
            why: why.into(),
        })
}

fn peak_field(p: Precision) -> &'static str {
    match p {
        Precision::Bf16 => "tflops_bf16",
        Precision::Fp16 => "tflops_fp16",
        Precision::Fp8 => "fp8_tflops",
        Precision::Int8 => "int8_tops",
    }
}

/// The smallest split of the model over `a` that holds the weights and one sequence's KV cache.
pub fn memory_fit(
    model: &ServedModel,
    precision: Precision,
    context_tokens: f64,
    a: &Accelerator,
    p: &ServingParams,
) -> Result<MemoryFit, ServingError> {
    let mem_gb = figure(a, "memory_gb", "weights and KV cache must fit in memory")?;
    let usable = mem_gb * (1.0 - p.memory_reserve_frac);
    let weights_gb = model.params * bytes_per_param(precision) / 1e9;
    let (kv, kv_assumed) = match model.kv_bytes_per_token {
        Some(k) => (k, false),
        None => (assumed_kv_bytes(model.active_params), true),
    };
    let one_seq_gb = kv * context_tokens / 1e9;
    let max_group = max_group(model, p);
    let mut g = 1u32;
    while (weights_gb + one_seq_gb) > usable * f64::from(g) {
        if g >= max_group {
            let needed = weights_gb + one_seq_gb;
            let available = usable * f64::from(max_group);
            return Err(ServingError::MemoryShortfall {
                accel: a.id.clone(),
                needed_gb: needed,
                available_gb: available,
                short_gb: needed - available,
                max_group,
                usable_gb_per_accel: usable,
            });
        }
        g *= 2;
    }
    Ok(MemoryFit {
        weights_gb,
        kv_gb_per_1k_tokens: kv * 1000.0 / 1e9,
        kv_assumed,
        usable_gb_per_accel: usable,
        min_group: g,
        instance_accels: g,
        max_batch: 0,
    })
}

fn max_group(model: &ServedModel, p: &ServingParams) -> u32 {
    if model.active_params < model.params * 0.999 {
        p.moe_max_group
    } else {
        p.dense_max_group
    }
}

/// Prefill input tokens/s per accelerator: compute-bound, `eff x peak / (2 x active params)`.
pub fn prefill_rate(
    model: &ServedModel,
    precision: Precision,
    a: &Accelerator,
    efficiency: f64,
) -> Result<f64, ServingError> {
    // A part without the precision's tensor cores (A100 and FP8) computes in BF16 on weights
    // dequantised as they load (vLLM's weight-only FP8 kernels on Ampere); an unknown figure
    // stays unknown.
    let field = match a.figure(peak_field(precision)) {
        Some(f) if f.confidence == xpufleet_model::Confidence::Unsupported => "tflops_bf16",
        _ => peak_field(precision),
    };
    let tflops = figure(
        a,
        field,
        "prefill is bound by FLOPS at the weights' precision",
    )?;
    Ok(efficiency * tflops * 1e12 / (2.0 * model.active_params))
}

/// One decode operating point: tokens/s per accelerator, the batch per instance, the split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodePoint {
    pub tokens_per_s_per_accel: f64,
    pub batch: u64,
    pub group: u32,
    /// Time per output token at that batch, ms.
    pub tpot_ms: f64,
}

/// Decode tokens/s per accelerator from the bandwidth roofline. Each step of an instance of `g`
/// accelerators reads the weights its batch touches (for a mixture of experts, the expected
/// share of experts `B` tokens route to: `W x (1 - (1 - A/W)^B)`) and each sequence's KV cache,
/// at `g x bandwidth x efficiency`. The batch is the largest that fits in memory and keeps the
/// step under the tpot target; the split is the one (from the memory minimum up to the model's
/// largest) that gives the most tokens/s per accelerator, the smallest within 5% of it.
pub fn decode_rate(
    model: &ServedModel,
    fit: &MemoryFit,
    context_tokens: f64,
    tpot_ms: Option<f64>,
    a: &Accelerator,
    efficiency: f64,
    p: &ServingParams,
) -> Result<DecodePoint, ServingError> {
    let bw = figure(a, "memory_tbps", "decode is bound by memory bandwidth")? * 1e12;
    // The fit's weights are at the precision served.
    let w = fit.weights_gb * 1e9;
    let active_share = (model.active_params / model.params).clamp(0.0, 1.0);
    let seq_bytes = fit.kv_gb_per_1k_tokens * 1e9 / 1000.0 * context_tokens;
    let step_s = |batch: f64, g: f64| {
        let weights_read = w * (1.0 - (1.0 - active_share).powf(batch));
        (weights_read + batch * seq_bytes) / (g * bw * efficiency)
    };
    let top = max_group(model, p).max(fit.min_group);
    let mut points: Vec<DecodePoint> = Vec::new();
    let mut fastest_ms = f64::INFINITY;
    let mut fastest_group = fit.min_group;
    let mut g = fit.min_group;
    loop {
        let gf = f64::from(g);
        let mem_batch = ((gf * fit.usable_gb_per_accel * 1e9 - w) / seq_bytes).floor();
        if mem_batch >= 1.0 {
            let t1 = step_s(1.0, gf) * 1e3;
            if t1 < fastest_ms {
                fastest_ms = t1;
                fastest_group = g;
            }
            let limit_s = tpot_ms.map(|t| t / 1e3);
            let batch = match limit_s {
                None => mem_batch,
                Some(l) if step_s(1.0, gf) > l => 0.0,
                Some(l) => {
                    // The step time grows with the batch: bisect for the largest that meets it.
                    let (mut lo, mut hi) = (1.0f64, mem_batch);
                    if step_s(hi, gf) <= l {
                        lo = hi;
                    }
                    while hi - lo > 1.0 {
                        let mid = ((lo + hi) / 2.0).floor();
                        if step_s(mid, gf) <= l {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    lo
                }
            };
            if batch >= 1.0 {
                let t = step_s(batch, gf);
                points.push(DecodePoint {
                    tokens_per_s_per_accel: batch / (gf * t),
                    batch: batch as u64,
                    group: g,
                    tpot_ms: t * 1e3,
                });
            }
        }
        if g >= top {
            break;
        }
        g = (g * 2).min(top);
    }
    let best = points
        .iter()
        .map(|d| d.tokens_per_s_per_accel)
        .fold(0.0f64, f64::max);
    match points
        .into_iter()
        .find(|d| d.tokens_per_s_per_accel >= 0.95 * best)
    {
        Some(d) => Ok(d),
        None => Err(ServingError::LatencyTooTight {
            accel: a.id.clone(),
            target: "tpot-ms".into(),
            asked_ms: tpot_ms.unwrap_or(0.0),
            needed_ms: fastest_ms,
            group: fastest_group,
        }),
    }
}

/// A price per accelerator-hour and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyPrice {
    pub usd_per_accel_hour: f64,
    /// "--price-per-hour", "catalog price_usd over 4 years", "pool <id>", ...
    pub source: String,
}

/// Input and output tokens/s one accelerator of each pool serves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TokenRates {
    pub input: f64,
    pub output: f64,
}

/// The spread of the answer: from the fitted efficiencies' range for the roofline, a point for
/// a measured profile (the measurement is the answer for its workload).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingInterval {
    pub accelerators: [u64; 2],
    pub usd_per_million_output_tokens: Option<[f64; 2]>,
    pub basis: String,
}

/// The answer for one part. Field names are the `estimate serving --json` contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingEstimate {
    pub accelerator: String,
    pub accelerators: u64,
    pub nodes: u64,
    pub prefill_accels: u64,
    pub decode_accels: u64,
    pub disaggregated: bool,
    pub precision: Precision,
    pub tokens_per_s_per_accel: TokenRates,
    pub cost_usd_per_day: Option<f64>,
    pub usd_per_million_output_tokens: Option<f64>,
    pub price: Option<HourlyPrice>,
    pub memory: MemoryFit,
    /// Time per output token at the decode batch, ms (roofline), or the profile's target.
    pub tpot_ms: Option<f64>,
    /// The profile id, or `roofline`.
    pub source: String,
    pub interval: ServingInterval,
}

/// Whether a measured profile answers for this model on this part under these targets.
fn profile_fits(
    pr: &ServingProfile,
    model: &ServedModel,
    a: &Accelerator,
    demand: &ServingDemand,
) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 0.05 * y.abs().max(1.0);
    pr.accel == a.id
        && close(model.params, pr.params)
        && close(model.active_params, pr.active_params)
        && model.precision.is_none_or(|p| p == pr.precision)
        && pr.prefill_tokens_per_s_per_accel.is_some()
        && pr.decode_tokens_per_s_per_accel.is_some()
        // A row measured at a looser (or unstated) latency says nothing about a tighter target.
        && match demand.tpot_ms {
            None => true,
            Some(t) => pr.tpot_ms.is_some_and(|m| m <= t),
        }
}

/// Checks a demand's numbers, naming the field of the first one out of range.
pub fn check_demand(d: &ServingDemand) -> Result<(), ServingError> {
    let volume = |field: &str, v: f64| {
        if !v.is_finite() || v < 0.0 {
            return Err(ServingError::Invalid {
                field: field.into(),
                message: format!("expected tokens a day, a number ≥ 0; found {v}"),
            });
        }
        if v > MAX_TOKENS_PER_DAY {
            return Err(ServingError::Invalid {
                field: field.into(),
                message: format!(
                    "{v:e} tokens a day is beyond any service (the limit is {MAX_TOKENS_PER_DAY:e}); check the unit"
                ),
            });
        }
        Ok(())
    };
    volume("input_tokens_per_day", d.input_tokens_per_day)?;
    volume("output_tokens_per_day", d.output_tokens_per_day)?;
    if d.output_tokens_per_day <= 0.0 {
        return Err(ServingError::Invalid {
            field: "output_tokens_per_day".into(),
            message: "must be > 0: the cost per million output tokens needs some".into(),
        });
    }
    for (field, v) in [
        ("ttft_ms", d.ttft_ms),
        ("tpot_ms", d.tpot_ms),
        ("mean_input_tokens", d.mean_input_tokens),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(ServingError::Invalid {
                    field: field.into(),
                    message: format!("expected a number > 0; found {v}"),
                });
            }
        }
    }
    if !(d.peak_to_average.is_finite() && d.peak_to_average >= 1.0) {
        return Err(ServingError::Invalid {
            field: "peak_to_average".into(),
            message: format!("expected a number ≥ 1; found {}", d.peak_to_average),
        });
    }
    Ok(())
}

fn check_model(m: &ServedModel) -> Result<(), ServingError> {
    if !(m.params.is_finite() && m.params >= 1e6 && m.params <= 1e14) {
        return Err(ServingError::Invalid {
            field: "params".into(),
            message: format!(
                "expected a parameter count between 1e6 and 1e14; found {}",
                m.params
            ),
        });
    }
    if !(m.active_params.is_finite() && m.active_params > 0.0 && m.active_params <= m.params) {
        return Err(ServingError::Invalid {
            field: "active_params".into(),
            message: format!(
                "expected a count > 0 and ≤ params ({}); found {}",
                m.params, m.active_params
            ),
        });
    }
    if let Some(k) = m.kv_bytes_per_token {
        if !(k.is_finite() && k > 0.0) {
            return Err(ServingError::Invalid {
                field: "kv_bytes_per_token".into(),
                message: format!("expected a number > 0; found {k}"),
            });
        }
    }
    Ok(())
}

/// Sizes one service on one part: memory fit, then a measured profile or the roofline, then
/// pools in whole nodes (prefill and decode separately when `disaggregated`, else one pool that
/// time-shares both), cost and interval.
pub fn estimate_serving(
    model: &ServedModel,
    demand: &ServingDemand,
    a: &Accelerator,
    profiles: &[ServingProfile],
    disaggregated: bool,
    price: Option<HourlyPrice>,
    p: &ServingParams,
) -> Result<ServingEstimate, ServingError> {
    check_model(model)?;
    check_demand(demand)?;
    let profile = profiles
        .iter()
        .find(|pr| profile_fits(pr, model, a, demand));
    let precision = profile
        .map(|pr| pr.precision)
        .or(model.precision)
        .unwrap_or_default();
    let context = demand.mean_context_tokens(p);
    // A profile knows its model's KV size when the caller does not.
    let model = &ServedModel {
        kv_bytes_per_token: model
            .kv_bytes_per_token
            .or(profile.and_then(|pr| pr.kv_bytes_per_token)),
        ..model.clone()
    };
    let mut fit = memory_fit(model, precision, context, a, p)?;
    let (input_tokens, _) = demand.lengths(p);

    // The rates at the fitted efficiency and at each end of its range (for the interval).
    let base = fit.clone();
    let roofline = |pe: f64, de: f64| -> Result<(f64, DecodePoint), ServingError> {
        let prefill = prefill_rate(model, precision, a, pe)?;
        let decode = decode_rate(model, &base, context, demand.tpot_ms, a, de, p)?;
        Ok((prefill, decode))
    };
    let (rates, spread, source, tpot) = match profile {
        Some(pr) => {
            let rates = TokenRates {
                input: pr.prefill_tokens_per_s_per_accel.unwrap_or(0.0),
                output: pr.decode_tokens_per_s_per_accel.unwrap_or(0.0),
            };
            (rates, None, pr.id.clone(), pr.tpot_ms)
        }
        None => {
            let (prefill, decode) = roofline(p.prefill_efficiency, p.decode_efficiency)?;
            fit.instance_accels = decode.group;
            fit.max_batch = decode.batch;
            let lo = roofline(p.prefill_efficiency_range[0], p.decode_efficiency_range[0]);
            let hi = roofline(p.prefill_efficiency_range[1], p.decode_efficiency_range[1]);
            let spread = match (lo, hi) {
                (Ok(l), Ok(h)) => Some((
                    TokenRates {
                        input: l.0,
                        output: l.1.tokens_per_s_per_accel,
                    },
                    TokenRates {
                        input: h.0,
                        output: h.1.tokens_per_s_per_accel,
                    },
                )),
                // At the low end a tight target may not be met at all: no upper bound then.
                _ => None,
            };
            let rates = TokenRates {
                input: prefill,
                output: decode.tokens_per_s_per_accel,
            };
            (
                rates,
                Some(spread),
                "roofline".to_string(),
                Some(decode.tpot_ms),
            )
        }
    };
    if profile.is_some() {
        // The memory answer still describes the split; its batch is the memory-limited one.
        fit.max_batch = memory_batch(model, precision, &fit, context);
    }
    if let Some(target) = demand.ttft_ms {
        // Prefill of one mean prompt on the largest split the model may use.
        let g = max_group(model, p).max(fit.min_group);
        let one = prefill_rate(model, precision, a, p.prefill_efficiency)?;
        let needed_ms = input_tokens / (one * f64::from(g)) * 1e3;
        if needed_ms > target {
            return Err(ServingError::LatencyTooTight {
                accel: a.id.clone(),
                target: "ttft-ms".into(),
                asked_ms: target,
                needed_ms,
                group: g,
            });
        }
    }

    let size = |r: TokenRates| pools(demand, r, fit.instance_accels, disaggregated, p);
    let (prefill_accels, decode_accels, accelerators) = size(rates);
    let nodes = accelerators.div_ceil(p.node_accels);
    let day_cost = |n: u64| {
        price
            .as_ref()
            .map(|pr| n as f64 * pr.usd_per_accel_hour * 24.0)
    };
    let per_m = |n: u64| day_cost(n).map(|c| c / (demand.output_tokens_per_day / 1e6));
    let interval = match spread {
        None => ServingInterval {
            accelerators: [accelerators; 2],
            usd_per_million_output_tokens: per_m(accelerators).map(|v| [v; 2]),
            basis: "measured profile: a point for its workload".into(),
        },
        Some(Some((lo, hi))) => {
            let (most, least) = (size(lo).2, size(hi).2);
            ServingInterval {
                accelerators: [least, most],
                usd_per_million_output_tokens: per_m(least).zip(per_m(most)).map(|(a, b)| [a, b]),
                basis:
                    "roofline at the lowest and highest efficiency fitted on the measured profiles"
                        .into(),
            }
        }
        Some(None) => ServingInterval {
            accelerators: [accelerators, u64::MAX],
            usd_per_million_output_tokens: None,
            basis:
                "roofline; at the lowest fitted efficiency the target is not met, so no upper bound"
                    .into(),
        },
    };
    Ok(ServingEstimate {
        accelerator: a.id.clone(),
        accelerators,
        nodes,
        prefill_accels,
        decode_accels,
        disaggregated,
        precision,
        tokens_per_s_per_accel: rates,
        cost_usd_per_day: day_cost(accelerators),
        usd_per_million_output_tokens: per_m(accelerators),
        price,
        memory: fit,
        tpot_ms: tpot,
        source,
        interval,
    })
}

fn memory_batch(model: &ServedModel, precision: Precision, fit: &MemoryFit, context: f64) -> u64 {
    let w = model.params * bytes_per_param(precision);
    let seq = fit.kv_gb_per_1k_tokens * 1e9 / 1000.0 * context;
    let free = f64::from(fit.instance_accels) * fit.usable_gb_per_accel * 1e9 - w;
    (free / seq).floor().max(0.0) as u64
}

/// (prefill, decode, total) accelerators for a demand at the given per-accelerator rates, in
/// whole nodes per pool and at least one instance each.
fn pools(
    d: &ServingDemand,
    r: TokenRates,
    instance: u32,
    disaggregated: bool,
    p: &ServingParams,
) -> (u64, u64, u64) {
    let in_rate = d.input_tokens_per_day / 86_400.0 * d.peak_to_average;
    let out_rate = d.output_tokens_per_day / 86_400.0 * d.peak_to_average;
    let whole = |need: f64| -> u64 {
        // 1e-9 absorbs rounding in an exact fit (10.000000001 nodes is 10).
        let n = (need - 1e-9).ceil().max(0.0) as u64;
        let node = p.node_accels.max(1);
        n.div_ceil(node)
            .saturating_mul(node)
            .max(u64::from(instance))
    };
    let prefill_need = if r.input > 0.0 {
        in_rate / r.input
    } else {
        0.0
    };
    let decode_need = out_rate / r.output;
    if disaggregated {
        let pre = if in_rate > 0.0 {
            whole(prefill_need)
        } else {
            0
        };
        let dec = whole(decode_need);
        (pre, dec, pre + dec)
    } else {
        let total = whole(prefill_need + decode_need);
        // One pool does both; the split says how its time divides.
        let share = prefill_need / (prefill_need + decode_need).max(f64::MIN_POSITIVE);
        let pre = (total as f64 * share).round() as u64;
        (pre, total - pre, total)
    }
}

/// The efficiency each measured row implies, for the fit and the docs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowEfficiency {
    pub id: String,
    /// Measured / roofline prefill rate; `None` when the row or the catalog lacks a figure.
    pub prefill: Option<f64>,
    /// The decode efficiency at which the roofline reproduces the row's decode rate.
    pub decode: Option<f64>,
}

/// What the profiles fit: geometric means and ranges of the per-row efficiencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfficiencyFit {
    pub rows: Vec<RowEfficiency>,
    pub prefill: f64,
    pub prefill_range: [f64; 2],
    pub decode: f64,
    pub decode_range: [f64; 2],
}

/// Fits the roofline's two efficiencies on measured rows. Prefill: measured over
/// `peak / (2 x active)`. Decode: the efficiency at which [`decode_rate`] (at the row's tpot
/// target, or memory-limited where the row states none, and at the row's prompt length or the
/// default) gives the measured rate, found by bisection (the rate grows with the efficiency).
pub fn fit_efficiency(
    profiles: &[ServingProfile],
    catalog: &Catalog,
    p: &ServingParams,
) -> EfficiencyFit {
    let mut rows = Vec::new();
    for pr in profiles {
        let Some(a) = catalog.get(&pr.accel) else {
            continue;
        };
        let model = ServedModel {
            params: pr.params,
            active_params: pr.active_params,
            precision: Some(pr.precision),
            kv_bytes_per_token: pr.kv_bytes_per_token,
        };
        let prefill = pr.prefill_tokens_per_s_per_accel.and_then(|m| {
            prefill_rate(&model, pr.precision, a, 1.0)
                .ok()
                .map(|r| m / r)
        });
        let context = pr.input_tokens.unwrap_or(p.default_input_tokens);
        let decode = pr.decode_tokens_per_s_per_accel.and_then(|m| {
            let fit = memory_fit(&model, pr.precision, context, a, p).ok()?;
            let rate = |e: f64| {
                decode_rate(&model, &fit, context, pr.tpot_ms, a, e, p)
                    .map(|d| d.tokens_per_s_per_accel)
                    .unwrap_or(0.0)
            };
            let (mut lo, mut hi) = (1e-4f64, 1.0f64);
            if rate(hi) < m {
                return None;
            }
            for _ in 0..60 {
                let mid = (lo * hi).sqrt();
                if rate(mid) < m {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            Some(hi)
        });
        rows.push(RowEfficiency {
            id: pr.id.clone(),
            prefill,
            decode,
        });
    }
    let summary = |xs: Vec<f64>| -> (f64, [f64; 2]) {
        if xs.is_empty() {
            return (f64::NAN, [f64::NAN; 2]);
        }
        let g = (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp();
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        (g, [lo, hi])
    };
    let (prefill, prefill_range) = summary(rows.iter().filter_map(|r| r.prefill).collect());
    let (decode, decode_range) = summary(rows.iter().filter_map(|r| r.decode).collect());
    EfficiencyFit {
        rows,
        prefill,
        prefill_range,
        decode,
        decode_range,
    }
}

/// One part type offered to Mélange's choice: its hourly price and, per request bucket
/// `[input-length class][output-length class]`, the most requests/s one part serves within the
/// latency target (profiled).
#[derive(Debug, Clone, PartialEq)]
pub struct MixPart {
    pub id: String,
    pub usd_per_hour: f64,
    pub max_rps: Vec<Vec<f64>>,
}

/// The chosen mix: parts of each type (in the order given) and the hourly cost.
#[derive(Debug, Clone, PartialEq)]
pub struct MixChoice {
    pub counts: Vec<u64>,
    pub usd_per_hour: f64,
}

/// Mélange (Griggs et al. 2024, arXiv 2404.14527): split each bucket's share of `rps` into
/// `slices` equal slices, give each slice to one part type, and buy per type the whole number of
/// parts its slices' loads need (`ceil(sum load / max_rps)`), at minimum cost. Solved exactly by
/// enumeration, which the sizes here allow (at most 2^20 assignments); the paper's ILP gives the
/// same optimum. `None` when no type can serve some bucket, or the search is too large.
pub fn choose_mix(
    parts: &[MixPart],
    shares: &[Vec<f64>],
    rps: f64,
    slices: u32,
) -> Option<MixChoice> {
    let mut loads: Vec<(usize, usize, f64)> = Vec::new();
    for (i, row) in shares.iter().enumerate() {
        for (j, share) in row.iter().enumerate() {
            if *share > 0.0 {
                for _ in 0..slices.max(1) {
                    loads.push((i, j, rps * share / f64::from(slices.max(1))));
                }
            }
        }
    }
    let n_types = parts.len();
    if n_types == 0 {
        return None;
    }
    let combos = (n_types as f64).powi(loads.len() as i32);
    if combos > (1u64 << 20) as f64 {
        return None;
    }
    let rate = |t: usize, i: usize, j: usize| {
        parts[t]
            .max_rps
            .get(i)
            .and_then(|r| r.get(j))
            .copied()
            .unwrap_or(0.0)
    };
    let mut best: Option<MixChoice> = None;
    let mut assign = vec![0usize; loads.len()];
    'outer: loop {
        let mut frac = vec![0.0f64; n_types];
        let mut ok = true;
        for (k, &(i, j, load)) in loads.iter().enumerate() {
            let r = rate(assign[k], i, j);
            if r <= 0.0 {
                ok = false;
                break;
            }
            frac[assign[k]] += load / r;
        }
        if ok {
            let counts: Vec<u64> = frac
                .iter()
                .map(|f| (f - 1e-9).ceil().max(0.0) as u64)
                .collect();
            let cost: f64 = counts
                .iter()
                .zip(parts)
                .map(|(n, p)| *n as f64 * p.usd_per_hour)
                .sum();
            if best.as_ref().is_none_or(|b| cost < b.usd_per_hour - 1e-12) {
                best = Some(MixChoice {
                    counts,
                    usd_per_hour: cost,
                });
            }
        }
        // Next assignment, as a number in base `n_types`.
        for slot in assign.iter_mut() {
            *slot += 1;
            if *slot < n_types {
                continue 'outer;
            }
            *slot = 0;
        }
        break;
    }
    best
}
