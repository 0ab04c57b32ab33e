//! A figure from a data sheet or a report, with where it came from and how far to trust it.
//!
//! Unknown is a real state, never a zero: code that needs an unknown figure must say so
//! (see `Figure::require`), not carry on with 0.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize};

/// How far a figure can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Published by the vendor or reported by a cited source.
    #[default]
    Reported,
    /// Derived or estimated from thinner evidence; treat with care.
    Estimate,
    /// No public source found.
    Unknown,
    /// The part does not support this (A100 has no FP8): no value, and none is needed.
    Unsupported,
}

/// One figure: a value (or none), its source key and its confidence.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Figure {
    pub value: Option<f64>,
    pub confidence: Confidence,
    /// Source key, e.g. "K" or "AE"; see the catalog's `[sources]` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Figure {
    pub fn unknown() -> Figure {
        Figure {
            value: None,
            confidence: Confidence::Unknown,
            source: None,
            note: None,
        }
    }

    pub fn unsupported() -> Figure {
        Figure {
            value: None,
            confidence: Confidence::Unsupported,
            source: None,
            note: None,
        }
    }

    /// Unknown: needed but not known. (Unsupported figures are not unknown.)
    pub fn is_unknown(&self) -> bool {
        self.value.is_none() && self.confidence != Confidence::Unsupported
    }

    pub fn reported(value: f64, source: &str) -> Figure {
        Figure {
            value: Some(value),
            confidence: Confidence::Reported,
            source: Some(source.to_string()),
            note: None,
        }
    }

    pub fn estimate(value: f64, source: &str) -> Figure {
        Figure {
            confidence: Confidence::Estimate,
            ..Figure::reported(value, source)
        }
    }

    /// A user-supplied value (no source key).
    pub fn given(value: f64) -> Figure {
        Figure {
            value: Some(value),
            confidence: Confidence::Reported,
            source: None,
            note: None,
        }
    }

    pub fn get(&self) -> Option<f64> {
        self.value
    }

    pub fn is_known(&self) -> bool {
        self.value.is_some()
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            None if self.confidence == Confidence::Unsupported => f.write_str("-"),
            None => f.write_str("?"),
            Some(v) if self.confidence == Confidence::Estimate => write!(f, "~{v}"),
            Some(v) => write!(f, "{v}"),
        }
    }
}

/// A figure is written in one of three ways:
/// `989.5` (reported, no source key), `"?"` or `"unknown"` (unknown), or a table
/// `{ value = 989.5, source = "K", confidence = "estimate", note = "..." }`.
impl<'de> Deserialize<'de> for Figure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            value: Option<f64>,
            #[serde(default)]
            confidence: Option<Confidence>,
            source: Option<String>,
            note: Option<String>,
        }
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Figure;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number, \"?\" for unknown, \"-\" for unsupported, or a table { value, source, confidence, note }",
                )
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Figure, E> {
                if !v.is_finite() || v < 0.0 {
                    return Err(E::custom(format!(
                        "expected a finite, non-negative figure, found {v}"
                    )));
                }
                Ok(Figure::given(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Figure, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Figure, E> {
                self.visit_f64(v as f64)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Figure, E> {
                Ok(Figure::unknown())
            }
            fn visit_none<E: de::Error>(self) -> Result<Figure, E> {
                Ok(Figure::unknown())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Figure, E> {
                match v.trim() {
                    "?" | "unknown" => Ok(Figure::unknown()),
                    "-" | "unsupported" => Ok(Figure::unsupported()),
                    other => Err(E::custom(format!(
                        "expected a number or \"?\" for unknown, found {other:?}"
                    ))),
                }
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Figure, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if let Some(v) = full.value {
                    if !v.is_finite() || v < 0.0 {
                        return Err(de::Error::custom(format!(
                            "expected a finite, non-negative value, found {v}"
                        )));
                    }
                }
                let confidence = match (full.value, full.confidence) {
                    (None, Some(Confidence::Unsupported)) => Confidence::Unsupported,
                    (None, _) => Confidence::Unknown,
                    (Some(_), Some(c @ (Confidence::Unknown | Confidence::Unsupported))) => {
                        return Err(de::Error::custom(format!(
                            "a figure with a value cannot have confidence {c:?}"
                        )))
                    }
                    (Some(_), c) => c.unwrap_or_default(),
                };
                Ok(Figure {
                    value: full.value,
                    confidence,
                    source: full.source,
                    note: full.note,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_spellings() {
        let f: Figure = serde_json::from_str("989.5").unwrap();
        assert_eq!(f.get(), Some(989.5));
        let f: Figure = serde_json::from_str(r#""?""#).unwrap();
        assert_eq!(f.confidence, Confidence::Unknown);
        assert_eq!(f.get(), None);
        let f: Figure =
            serde_json::from_str(r#"{"value": 780, "source": "TH2", "confidence": "estimate"}"#)
                .unwrap();
        assert_eq!(f.confidence, Confidence::Estimate);
        assert_eq!(f.source.as_deref(), Some("TH2"));
        assert!(serde_json::from_str::<Figure>("-3").is_err());
        assert!(serde_json::from_str::<Figure>(r#""lots""#).is_err());
    }
}
