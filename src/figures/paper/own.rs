//! Figures 6 and 7: the experiments' own figures (decoded curves of E6-E9, staircase fits
//! of E11-E14) laid out as the paper's panels, with the paper's words and numbers beside
//! this run's.

use super::{caption, ids, missing_note, pick, reference, values, PaperFigure};
use crate::engine::{RunState, Status};
use crate::experiments::ctx::Figure as RunFigure;
use crate::figures::model::{Axis, Figure, Line, Panel};
use crate::figures::scale::fmt_tick;
use crate::figures::views::experiment_panel;

/// A run's own curve figures whose title starts with `prefix`, oldest step first.
fn own_figures<'a>(run: &'a RunState, prefix: &str) -> Vec<(u64, &'a RunFigure)> {
    let mut v: Vec<(u64, &RunFigure)> = run
        .figures
        .values()
        .filter(|(_, f)| f.title().starts_with(prefix) && matches!(f, RunFigure::Curves { .. }))
        .map(|(s, f)| (*s, f))
        .collect();
    v.sort_by_key(|(s, _)| *s);
    v
}

/// The finished runs with `run`'s experiment and parameters, whatever their seed: the runs
/// behind the one a panel shows, which the caption sums up.
fn same_setup<'a>(runs: &'a [RunState], run: &RunState) -> Vec<&'a RunState> {
    runs.iter()
        .filter(|r| {
            r.experiment == run.experiment && r.params == run.params && r.status == Status::Finished
        })
        .collect()
}

/// `this run` or `this run (seed 7)`.
fn this_run(run: &RunState) -> String {
    match run.seed {
        Some(s) => format!("this run (seed {s})"),
        None => "this run".into(),
    }
}

/// The largest |decoded - true| of curve `curve` in a decoded-curve figure.
fn decoded_error(fig: &RunFigure, curve: &str) -> Option<f64> {
    let p = experiment_panel(fig);
    let of = |truth: bool| {
        p.lines.iter().find(|l| {
            l.label.starts_with(&format!("{curve} ")) && l.label.ends_with("true") == truth
        })
    };
    let (t, d) = (of(true)?, of(false)?);
    Some(
        t.points
            .iter()
            .zip(&d.points)
            .map(|(u, v)| (u.1 - v.1).abs())
            .fold(0.0, f64::max),
    )
}

/// A run's largest |decoded - true| over both curves at its last snapshot, and that step.
fn final_error(run: &RunState, id: &str) -> Option<(u64, f64)> {
    let (step, fig) = *own_figures(run, &format!("{id} at step ")).last()?;
    let a = decoded_error(fig, "A")?;
    let b = decoded_error(fig, "B")?;
    Some((step, a.max(b)))
}

/// For each of the paper's snapshots, the run's figure at the latest step at or before it
/// (the earliest, if all are later), unless an earlier snapshot took that one already.
fn snapshots<'a>(figs: &[(u64, &'a RunFigure)]) -> Vec<Option<(u64, &'a RunFigure)>> {
    let mut taken: Vec<u64> = Vec::new();
    values::FIG6_STEPS
        .iter()
        .map(|&t| {
            let at = figs
                .iter()
                .rev()
                .find(|(s, _)| *s <= t)
                .or_else(|| figs.first())
                .copied()?;
            if taken.contains(&at.0) {
                return None;
            }
            taken.push(at.0);
            Some(at)
        })
        .collect()
}

/// Panel of one curve (`A` or `B`) of one snapshot: the true curve in blue, the decoded
/// one in red, the paper's words and this run's largest error.
fn curve_panel(
    id: &str,
    curve: &str,
    col: usize,
    snap: Option<(u64, &RunFigure)>,
    who: &str,
) -> Panel {
    let target = fmt_tick(values::FIG6_STEPS[col] as f64);
    let words = format!("paper at {target}: {}", values::fig6_note(id, col));
    let Some((step, fig)) = snap else {
        let mut p = Panel::new(
            format!("{id} · curve {curve} · {target}"),
            Axis::new("x"),
            Axis::new("f(x)"),
        );
        p.notes.push(words);
        p.notes
            .push(format!("no snapshot near {target} in this run"));
        return p;
    };
    let mut p = experiment_panel(fig);
    p.title = format!("{id} · curve {curve} · step {}", fmt_tick(step as f64));
    p.lines
        .retain(|l| l.label.starts_with(&format!("{curve} ")));
    for l in &mut p.lines {
        l.colour = Some(if l.label.ends_with("true") { 1 } else { 0 });
    }
    p.notes.push(words);
    if let Some(err) = decoded_error(fig, curve) {
        p.notes
            .push(format!("{who}: max |decoded - true| = {}", fmt_tick(err)));
    }
    p
}

/// Figure 6: rows E6, E7, E8, E9; columns curve A at the paper's three snapshots, then
/// curve B at the same.
pub fn figure6(runs: &[RunState]) -> PaperFigure {
    let (mut panels, mut used, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let (mut drawn, mut parts): (Vec<&RunState>, Vec<String>) = (Vec::new(), Vec::new());
    for id in ["E6", "E7", "E8", "E9"] {
        let (rs, unfinished) = pick(runs, id, |_| true);
        // the longest run shows the most snapshots
        let run = rs.iter().max_by_key(|r| r.step);
        let figs = run
            .map(|r| own_figures(r, &format!("{id} at step ")))
            .unwrap_or_default();
        if figs.is_empty() {
            missing.push(missing_note(id, "decoded-curve figures", unfinished));
        }
        used.extend(run.map(|r| r.id.clone()));
        // the panels show one run; the caption sums up every seed of its setup
        let setup = run.map(|r| same_setup(runs, r)).unwrap_or_default();
        let errors: Vec<(u64, f64)> = setup.iter().filter_map(|r| final_error(r, id)).collect();
        if let Some(s) = crate::stats::Stats::of(errors.iter().map(|e| e.1)) {
            let at = errors.iter().map(|e| e.0).max().unwrap_or(0);
            parts.push(format!(
                "{id} (n = {}): max |decoded - true| at {} {}",
                s.n,
                fmt_tick(at as f64),
                crate::stats::format::mean_sd(s.mean, s.sd)
            ));
        }
        drawn.extend(setup);
        let who = run.map(|r| this_run(r)).unwrap_or_default();
        let snaps = snapshots(&figs);
        if !figs.is_empty() {
            for (t, _) in values::FIG6_STEPS
                .iter()
                .zip(&snaps)
                .filter(|(_, s)| s.is_none())
            {
                missing.push(format!(
                    "no {id} snapshot near iteration {t} (the run {} stops at {})",
                    run.map(|r| r.id.as_str()).unwrap_or_default(),
                    run.map_or(0, |r| r.step)
                ));
            }
        }
        for curve in ["A", "B"] {
            for (col, snap) in snaps.iter().enumerate() {
                panels.push(curve_panel(id, curve, col, *snap, &who));
            }
        }
    }
    let mut figure = Figure::new(
        "Figure 6 · E6-E9: true curves (blue) and decoded ones (red), snapshots 500 / 10k / 50k",
        panels,
        6,
    );
    figure.notes.push(
        "rows E6 (full linear map), E7 (3-tap convolution), E8 (whitened convolution), E9 \
         (autoencoder); the paper's Figure 6 was read by eye: its words are under each panel"
            .into(),
    );
    let caption = caption::line(&drawn, &parts);
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 6,
        about: "the decoded curves of E6-E9 at the paper's snapshots, curves A and B",
        figure,
        runs: used,
        missing,
        caption,
    }
}

/// The run Figure 7 shows for an experiment: E11 in its failing configuration (b* fixed at
/// -0.65, as in the paper's 7a) when there is one, else the newest.
fn fig7_run<'a>(runs: &'a [RunState], id: &str) -> (Option<&'a RunState>, usize) {
    let (rs, unfinished) = pick(runs, id, |_| true);
    let failing = rs.iter().copied().find(|r| {
        r.params.get("fix_b_star") == Some(&crate::spec::Value::Bool(true))
            && r.params.get("b_star") == Some(&crate::spec::Value::Float(-0.65))
    });
    (failing.or_else(|| rs.last().copied()), unfinished)
}

/// The label (green, dashed), the model's output (red) and, for E11, the surrogate at the
/// true r (pink), as in the paper.
fn staircase_colours(p: &mut Panel) {
    for l in &mut p.lines {
        if l.label.starts_with("label") {
            l.colour = Some(2);
            l.dashed = true;
        } else if l.label.starts_with("surrogate") {
            l.colour = Some(6);
        } else {
            l.colour = Some(0);
        }
    }
}

/// `this run (seed 7): rmse 0.93 · wrong_level 0.97`.
fn measured(run: &RunState, id: &str) -> String {
    format!("{}: {}", this_run(run), measures(run, id).join(" · "))
}

/// `["rmse 0.93 ± 0.02", ...]`: the summary values Figure 7 reports, over `runs`.
fn measures_over(runs: &[&RunState], id: &str) -> Vec<String> {
    values::fig7_measures(id)
        .iter()
        .filter_map(|m| {
            let s =
                crate::stats::Stats::of(runs.iter().filter_map(|r| r.summary.as_ref()?.get(m)))?;
            Some(format!(
                "{m} {}",
                crate::stats::format::mean_sd(s.mean, s.sd)
            ))
        })
        .collect()
}

/// `["rmse 0.93", "wrong_level 0.97"]`: the summary values Figure 7 reports of `run`.
fn measures(run: &RunState, id: &str) -> Vec<String> {
    values::fig7_measures(id)
        .iter()
        .filter_map(|m| {
            let v = run.summary.as_ref()?.get(m)?;
            Some(format!("{m} {}", crate::stats::format::value(v)))
        })
        .collect()
}

/// One panel of Figure 7 from a run's latest staircase figure.
fn staircase_panel(run: &RunState, id: &str, letter: &str) -> Option<Panel> {
    let (_, fig) = *own_figures(run, &format!("{id}:")).last()?;
    let mut p = experiment_panel(fig);
    p.title = format!("7{letter} · {id} · step {}", fmt_tick(run.step as f64));
    staircase_colours(&mut p);
    p.notes.push(values::fig7_note(id).to_string());
    p.notes.push(measured(run, id));
    if id == "E11" {
        // the paper's 7a: the output sits at the lowest level, b* - 1, for every point
        let b_star = run.summary.as_ref().and_then(|s| s.get("b_star"));
        let xs: Vec<f64> = p
            .lines
            .first()
            .map(|l| l.points.iter().map(|q| q.0).collect())?;
        if let (Some(b), Some(lo), Some(hi)) = (b_star, xs.first(), xs.last()) {
            let pts = (0..5)
                .map(|i| (lo + (hi - lo) * i as f64 / 4.0, b - 1.0))
                .collect();
            p.references
                .push(reference("paper output: b* - 1".into(), pts, 0));
        }
    }
    Some(p)
}

/// Where the output leaves the label most: the jump of the label nearest to the most points
/// on the wrong level (the first jump when there are none), and how many there are.
fn busiest_jump(label: &Line, output: &Line) -> Option<(f64, usize)> {
    let jumps: Vec<f64> = label
        .points
        .windows(2)
        .filter(|w| (w[1].1 - w[0].1).abs() > 1e-9)
        .map(|w| (w[0].0 + w[1].0) / 2.0)
        .collect();
    let first = *jumps.first()?;
    let mut counts = vec![0usize; jumps.len()];
    for (u, v) in label.points.iter().zip(&output.points) {
        if (u.1 - v.1).abs() > 1e-6 {
            let nearest = (0..jumps.len())
                .min_by(|&a, &b| (jumps[a] - u.0).abs().total_cmp(&(jumps[b] - u.0).abs()))?;
            counts[nearest] += 1;
        }
    }
    let (i, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n)?;
    Some(if *n == 0 { (first, 0) } else { (jumps[i], *n) })
}

/// Figure 7d: the E13 panel zoomed on the jump where its output is wrong most often.
fn zoom_panel(p: &Panel) -> Option<Panel> {
    const HALF: f64 = 0.01;
    let label = p.lines.iter().find(|l| l.label.starts_with("label"))?;
    let output = p.lines.iter().find(|l| !l.label.starts_with("label"))?;
    let (at, wrong) = busiest_jump(label, output)?;
    let mut z = p.clone();
    z.title = format!("7d · E13 zoomed on the jump at r = {}", fmt_tick(at));
    for l in &mut z.lines {
        l.points.retain(|q| (q.0 - at).abs() <= HALF);
    }
    z.x.range = Some((at - HALF, at + HALF));
    z.notes = vec![
        "paper (7d): the prediction flips back and forth across the boundary".into(),
        format!("this run: {wrong} test points on the wrong level next to this jump"),
    ];
    Some(z)
}

/// Figure 7: the staircase fits of E11 (7a), E12 (7b), E13 (7c, and 7d zoomed), E14 (7e).
pub fn figure7(runs: &[RunState]) -> PaperFigure {
    let (mut panels, mut used, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let (mut drawn, mut parts) = (Vec::new(), Vec::new());
    for (id, letter) in [("E11", "a"), ("E12", "b"), ("E13", "c"), ("E14", "e")] {
        let (run, unfinished) = fig7_run(runs, id);
        let panel = run.and_then(|r| staircase_panel(r, id, letter));
        let Some(p) = panel else {
            missing.push(missing_note(id, "a staircase figure", unfinished));
            let mut p = Panel::new(format!("7{letter} · {id}"), Axis::new("r"), Axis::new("y"));
            p.notes.push(values::fig7_note(id).to_string());
            p.notes.push(format!("no finished {id} run"));
            panels.push(p);
            continue;
        };
        used.extend(ids(run));
        if let Some(r) = run {
            // the panel shows one run; the caption sums up every seed of its setup
            let setup = same_setup(runs, r);
            let m = measures_over(&setup, id);
            if !m.is_empty() {
                parts.push(format!("{id} (n = {}): {}", setup.len(), m.join(", ")));
            }
            drawn.extend(setup);
        }
        let zoom = (id == "E13").then(|| zoom_panel(&p)).flatten();
        panels.push(p);
        panels.extend(zoom);
    }
    let mut figure = Figure::new(
        "Figure 7 · E11-E14: staircase targets, test points near b* sorted by r",
        panels,
        3,
    );
    figure.notes.push(
        "green dashed: the label u(r); red: the model's output; pink: E11's surrogate at the \
         true r; the paper's numbers beside this run's under each panel"
            .into(),
    );
    let caption = caption::line(&drawn, &parts);
    figure.notes.push(caption.clone());
    PaperFigure {
        number: 7,
        about: "the staircase fits of E11-E14 (and E13 zoomed on a jump)",
        figure,
        runs: used,
        missing,
        caption,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, Status};
    use crate::spec::Params;

    fn curves(title: &str, series: Vec<(&str, Vec<(f64, f64)>)>) -> RunFigure {
        RunFigure::Curves {
            title: title.into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: series
                .into_iter()
                .map(|(n, p)| (n.to_string(), p))
                .collect(),
        }
    }

    fn finished(id: &str, exp: &str, figs: Vec<(u64, RunFigure)>) -> RunState {
        let mut r = RunState::new(id, exp, "t", Params::default());
        r.status = Status::Finished;
        for (step, figure) in figs {
            r.step = r.step.max(step);
            r.apply(&Event::Figure { step, figure });
        }
        r.status = Status::Finished;
        r
    }

    fn decoded(id: &str, step: u64) -> (u64, RunFigure) {
        let line = |k: f64| {
            (0..10)
                .map(|x| (x as f64, k * x as f64))
                .collect::<Vec<_>>()
        };
        let title = format!("{id} at step {step}: true curves and the decoded ones");
        let f = curves(
            &title,
            vec![
                ("A true", line(1.0)),
                ("A decoded", line(1.5)),
                ("B true", line(2.0)),
                ("B decoded", line(2.0)),
            ],
        );
        (step, f)
    }

    #[test]
    fn figure_6_takes_the_snapshot_at_or_before_each_of_the_papers_and_no_other_twice() {
        let figs = [100, 500, 1000, 10_000].map(|s| decoded("E7", s));
        let refs: Vec<(u64, &RunFigure)> = figs.iter().map(|(s, f)| (*s, f)).collect();
        let steps: Vec<Option<u64>> = snapshots(&refs).iter().map(|s| s.map(|x| x.0)).collect();
        assert_eq!(steps, [Some(500), Some(10_000), None]);

        let runs = vec![finished("r7", "E7", figs.to_vec())];
        let f = figure6(&runs);
        assert_eq!(f.figure.panels.len(), 24, "4 rows of 6");
        assert_eq!(f.runs, ["r7"]);
        // E6, E8 and E9 have no run; E7's stops before the last snapshot
        assert_eq!(f.missing.len(), 4, "{:?}", f.missing);
        assert!(
            f.missing.contains(
                &"no E7 snapshot near iteration 50000 (the run r7 stops at 10000)".to_string()
            ),
            "{:?}",
            f.missing
        );
        let a500 = &f.figure.panels[6];
        assert_eq!(a500.title, "E7 · curve A · step 500");
        let labels: Vec<&str> = a500.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["A true", "A decoded"]);
        assert!(a500.notes[0].contains("badly off"));
        // |1.5 x - x| is largest at x = 9
        assert!(a500.notes[1].ends_with("= 4.5"), "{:?}", a500.notes);
        assert!(f.figure.panels[8].notes[1].contains("no snapshot near 50000"));
    }

    #[test]
    fn figure_7_zooms_on_the_jump_with_the_most_wrong_points() {
        let xs: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let label: Vec<(f64, f64)> = xs
            .iter()
            .map(|&x| {
                (
                    x,
                    if x < 0.3 {
                        0.0
                    } else if x < 0.7 {
                        1.0
                    } else {
                        2.0
                    },
                )
            })
            .collect();
        let mut out = label.clone();
        for p in out.iter_mut().filter(|p| (0.7..0.72).contains(&p.0)) {
            p.1 = 1.0;
        }
        let fig = curves(
            "E13: classifier output and the label u(r), test points near b* sorted by r",
            vec![("label u(r)", label), ("classifier output", out)],
        );
        let runs = vec![finished("r13", "E13", vec![(100, fig)])];
        let f = figure7(&runs);
        let titles: Vec<&str> = f.figure.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles.len(), 5, "{titles:?}");
        assert!(titles[2].starts_with("7c · E13") && titles[3].starts_with("7d · E13"));
        let zoom = &f.figure.panels[3];
        let (lo, hi) = zoom.x.range.unwrap();
        assert!(lo < 0.695 && hi > 0.695 && hi - lo < 0.05, "{lo}..{hi}");
        assert!(zoom.notes[1].contains("2 test points"), "{:?}", zoom.notes);
        let label = &zoom.lines[0];
        assert!(label.dashed && label.colour == Some(2));
        assert!(f.missing.iter().any(|m| m.contains("E11")));
    }
}
