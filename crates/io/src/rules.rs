//! Rule packs: reading versioned export-control rule files (owned by the comply work).
