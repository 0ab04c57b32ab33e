//! A served model (`[[service]]`): the inference demand the fleet must cover, in tokens a day,
//! with its model shape, latency targets, tenant and where its data may be processed.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Precision};

/// One request-size bucket of a service (Mélange's buckets): a share of the requests with a
/// typical prompt and answer length. Buckets split the service's daily volumes; they do not add
/// to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBucket {
    /// Prompt length of a request in the bucket, tokens.
    pub input_tokens: f64,
    /// Answer length of a request in the bucket, tokens.
    pub output_tokens: f64,
    /// Share of the requests, 0..=1; a service's shares add up to 1.
    pub share: f64,
}

/// A model served to users: the demand the plan must cover with the pools and candidates it may
/// use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Total parameters (all experts of a mixture-of-experts model).
    pub params: f64,
    /// Parameters used per token; `params` when absent (a dense model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_params: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_layers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_model: Option<u32>,
    /// KV cache per token of context, bytes (MLA and other layouts give it directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_bytes_per_token: Option<f64>,
    /// Grouped-query attention shape: with `n_layers` it gives the KV size per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_heads: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u32>,
    /// Weight precision served; a measured profile or BF16 decides when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    pub input_tokens_per_day: f64,
    pub output_tokens_per_day: f64,
    /// Request-size buckets (`[[service.bucket]]`); one bucket of the service's mean lengths
    /// when empty.
    #[serde(default, rename = "bucket", skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<RequestBucket>,
    /// Peak rate over the daily average the capacity must carry (1 = average).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub peak_to_average: f64,
    /// Time to first token target, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Time per output token target, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    /// The entity the service runs for (the end user the compliance gate asks about); the
    /// scenario's company when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Accelerator ids the service may run on; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_accels: Vec<String>,
    /// Countries where its data may be processed (site countries); empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_countries: Vec<CountryCode>,
}

fn one() -> f64 {
    1.0
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

impl Service {
    /// Parameters used per token.
    pub fn active(&self) -> f64 {
        self.active_params.unwrap_or(self.params)
    }

    /// The KV cache per token: given, or from the attention shape (`n_layers`, `kv_heads`,
    /// `head_dim`, at two bytes an element), or `None` for the serving model's assumption.
    pub fn kv_bytes(&self) -> Option<f64> {
        self.kv_bytes_per_token
            .or(match (self.n_layers, self.kv_heads, self.head_dim) {
                (Some(l), Some(h), Some(d)) => {
                    Some(2.0 * f64::from(l) * f64::from(h) * f64::from(d) * 2.0)
                }
                _ => None,
            })
    }

    /// May the service run on `accel` at a site in `country`?
    pub fn allows(&self, accel: &str, country: &str) -> bool {
        (self.allowed_accels.is_empty() || self.allowed_accels.iter().any(|a| a == accel))
            && (self.data_countries.is_empty() || self.data_countries.iter().any(|c| c == country))
    }
}
