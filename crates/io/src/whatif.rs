//! What-if files: changes to a scenario for re-planning (owned by the plan work).
