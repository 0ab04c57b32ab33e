//! Any bytes as a what-if file, parsed and applied to the built-in example: every problem is a
//! located diagnostic, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(w) = xpufleet_io::whatif::parse_what_if(text, "fuzz.toml") else {
        return;
    };
    let ls = xpufleet_io::load_scenario(None, None).expect("the built-in example loads");
    let _ = w.apply(&ls.scenario, &ls.catalog);
    let _ = w.changes();
});
