//! Reading measured serving profiles (`data/serving/profiles.toml`, or a user's file of the
//! same shape) with located errors.

use std::path::Path;

use xpufleet_perf::serving::{ServingProfile, ServingProfiles};

use crate::diag::Diagnostics;
use crate::scenario::{check_item, parse_toml};

/// The built-in profiles' text.
pub const BUILTIN_SERVING_PROFILES: &str = include_str!("../../../data/serving/profiles.toml");

/// The built-in measured serving profiles.
pub fn builtin_serving_profiles() -> ServingProfiles {
    parse_serving_profiles(BUILTIN_SERVING_PROFILES, "data/serving/profiles.toml")
        .expect("the built-in serving profiles parse (checked by tests)")
}

/// Parses a profiles file, reporting every syntax error or one type error per `[[profile]]`.
pub fn parse_serving_profiles(text: &str, origin: &str) -> Result<ServingProfiles, Diagnostics> {
    parse_toml(text, origin, &[("profile", check_item::<ServingProfile>)])
}

/// Reads a profiles file.
pub fn load_serving_profiles(path: &Path) -> Result<ServingProfiles, Diagnostics> {
    let origin = path.display().to_string();
    let text = crate::diag::read_text(path)?;
    parse_serving_profiles(&text, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profiles_parse_and_every_row_names_its_source() {
        let p = builtin_serving_profiles();
        assert!(p.profiles.len() >= 3);
        for r in &p.profiles {
            assert!(r.source.starts_with("https://"), "{}: {}", r.id, r.source);
        }
    }

    #[test]
    fn a_bad_row_is_located() {
        let text = "[[profile]]\nid = \"x\"\nparams = \"lots\"\n";
        let err = parse_serving_profiles(text, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:3:10: profile[0].params"), "{err}");
    }
}
