//! snn-train (placeholder, filled in by its issue).
