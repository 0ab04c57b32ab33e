//! Number, money and duration formatting for people, and HTML escaping.

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `n` things in words, singular for one: `count(1, "pool", "pools")` → "1 pool".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", int(n as u64), if n == 1 { one } else { many })
}

/// An integer with thousands separators: 12288 → "12,288".
pub fn int(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.iter().enumerate() {
        let left = digits.len() - i;
        if i > 0 && left / 3 * 3 == left {
            out.push(',');
        }
        out.push(*c);
    }
    out
}

/// A quantity with three significant figures and a K/M/B/T suffix: 40e9 → "40.0B".
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    let (v, suffix) = if a >= 1e12 {
        (x / 1e12, "T")
    } else if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e3 {
        (x / 1e3, "K")
    } else {
        (x, "")
    };
    format!("{}{suffix}", sig3(v))
}

/// Drops trailing zeros after a decimal point: "2.50" → "2.5", "4.00" → "4".
fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// At most three significant figures without a suffix, trailing zeros dropped: 3.14159 →
/// "3.14", 2.5 → "2.5", 1234.5 → "1,235".
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let r = v.round();
        let s = int(r.abs() as u64);
        return if r < 0.0 { format!("-{s}") } else { s };
    }
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    let s = trim_zeros(format!("{v:.decimals$}"));
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Money with its currency in front: "USD 1.23B", "CNY 40.0B".
pub fn money(amount: f64, currency: &str) -> String {
    if currency == "USD" {
        usd(amount)
    } else {
        format!("{currency} {}", short(amount))
    }
}

/// US dollars: "$1.23B".
pub fn usd(amount: f64) -> String {
    if amount < 0.0 {
        format!("−${}", short(-amount))
    } else {
        format!("${}", short(amount))
    }
}

/// A share as a percentage: 0.634 → "63.4%" (never "-0.0%", never "NaN%").
pub fn pct(share: f64) -> String {
    if !share.is_finite() {
        return "–".into();
    }
    format!("{}%", fixed(share * 100.0, 1))
}

/// `v` with `decimals` decimals, but never "-0.0" (a rounded tiny negative prints as zero)
/// and never "NaN" or "inf" (printed "–").
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// Seconds as the largest sensible unit: "45 s", "12.5 min", "3.20 h", "4.10 d".
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "–".into();
    }
    if secs < 60.0 {
        format!("{} s", fixed(secs, 0))
    } else if secs < 3600.0 {
        format!("{} min", sig3(secs / 60.0))
    } else if secs < 2.0 * 86400.0 {
        format!("{} h", sig3(secs / 3600.0))
    } else {
        format!("{} d", sig3(secs / 86400.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(12288), "12,288");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(short(40e9), "40B");
        assert_eq!(short(5.5e9), "5.5B");
        assert_eq!(short(5.56e9), "5.56B");
        assert_eq!(short(123.4), "123");
        assert_eq!(short(-2500.0), "-2.5K");
        assert_eq!(sig3(1234.5), "1,235");
        assert_eq!(sig3(-0.001), "0");
        assert_eq!(money(6.8e9, "USD"), "$6.8B");
        assert_eq!(money(40e9, "CNY"), "CNY 40B");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(pct(0.6), "60.0%");
        // Issue 17: no "-0.0" and no "NaN" in a report.
        assert_eq!(pct(-0.0001), "0.0%");
        assert_eq!(pct(f64::NAN), "–");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fixed(-0.5, 2), "-0.50");
        assert_eq!(fixed(f64::INFINITY, 1), "–");
        assert_eq!(duration(-0.2), "0 s");
        assert_eq!(duration(30.0), "30 s");
        assert_eq!(duration(5400.0), "1.5 h");
        assert_eq!(duration(3.0 * 86400.0), "3 d");
        assert_eq!(sig3(100.0), "100");
        assert_eq!(sig3(10.0), "10");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
