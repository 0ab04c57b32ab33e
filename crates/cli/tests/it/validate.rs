//! `xpufleet validate` end to end.

#[allow(unused_imports)]
use crate::support::*;
