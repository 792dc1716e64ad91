//! Figures 1, 3, 4 and 5: metrics of runs against iteration (or k), beside the paper's.

use super::caption::{self, Chance};
use super::{
    fit_references, ids, int_param, mean_line, missing_note, pick, reference, values, PaperFigure,
};
use crate::engine::RunState;
use crate::figures::model::{Axis, ErrorBars, ErrorPoint, Figure, Panel};
use crate::sweep::Stats;

const PAPER_NOTE: &str = "diamonds: the paper's plotted values";

/// An iteration axis that starts at 0.
fn iterations() -> Axis {
    Axis::new("iteration").range(0.0, 1.0)
}

/// Figure 1: E1's accuracy against iteration, one curve per d = 5, 10, 30.
pub fn figure1(runs: &[RunState]) -> PaperFigure {
    let mut p = Panel::new(
        "random parity: accuracy on fresh samples",
        iterations(),
        Axis::new("accuracy").range(0.4, 1.0),
    );
    let (mut used, mut missing, mut parts) = (Vec::new(), Vec::new(), Vec::new());
    for (c, d) in [5i64, 10, 30].into_iter().enumerate() {
        let (rs, unfinished) = pick(runs, "E1", |r| int_param(r, "d") == Some(d));
        // d = 30 is the check's case of chance
        let chance = (d == 30).then_some(Chance::E1);
        if let Some(v) = caption::verdict(&rs, "test_accuracy", chance) {
            parts.push(format!("d = {d}: {v}"));
        }
        match mean_line(&format!("d = {d}"), &rs, "test_accuracy", c) {
            Some(l) => p.lines.push(l),
            None => {
                let note = missing_note("E1", &format!("d = {d}"), unfinished);
                p.notes.push(note.clone());
                missing.push(note);
            }
        }
        used.extend(rs);
        p.references
            .push(reference(format!("paper d = {d}"), values::fig1(d), c));
        p.notes.push(values::fig1_note(d).to_string());
    }
    fit_references(&mut p);
    let mut figure = Figure::new("Figure 1 · E1: learning random parities", vec![p], 1);
    figure.notes.push(PAPER_NOTE.into());
    let caption = caption::line(&used, &parts);
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 1,
        about: "E1's accuracy against iteration for d = 5, 10 and 30",
        figure,
        runs: ids(used),
        missing,
        caption,
    }
}

/// A figure of one panel per value of parameter `param` of experiment `id`, each with the
/// end-to-end and decomposition curves of `metric` (`e2e/...` in red, `dec/...` in blue)
/// and the paper's values of both.
struct TwoMethods<'a> {
    id: &'a str,
    param: &'a str,
    values: &'a [i64],
    metric: &'a str,
    y: Axis,
    paper: fn(i64) -> values::Methods,
    note: fn(i64) -> &'static str,
    /// From which value of the parameter on the check expects end to end at chance.
    chance: Option<(i64, Chance)>,
}

/// The panels, the runs drawn, what is missing and the caption line.
fn two_methods(
    runs: &[RunState],
    spec: &TwoMethods,
) -> (Vec<Panel>, Vec<String>, Vec<String>, String) {
    let (mut panels, mut used, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let (mut drawn, mut parts) = (Vec::new(), Vec::new());
    for &v in spec.values {
        let mut p = Panel::new(
            format!("{} = {v}", spec.param),
            iterations(),
            spec.y.clone(),
        );
        let (rs, unfinished) = pick(runs, spec.id, |r| int_param(r, spec.param) == Some(v));
        let rs = longest(rs);
        let setting = format!("{} = {v}", spec.param);
        if rs.is_empty() {
            let note = missing_note(spec.id, &setting, unfinished);
            p.notes.push(note.clone());
            missing.push(note);
        }
        for (c, (prefix, name)) in [("e2e", "end-to-end"), ("dec", "decomposition")]
            .into_iter()
            .enumerate()
        {
            let metric = format!("{prefix}/{}", spec.metric);
            match mean_line(name, &rs, &metric, c) {
                Some(l) => p.lines.push(l),
                None if !rs.is_empty() => {
                    let note = format!("the {} runs with {setting} have no {metric}", spec.id);
                    p.notes.push(note.clone());
                    missing.push(note);
                }
                None => {}
            }
        }
        let chance = spec.chance.and_then(|(from, c)| (v >= from).then_some(c));
        let e2e = caption::verdict(&rs, &format!("e2e/{}", spec.metric), chance);
        let dec = caption::verdict(&rs, &format!("dec/{}", spec.metric), None);
        match (e2e, dec) {
            (Some(e), Some(d)) => parts.push(format!("E2E at {setting}: {e}; Dec {d}")),
            (Some(e), None) => parts.push(format!("E2E at {setting}: {e}")),
            (None, Some(d)) => parts.push(format!("Dec at {setting}: {d}")),
            (None, None) => {}
        }
        used.extend(ids(rs.iter().copied()));
        drawn.extend(rs);
        paper_refs(&mut p, (spec.paper)(v));
        let words = (spec.note)(v);
        if !words.is_empty() {
            p.notes.push(words.to_string());
        }
        fit_references(&mut p);
        panels.push(p);
    }
    used.sort();
    used.dedup();
    let line = caption::line(&drawn, &parts);
    (panels, used, missing, line)
}

/// Of `runs`, those trained for the most iterations (end to end where a run has two
/// lengths): a check's shorter runs of the same setting (E2's 2,500 iterations) do not mix
/// into the mean of the figure's runs at the paper's length (20,000).
fn longest(runs: Vec<&RunState>) -> Vec<&RunState> {
    let len = |r: &RunState| int_param(r, "steps_e2e").or_else(|| int_param(r, "steps"));
    let most = runs.iter().filter_map(|r| len(r)).max();
    runs.into_iter().filter(|r| len(r) == most).collect()
}

/// The paper's values of both methods, in their lines' colours (red, blue).
fn paper_refs(p: &mut Panel, m: values::Methods) {
    p.references
        .push(reference("paper end-to-end".into(), m.e2e, 0));
    p.references
        .push(reference("paper decomposition".into(), m.dec, 1));
}

fn no_note(_: i64) -> &'static str {
    ""
}

/// Figure 3: E2's accuracy against iteration, one panel per k = 1..4, both methods.
pub fn figure3(runs: &[RunState]) -> PaperFigure {
    let spec = TwoMethods {
        id: "E2",
        param: "k",
        values: &[1, 2, 3, 4],
        metric: "test_accuracy",
        y: Axis::new("accuracy").range(0.3, 1.0),
        paper: values::fig3,
        note: no_note,
        chance: Some((3, Chance::E2)),
    };
    let (panels, runs, missing, caption) = two_methods(runs, &spec);
    let mut figure = Figure::new(
        "Figure 3 · E2: parity of k line orientations, end-to-end vs decomposition",
        panels,
        2,
    );
    figure.notes.push(PAPER_NOTE.into());
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 3,
        about: "E2's test accuracy against iteration, one panel per k = 1..4, both methods",
        figure,
        runs,
        missing,
        caption,
    }
}

/// Figure 4: E4's primary loss against iteration, one panel per k = 10, 1000, 2000.
pub fn figure4(runs: &[RunState]) -> PaperFigure {
    let spec = TwoMethods {
        id: "E4",
        param: "k",
        values: &[10, 1000, 2000],
        metric: "test_loss",
        y: Axis::new("loss -z.N(x)").range(-1.0, 0.0),
        paper: values::fig4,
        note: values::fig4_note,
        chance: None,
    };
    let (panels, runs, missing, caption) = two_methods(runs, &spec);
    let mut figure = Figure::new(
        "Figure 4 · E4: the portfolio toy, end-to-end vs decomposition estimator",
        panels,
        3,
    );
    figure.notes.push(PAPER_NOTE.into());
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 4,
        about: "E4's primary loss against iteration, one panel per k = 10, 1000, 2000",
        figure,
        runs,
        missing,
        caption,
    }
}

/// The ks of an E3 run's summary (`dec_snr_k3` gives 3).
fn e3_ks(runs: &[&RunState]) -> Vec<i64> {
    let mut ks: Vec<i64> = runs
        .iter()
        .filter_map(|r| r.summary.as_ref())
        .flat_map(|s| s.metrics.keys())
        .filter_map(|k| k.strip_prefix("dec_snr_k")?.parse().ok())
        .collect();
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// Error bars of summary metric `{prefix}_snr_k{k}` over the runs, one point per k: the
/// mean, min..max. Means at or below 0 (under the probe's resolution), which a log axis
/// cannot show, are counted.
fn snr_bars(runs: &[&RunState], ks: &[i64], prefix: &str, label: &str) -> (ErrorBars, usize) {
    let mut pts = Vec::new();
    let mut dropped = 0;
    for &k in ks {
        let name = format!("{prefix}_snr_k{k}");
        let vals = runs.iter().filter_map(|r| r.summary.as_ref()?.get(&name));
        let Some(s) = Stats::of(vals) else { continue };
        // kept, so that the line breaks there rather than jump over it
        dropped += usize::from(s.mean <= 0.0);
        pts.push(ErrorPoint {
            x: k as f64,
            mean: s.mean,
            lo: s.min,
            hi: s.max,
        });
    }
    let bars = ErrorBars {
        label: label.into(),
        points: pts,
        colour: Some(usize::from(prefix == "dec")),
    };
    (bars, dropped)
}

/// Figure 5: E3's gradient SNR at initialisation against k, on a log axis.
pub fn figure5(runs: &[RunState]) -> PaperFigure {
    let (rs, unfinished) = pick(runs, "E3", |_| true);
    let ks = e3_ks(&rs);
    let mut p = Panel::new(
        "gradient SNR at N1's last layer, at initialisation",
        Axis::new("k").range(1.0, 4.0),
        Axis::new("SNR").log(true),
    );
    for (prefix, label) in [("e2e", "end-to-end"), ("dec", "decomposition")] {
        let (bars, dropped) = snr_bars(&rs, &ks, prefix, label);
        if dropped > 0 {
            p.notes.push(format!(
                "{label}: {dropped} values <= 0 (below the probe's resolution) not drawn"
            ));
        }
        p.errors.push(bars);
    }
    paper_refs(&mut p, values::fig5());
    p.notes.push(format!(
        "the paper's axis is unlabelled (\"of order 1e-4\"): its values are drawn with height {}",
        crate::figures::scale::fmt_tick(values::FIG5_AXIS)
    ));
    let mut missing = Vec::new();
    if ks.is_empty() {
        missing.push(missing_note(
            "E3",
            "an SNR per k in its summary",
            unfinished,
        ));
    }
    let mut figure = Figure::new(
        "Figure 5 · E3: SNR of the two gradients against k",
        vec![p],
        1,
    );
    figure
        .notes
        .push(format!("{PAPER_NOTE}; bars: min..max over runs"));
    let caption = snr_caption(&rs, &ks);
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 5,
        about: "E3's gradient SNR at initialisation against k, log scale, both methods",
        figure,
        runs: ids(rs),
        missing,
        caption,
    }
}

/// Figure 5's caption: E3 measures at initialisation, so no iterations; the SNR of both
/// methods per k, mean ± sd over the runs.
fn snr_caption(runs: &[&RunState], ks: &[i64]) -> String {
    let parts: Vec<String> = ks
        .iter()
        .filter_map(|k| {
            let of = |m: &str| {
                let name = format!("{m}_snr_k{k}");
                let s = Stats::of(runs.iter().filter_map(|r| r.summary.as_ref()?.get(&name)))?;
                Some(crate::stats::format::mean_sd(s.mean, s.sd))
            };
            Some(format!(
                "SNR at k = {k}: E2E {}; Dec {}",
                of("e2e")?,
                of("dec")?
            ))
        })
        .collect();
    if runs.is_empty() {
        return caption::line(runs, &[]);
    }
    let n = caption::seeds(runs);
    let mut s = format!(
        "Caption: at initialisation, {n} {}",
        if n == 1 { "seed" } else { "seeds" }
    );
    if !parts.is_empty() {
        s.push_str(". ");
        s.push_str(&parts.join(" · "));
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, Status};
    use crate::experiments::params_with;

    fn e1(id: &str, d: i64, seed: u64, acc: &[f64]) -> RunState {
        let params = params_with("E1", &[("d", &d.to_string())]).unwrap();
        let mut r = RunState::new(id, "E1", "t", params);
        r.seed = Some(seed);
        for (i, v) in acc.iter().enumerate() {
            r.apply(&Event::Metric {
                step: i as u64 * 1000,
                name: "test_accuracy".into(),
                value: *v,
            });
        }
        r.status = Status::Finished;
        r
    }

    #[test]
    fn figure_1_draws_the_mean_over_seeds_per_d_and_says_which_d_is_missing() {
        let mut stopped = e1("c", 30, 0, &[0.5, 0.5]);
        stopped.status = Status::Stopped;
        let runs = vec![
            e1("a", 5, 0, &[0.5, 0.7, 1.0]),
            e1("b", 5, 1, &[0.5, 0.9, 1.0]),
            stopped,
        ];
        let f = figure1(&runs);
        let p = &f.figure.panels[0];
        assert_eq!(p.lines.len(), 1);
        let d5 = &p.lines[0];
        assert_eq!(d5.label, "d = 5 (mean of 2)");
        assert!((d5.points[1].1 - 0.8).abs() < 1e-12);
        assert_eq!(d5.band[1], (1000.0, 0.7, 0.9));
        assert_eq!(f.runs, ["a", "b"]);
        assert_eq!(
            f.missing,
            [
                "no finished E1 run with d = 10",
                "no finished E1 run with d = 30 (1 not finished)"
            ]
        );
        assert_eq!(f.verdict(), "drawn in part");
        // the paper's values past the runs' 2,000 iterations are left out, and counted:
        let shown: usize = p.references.iter().map(|r| r.points.len()).sum();
        // d = 5 up to 2,100 (within 5% of the end), none of d = 10 (from 6,000) or d = 30
        assert_eq!(shown, 4, "{:?}", p.references);
        assert!(p.notes.iter().any(|n| n.contains("past iteration 2000")));
    }

    fn e2(id: &str, steps_e2e: i64, acc: f64) -> RunState {
        let o = [("k", "3"), ("steps_e2e", &steps_e2e.to_string())];
        let params = params_with("E2", &o).unwrap();
        let mut r = RunState::new(id, "E2", "t", params);
        for (step, name) in [(0, "e2e/test_accuracy"), (100, "e2e/test_accuracy")] {
            r.apply(&Event::Metric {
                step,
                name: name.into(),
                value: acc,
            });
        }
        r.status = Status::Finished;
        r
    }

    #[test]
    fn figure_3_draws_the_runs_at_the_longest_length_and_leaves_the_shorter_out() {
        let runs = vec![
            e2("check", 2500, 0.9),
            e2("paper-a", 20_000, 0.5),
            e2("paper-b", 20_000, 0.5),
        ];
        let f = figure3(&runs);
        let k3 = &f.figure.panels[2];
        let e2e = k3
            .lines
            .iter()
            .find(|l| l.label.starts_with("end-to-end"))
            .unwrap();
        assert_eq!(e2e.label, "end-to-end (mean of 2)");
        assert_eq!(e2e.points, vec![(0.0, 0.5), (100.0, 0.5)]);
        assert_eq!(f.runs, ["paper-a", "paper-b"]);
    }

    #[test]
    fn figure_5_leaves_out_what_a_log_axis_cannot_show_and_says_so() {
        let mut r = RunState::new("s", "E3", "t", Default::default());
        r.status = Status::Finished;
        let mut s = crate::experiments::ctx::Summary::default();
        s.set("dec_snr_k1", 1e-3).set("dec_snr_k2", 9e-4);
        s.set("e2e_snr_k1", 1e-3).set("e2e_snr_k2", -1e-9);
        r.summary = Some(s);
        let f = figure5(&[r]);
        let p = &f.figure.panels[0];
        assert!(p.y.log);
        let drawable = |i: usize| p.errors[i].points.iter().filter(|q| q.mean > 0.0).count();
        assert_eq!((drawable(0), drawable(1)), (1, 2));
        assert!(p.notes[0].contains("1 values <= 0"), "{:?}", p.notes);
        assert_eq!(f.verdict(), "drawn");
    }
}
