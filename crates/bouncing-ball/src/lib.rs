//! bouncing-ball (placeholder, filled in by its issue).
