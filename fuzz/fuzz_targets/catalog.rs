//! Any bytes as a catalog file: parsed, validated and laid over the built-in catalog (an entry
//! naming a known id overrides only the fields it gives), and every part of the result read
//! back, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = xpufleet_io::validate::looks_like_catalog(text);
    let mut all = xpufleet_io::builtin_catalog();
    if xpufleet_io::validate::check_catalog_over(&mut all, text, "fuzz.toml").is_ok() {
        let ids: Vec<String> = all.ids().map(str::to_string).collect();
        for id in &ids {
            assert!(all.get(id).is_some(), "{id} is listed but cannot be read");
        }
    }
});
