//! The character set of ids (entities, sites, pools, accelerators, jobs, ...): what a scenario,
//! a catalog or an importer may name a thing, so that every id can be written unquoted into a
//! Slurm configuration line, a Kubernetes label value or a comment without changing its meaning.
//!
//! An id is 1 to [`ID_MAX_CHARS`] ASCII letters, digits, `-`, `_` and `.`, starting and ending
//! with a letter or digit: exactly a Kubernetes label value. No whitespace, no line breaks
//! (`\n`, `\r`, U+2028, ...), no `#`, `:`, `,`, `=`, quotes or brackets, which Slurm and YAML
//! give meaning to.

/// The longest id: a Kubernetes label value's limit.
pub const ID_MAX_CHARS: usize = 63;

/// The rule in words, for error messages ("expected ...").
pub const ID_RULE: &str = "an id of 1 to 63 ASCII letters, digits, '-', '_' or '.', \
                           starting and ending with a letter or digit";

/// Why `id` is not an id, or `None` when it is one.
pub fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("it is empty".into());
    }
    let n_chars = id.chars().count();
    if n_chars > ID_MAX_CHARS {
        return Some(format!("it has {n_chars} characters"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!("it contains {}", describe_char(c)));
    }
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends_ok(id.chars().next()) || !ends_ok(id.chars().last()) {
        return Some("it does not start and end with a letter or digit".into());
    }
    None
}

/// Whether `id` is an id (see [`id_problem`]).
pub fn is_id(id: &str) -> bool {
    id_problem(id).is_none()
}

/// A character as an error message shows it: printable ones quoted, others by code point, so
/// that a hostile line break is named rather than printed.
pub fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else if c == ' ' {
        "a space".into()
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_the_examples_use_are_ids() {
        for id in [
            "acme-ai",
            "my-h100",
            "nvidia-h100-sxm",
            "a",
            "dc1.zone_b",
            "A100",
        ] {
            assert!(is_id(id), "{id}");
        }
    }

    #[test]
    fn hostile_ids_are_refused_with_the_reason() {
        for (id, why) in [
            ("", "it is empty"),
            ("a\nPartitionName=x", "it contains U+000A"),
            ("a#b", "it contains '#'"),
            ("a:b", "it contains ':'"),
            ("a\"b", "it contains '\"'"),
            ("a'b", "it contains '''"),
            ("a,b", "it contains ','"),
            ("a b", "it contains a space"),
            ("a\u{2028}b", "it contains U+2028"),
            ("a\u{85}b", "it contains U+0085"),
            ("é", "it contains U+00E9"),
            ("..", "it does not start and end with a letter or digit"),
            ("-a", "it does not start and end with a letter or digit"),
            ("a.", "it does not start and end with a letter or digit"),
        ] {
            assert_eq!(id_problem(id).as_deref(), Some(why), "{id:?}");
        }
        assert_eq!(
            id_problem(&"x".repeat(64)).as_deref(),
            Some("it has 64 characters")
        );
        assert!(is_id(&"x".repeat(63)));
    }
}
