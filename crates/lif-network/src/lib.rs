//! lif-network (placeholder, filled in by its issue).
