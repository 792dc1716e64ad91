//! What the screen tests share.

/// Snapshots of a `Terminal<TestBackend>` with speeds, times and temporary paths redacted
/// (a changing speed must never break a snapshot).
macro_rules! snap {
    ($name:expr, $term:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"\d+(\.\d+)?[kM]?/s", "[rate]");
        settings.add_filter(r"\b\d+(\.\d+)? s\b", "[secs]");
        settings.add_filter(r"\b\d+[hm]\d+[ms]\b|\b\d+s\b", "[eta]");
        settings.add_filter(r"fail-lab-lab-\d+-\d+", "[tmp]");
        settings.set_snapshot_path("snapshots");
        settings.bind(|| insta::assert_snapshot!($name, $term.backend()));
    }};
}
pub(crate) use snap;
