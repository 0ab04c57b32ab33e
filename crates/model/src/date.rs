//! Calendar dates. Rules take effect on dates, scenarios are "as of" a date; times of day never
//! matter here, so a date is a plain day count.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date (proleptic Gregorian, no time zone).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(NaiveDate);

/// A date string that is not `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a date as YYYY-MM-DD, found {0:?}")]
pub struct DateParseError(pub String);

impl Date {
    /// The date, or `None` if it does not exist (2025-02-30).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        NaiveDate::from_ymd_opt(year, month, day).map(Date)
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// Days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        (later.0 - self.0).num_days()
    }

    /// The date `days` days later (earlier if negative).
    pub fn plus_days(self, days: i64) -> Date {
        Date(self.0 + chrono::Duration::days(days))
    }
}

impl FromStr for Date {
    type Err = DateParseError;

    /// Exactly `YYYY-MM-DD`: a four-digit year and two-digit month and day. chrono alone also
    /// takes `2025-3-1`, `-001-01-01` and `+12025-01-01`, which are typing slips, not dates.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().as_bytes();
        let shape = t.len() == 10
            && t.iter().enumerate().all(|(i, &b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape {
            return Err(DateParseError(s.to_string()));
        }
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Date)
            .map_err(|_| DateParseError(s.to_string()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts a string `"2025-06-01"` or a TOML date literal `2025-06-01` (which serde sees as a
/// one-entry map holding the date's text).
impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date as YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Date, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
                let Some((_, text)) = map.next_entry::<String, String>()? else {
                    return Err(de::Error::custom("expected a date as YYYY-MM-DD"));
                };
                text.parse().map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let a: Date = "2023-11-17".parse().unwrap();
        let b = Date::from_ymd(2025, 5, 13).unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "2023-11-17");
        assert_eq!(a.plus_days(1).to_string(), "2023-11-18");
        assert_eq!(Date::from_ymd(2025, 1, 1).unwrap().days_until(b), 132);
        assert!("2025-02-30".parse::<Date>().is_err());
        assert!("June 1".parse::<Date>().is_err());
        // Issue 27: only a four-digit year with two-digit month and day.
        for bad in [
            "2025-3-1",
            "-001-01-01",
            "+12025-01-01",
            "12025-01-01",
            "2025-03-01x",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!("0999-12-31".parse::<Date>().unwrap().year(), 999);
    }

    #[test]
    fn reads_toml_style_map_and_string() {
        let d: Date = serde_json::from_str(r#""2025-06-01""#).unwrap();
        assert_eq!(d, Date::from_ymd(2025, 6, 1).unwrap());
        let d: Date = serde_json::from_str(r#"{"$__toml_private_datetime":"2025-06-01"}"#).unwrap();
        assert_eq!(d, Date::from_ymd(2025, 6, 1).unwrap());
    }
}
