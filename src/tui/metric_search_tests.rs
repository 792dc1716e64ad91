//! The chart's list of metrics: grouped by kind under headings, searched as it is typed
//! (`/`), names cut so that each keeps its method and what tells it apart.

use super::fit_tests::{e2_lab, listed_metrics};
use crate::tui::keymap::Context;
use crate::tui::panes::Pane;
use crate::tui::testing::{press, screen};
use crossterm::event::KeyCode;

fn typed(app: &mut super::App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn the_metric_list_groups_metrics_under_their_kind() {
    let mut l = e2_lab(3.7);
    l.app.focus = Pane::Chart;
    let text = screen(&mut l.app, 200, 60);
    // E2 records 4 accuracies and 26 gradient SNRs
    let acc = text.find("accuracy (4)");
    let snr = text.find("gradient SNR (26)");
    assert!(acc.is_some() && snr.is_some(), "{text}");
    assert!(acc < snr, "{text}");
}

#[test]
fn slash_finds_a_metric_as_it_is_typed() {
    let mut l = e2_lab(3.7);
    l.app.focus = Pane::Chart;
    // an 80x24 chart pane has no list beside the chart: the search shows it
    let before = screen(&mut l.app, 80, 24);
    assert!(!before.contains("gradient SNR"), "{before}");
    press(&mut l.app, KeyCode::Char('/'));
    assert_eq!(l.app.context(), Context::MetricSearch);
    typed(&mut l.app, "dec snr n2");
    // the chart follows the first metric found
    assert_eq!(
        l.app.chart.metric.as_deref(),
        Some("dec/grad_snr/n2.dense1.b")
    );
    for (w, h) in [(80, 24), (100, 30), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        assert!(text.contains("/ dec snr n2"), "{w}x{h}:\n{text}");
        assert!(text.contains("2/30"), "{w}x{h}: the count found:\n{text}");
        assert!(text.contains("gradient SNR (2)"), "{w}x{h}:\n{text}");
        assert!(!text.contains("accuracy (4)"), "{w}x{h}:\n{text}");
    }
    // ↓ goes to the next metric found, Enter keeps it
    press(&mut l.app, KeyCode::Down);
    assert_eq!(
        l.app.chart.metric.as_deref(),
        Some("dec/grad_snr/n2.dense1.w")
    );
    press(&mut l.app, KeyCode::Enter);
    assert_eq!(l.app.context(), Context::Chart);
    assert_eq!(
        l.app.chart.metric.as_deref(),
        Some("dec/grad_snr/n2.dense1.w")
    );
    // Esc goes back to the metric shown before the search
    press(&mut l.app, KeyCode::Char('/'));
    typed(&mut l.app, "image");
    assert_eq!(l.app.chart.metric.as_deref(), Some("dec/image_accuracy"));
    press(&mut l.app, KeyCode::Esc);
    assert_eq!(
        l.app.chart.metric.as_deref(),
        Some("dec/grad_snr/n2.dense1.w")
    );
    // words no name has: said, and the metric stays
    press(&mut l.app, KeyCode::Char('/'));
    typed(&mut l.app, "zz");
    let text = screen(&mut l.app, 100, 30);
    assert!(text.contains("no metric has these words"), "{text}");
    assert_eq!(
        l.app.chart.metric.as_deref(),
        Some("dec/grad_snr/n2.dense1.w")
    );
}

#[test]
fn listed_names_keep_their_method_and_never_read_the_same() {
    let mut l = e2_lab(3.7);
    l.app.focus = Pane::Chart;
    press(&mut l.app, KeyCode::Char('/'));
    typed(&mut l.app, "snr");
    for (w, h) in [(80, 24), (100, 30), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        let names = listed_metrics(&text);
        assert!(names.len() >= 8, "{w}x{h}:\n{text}");
        for (i, a) in names.iter().enumerate() {
            assert!(
                a.starts_with("e2e/") || a.starts_with("dec/"),
                "{w}x{h}: {a} lost its method:\n{text}"
            );
            assert!(!names[i + 1..].contains(a), "{w}x{h}: {a} twice:\n{text}");
        }
    }
}
