//! Money with a currency. Two currencies are never added without converting through `FxRates`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code ("USD", "CNY", "MYR").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(pub String);

impl Currency {
    pub fn usd() -> Currency {
        Currency("USD".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True for three upper-case ASCII letters.
    pub fn is_well_formed(&self) -> bool {
        self.0.len() == 3 && self.0.bytes().all(|b| b.is_ascii_uppercase())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Currency {
    fn from(s: &str) -> Currency {
        Currency(s.to_string())
    }
}

/// An amount in one currency. Unknown keys are refused: a misspelt `curency` in an inline
/// table must not pass silently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: f64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1} without converting")]
    Mismatch(Currency, Currency),
    #[error("no exchange rate for {0}")]
    NoRate(Currency),
}

impl Money {
    pub fn new(amount: f64, currency: impl Into<Currency>) -> Money {
        Money {
            amount,
            currency: currency.into(),
        }
    }

    pub fn zero(currency: Currency) -> Money {
        Money {
            amount: 0.0,
            currency,
        }
    }

    /// Sum of two amounts in the same currency.
    pub fn try_add(&self, other: &Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mismatch(
                self.currency.clone(),
                other.currency.clone(),
            ));
        }
        Ok(Money {
            amount: self.amount + other.amount,
            currency: self.currency.clone(),
        })
    }

    pub fn scale(&self, k: f64) -> Money {
        Money {
            amount: self.amount * k,
            currency: self.currency.clone(),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.amount.abs();
        let (v, suffix) = if a >= 1e9 {
            (self.amount / 1e9, "B")
        } else if a >= 1e6 {
            (self.amount / 1e6, "M")
        } else if a >= 1e3 {
            (self.amount / 1e3, "k")
        } else {
            (self.amount, "")
        };
        if suffix.is_empty() {
            write!(f, "{} {:.2}", self.currency, v)
        } else {
            write!(f, "{} {:.2}{}", self.currency, v, suffix)
        }
    }
}

/// Exchange rates: how many US dollars one unit of each currency buys.
/// USD is always 1.0 and need not be listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FxRates {
    pub usd_per_unit: BTreeMap<Currency, f64>,
}

impl FxRates {
    pub fn rate(&self, c: &Currency) -> Result<f64, MoneyError> {
        if c.as_str() == "USD" {
            return Ok(1.0);
        }
        self.usd_per_unit
            .get(c)
            .copied()
            .ok_or_else(|| MoneyError::NoRate(c.clone()))
    }

    pub fn has(&self, c: &Currency) -> bool {
        self.rate(c).is_ok()
    }

    pub fn to_usd(&self, m: &Money) -> Result<f64, MoneyError> {
        Ok(m.amount * self.rate(&m.currency)?)
    }

    /// `m` expressed in `target`.
    pub fn convert(&self, m: &Money, target: &Currency) -> Result<Money, MoneyError> {
        let usd = self.to_usd(m)?;
        Ok(Money {
            amount: usd / self.rate(target)?,
            currency: target.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_adds_across_currencies() {
        let a = Money::new(1.0, "USD");
        let b = Money::new(7.2, "CNY");
        assert!(matches!(a.try_add(&b), Err(MoneyError::Mismatch(..))));
        assert_eq!(a.try_add(&a).unwrap().amount, 2.0);
    }

    #[test]
    fn converts_through_usd() {
        let mut fx = FxRates::default();
        fx.usd_per_unit.insert("CNY".into(), 0.14);
        fx.usd_per_unit.insert("MYR".into(), 0.22);
        let m = fx
            .convert(&Money::new(100.0, "CNY"), &"MYR".into())
            .unwrap();
        assert!((m.amount - 100.0 * 0.14 / 0.22).abs() < 1e-9);
        assert!(matches!(
            fx.to_usd(&Money::new(1.0, "EUR")),
            Err(MoneyError::NoRate(_))
        ));
        assert_eq!(Money::new(40e9, "CNY").to_string(), "CNY 40.00B");
    }
}
