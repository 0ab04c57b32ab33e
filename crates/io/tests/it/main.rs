//! Trace readers on real files from `data/traces/` (golden counts checked independently with
//! a few lines of Python when the files were chosen), and on small malformed inputs.

mod traces;
