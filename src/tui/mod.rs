//! The lab: a ratatui terminal UI over the engine (never touches dfdx).
