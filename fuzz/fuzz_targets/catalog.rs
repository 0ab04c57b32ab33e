//! Any bytes as a catalog file: parsed and validated, and a valid one merged into the built-in
//! catalog and its derived figures computed, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = xpufleet_io::validate::looks_like_catalog(text);
    if let Ok(c) = xpufleet_io::validate::check_catalog(text, "fuzz.toml") {
        let mut all = xpufleet_io::builtin_catalog();
        all.merge(c);
    }
});
