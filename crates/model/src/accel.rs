//! Accelerators (GPUs, NPUs, MLUs) and the catalog that lists them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Figure};

/// Numeric precision of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Bf16,
    Fp16,
    Fp8,
    Int8,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "bf16" => Ok(Precision::Bf16),
            "fp16" => Ok(Precision::Fp16),
            "fp8" => Ok(Precision::Fp8),
            "int8" => Ok(Precision::Int8),
            _ => Err(format!(
                "expected one of bf16, fp16, fp8, int8; found {s:?}"
            )),
        }
    }
}

/// One accelerator part. Every performance figure is a `Figure`: a value or unknown, with its
/// source key and confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    /// Stable id used everywhere else ("h100-sxm", "ascend-910b").
    pub id: String,
    pub vendor: String,
    /// Headquarters country of the vendor ("US", "CN"): decides what is a domestic supplier.
    pub vendor_country: CountryCode,
    /// Marketing name ("H100 SXM").
    pub name: String,
    /// Family used by the performance model to choose its defaults ("hopper", "ampere",
    /// "blackwell", "ada", "ascend", "mlu").
    pub family: String,
    /// Designed or marketed for data centres (decides 3A090 vs the consumer branch).
    #[serde(default = "yes")]
    pub data_center: bool,
    /// Dense (no sparsity) BF16 TFLOPS.
    #[serde(default = "Figure::unknown")]
    pub tflops_bf16: Figure,
    /// Dense FP16 TFLOPS; taken as equal to BF16 when unknown.
    #[serde(default = "Figure::unknown")]
    pub tflops_fp16: Figure,
    /// Dense FP8 TFLOPS.
    #[serde(default = "Figure::unknown")]
    pub fp8_tflops: Figure,
    /// Dense INT8 TOPS.
    #[serde(default = "Figure::unknown")]
    pub int8_tops: Figure,
    #[serde(default = "Figure::unknown")]
    pub memory_gb: Figure,
    #[serde(default = "Figure::unknown")]
    pub memory_tbps: Figure,
    /// Chip-to-chip (scale-up) bandwidth, GB/s, aggregate per chip.
    #[serde(default = "Figure::unknown")]
    pub interconnect_gbps: Figure,
    /// Board power (TDP), W.
    #[serde(default = "Figure::unknown")]
    pub power_w: Figure,
    /// Applicable (logic) die area, mm².
    #[serde(default = "Figure::unknown")]
    pub die_mm2: Figure,
    #[serde(default)]
    pub launch_year: Option<i32>,
    /// Reported unit price, USD.
    #[serde(default = "Figure::unknown")]
    pub price_usd: Figure,
    /// Chips per card or module counted as one accelerator (MLU370-X8 is two chips on a card).
    #[serde(default = "one")]
    pub chips_per_unit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

impl Accelerator {
    /// Dense peak TFLOPS at a precision; FP16 falls back to BF16 (same tensor-core rate on every
    /// listed part). `None` when the figure is unknown.
    pub fn peak_tflops(&self, p: Precision) -> Option<f64> {
        match p {
            Precision::Bf16 => self.tflops_bf16.get(),
            Precision::Fp16 => self.tflops_fp16.get().or(self.tflops_bf16.get()),
            Precision::Fp8 => self.fp8_tflops.get(),
            Precision::Int8 => self.int8_tops.get(),
        }
    }

    /// The figure for a named field ("tflops_bf16", "power_w", ...), for error messages and
    /// overrides.
    pub fn figure(&self, field: &str) -> Option<&Figure> {
        Some(match field {
            "tflops_bf16" => &self.tflops_bf16,
            "tflops_fp16" => &self.tflops_fp16,
            "fp8_tflops" => &self.fp8_tflops,
            "int8_tops" => &self.int8_tops,
            "memory_gb" => &self.memory_gb,
            "memory_tbps" => &self.memory_tbps,
            "interconnect_gbps" => &self.interconnect_gbps,
            "power_w" => &self.power_w,
            "die_mm2" => &self.die_mm2,
            "price_usd" => &self.price_usd,
            _ => return None,
        })
    }

    /// Names of all figure fields, in catalog order.
    pub const FIGURE_FIELDS: [&'static str; 10] = [
        "tflops_bf16",
        "tflops_fp16",
        "fp8_tflops",
        "int8_tops",
        "memory_gb",
        "memory_tbps",
        "interconnect_gbps",
        "power_w",
        "die_mm2",
        "price_usd",
    ];
}

/// The accelerator catalog, keyed by id, plus the source keys it cites.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Source key -> citation ("K" -> "github s-w-kelly/chip-export-controls ...").
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    #[serde(default, rename = "accelerator")]
    pub accelerators: Vec<Accelerator>,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Accelerator> {
        self.accelerators.iter().find(|a| a.id == id)
    }

    /// Adds or replaces accelerators by id (a user file over the built-in catalog).
    pub fn merge(&mut self, other: Catalog) {
        self.sources.extend(other.sources);
        for a in other.accelerators {
            match self.accelerators.iter_mut().find(|x| x.id == a.id) {
                Some(slot) => *slot = a,
                None => self.accelerators.push(a),
            }
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.accelerators.iter().map(|a| a.id.as_str())
    }
}
