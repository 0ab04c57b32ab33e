//! Located diagnostics: every problem in an input names the file, line and column, the field,
//! and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// One problem found in an input file. Serialises as `{origin, line, column, field, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file (or "<built-in example>").
    pub origin: String,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted path of the field ("pool[2].site"), when known.
    pub field: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

/// Reads a text file; a byte that is not UTF-8 is reported at its line and column rather than
/// as an unlocated "stream did not contain valid UTF-8".
pub fn read_text(path: &std::path::Path) -> Result<String, Diagnostic> {
    let origin = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Diagnostic::new(&origin, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let mut d = Diagnostic::new(
            &origin,
            format!(
                "the byte 0x{:02X} is not UTF-8: expected UTF-8 text",
                bytes[at]
            ),
        );
        d.line = Some(line);
        d.column = Some(at - line_start + 1);
        d
    })
}

impl Diagnostic {
    pub fn new(origin: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            origin: origin.to_string(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets line and column from a byte offset into `text`.
    pub fn at_offset(mut self, text: &str, offset: usize) -> Diagnostic {
        let (line, column) = line_col(text, offset);
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    /// A problem with the value at `path`, located through `index` (at the nearest enclosing
    /// value when the field is missing).
    pub fn at_path(
        origin: &str,
        text: &str,
        index: &SpanIndex,
        path: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let d = Diagnostic::new(origin, message).field(path);
        match index.locate(path) {
            Some(span) => d.at_offset(text, span.start),
            None => d,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in one run over an input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    /// Orders by file, then line, then column (unlocated problems of a file first).
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.origin, a.line, a.column).cmp(&(&b.origin, b.line, b.column)));
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Where each value of a TOML document sits, by field path ("pool[2].site",
/// "site[0].verification[1].entity", "fx.CNY"), so that a problem found after parsing (an unknown
/// site, a duplicate id) can be reported at the offending value.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    /// Path -> byte range of the value.
    values: BTreeMap<String, Range<usize>>,
}

impl SpanIndex {
    /// Indexes `text`; a document with syntax errors is indexed as far as it could be recovered.
    pub fn new(text: &str) -> SpanIndex {
        let (doc, _errors) = toml::de::DeTable::parse_recoverable(text);
        let mut idx = SpanIndex::default();
        idx.values.insert(String::new(), doc.span());
        let _ = idx.table("", doc.get_ref());
        idx
    }

    /// Indexes a table's entries; returns the extent of everything in it, since the span toml
    /// gives an `[[array]]` entry covers only its header.
    fn table(&mut self, prefix: &str, t: &toml::de::DeTable<'_>) -> Option<Range<usize>> {
        let mut extent: Option<Range<usize>> = None;
        for (k, v) in t.iter() {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            let span = self.value(path, v);
            extent = Some(join(Some(join(extent, k.span())), span));
        }
        extent
    }

    fn value(&mut self, path: String, v: &toml::Spanned<toml::de::DeValue<'_>>) -> Range<usize> {
        let inner = match v.get_ref() {
            toml::de::DeValue::Table(t) => self.table(&path, t),
            toml::de::DeValue::Array(a) => {
                let mut extent = None;
                for (i, item) in a.iter().enumerate() {
                    let span = self.value(format!("{path}[{i}]"), item);
                    extent = Some(join(extent, span));
                }
                extent
            }
            _ => None,
        };
        // Keep the value's own start (an `[[array]]` header) so that problems with a whole entry
        // are reported at its header, but reach to its last line.
        let own = v.span();
        let span = match inner {
            Some(i) => own.start.min(i.start)..own.end.max(i.end),
            None => own.clone(),
        };
        let start_at_header = own.start..span.end;
        self.values.insert(path, start_at_header.clone());
        start_at_header
    }

    /// The byte range of the value at `path`, if the document has it.
    pub fn span(&self, path: &str) -> Option<Range<usize>> {
        self.values.get(path).cloned()
    }

    /// The byte range of the value at `path` or, when the document lacks it (a missing field),
    /// of its nearest enclosing value.
    pub fn locate(&self, path: &str) -> Option<Range<usize>> {
        let mut p = path;
        loop {
            if let Some(s) = self.values.get(p) {
                return Some(s.clone());
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// The path of the innermost value whose span holds `offset` ("" for the document).
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        self.values
            .iter()
            .filter(|(_, s)| s.start <= offset && offset < s.end.max(s.start + 1))
            .min_by_key(|(p, s)| (s.end - s.start, std::cmp::Reverse(p.len())))
            .map(|(p, _)| p.as_str())
    }
}

fn join(a: Option<Range<usize>>, b: Range<usize>) -> Range<usize> {
    match a {
        Some(a) => a.start.min(b.start)..a.end.max(b.end),
        None => b,
    }
}

/// "pool[2].site" -> "pool[2]" -> "pool" -> "".
fn parent_path(p: &str) -> &str {
    let cut = match (p.rfind('.'), p.rfind('[')) {
        (Some(d), Some(b)) => d.max(b),
        (Some(d), None) => d,
        (None, Some(b)) => b,
        (None, None) => 0,
    };
    &p[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_offset() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
        let d = Diagnostic::new("x.toml", "expected a number")
            .at_offset(t, 9)
            .field("bb");
        assert_eq!(d.to_string(), "x.toml:2:4: bb: expected a number");
    }
}
