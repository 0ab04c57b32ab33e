//! Cross-reference validation of scenarios with located errors (owned by the foundation work).
