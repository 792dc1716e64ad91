//! The runs table as a tree: a sweep holds one group per grid point, a group holds the runs
//! that differ only in their seed, and a run started by hand that shares every parameter with
//! another is grouped with it the same way. A run alone stays a row of its own.
//!
//! The tree holds run numbers only; it is rebuilt when runs come or go, never per frame.

use std::collections::HashMap;
use std::path::Path;

use super::run_row::{short_value, RunRow};
use crate::engine::RunState;
use crate::engine::{Series, Status};
pub use crate::figures::views::BandKind;
use crate::spec::Value;
use crate::sweep::group::group_key;
use crate::sweep::group::{is_threshold, Aggregate, Measure};
use crate::sweep::record::{self, SweepRecord};
use crate::sweep::{BandPoint, Stats};

/// A row of the runs table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// A sweep, by its id.
    Sweep(String),
    /// A group, by its key (see [`Tree::key_of`]).
    Group(String),
    /// A run, by its number.
    Run(usize),
}

/// Runs of one experiment with the same parameters (and the same sweep, if any).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNode {
    pub key: String,
    pub sweep: Option<String>,
    pub experiment: String,
    /// Run numbers, oldest first.
    pub members: Vec<usize>,
}

/// A sweep's groups, in the order their first runs came.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepNode {
    pub id: String,
    pub experiment: String,
    /// Indices into [`Tree::groups`].
    pub groups: Vec<usize>,
}

/// What the lab knows of a sweep from its record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepInfo {
    pub title: String,
    /// The swept parameters, in the grid's order.
    pub axes: Vec<String>,
    /// Runs the sweep plans (grid points x seeds).
    pub total: usize,
    /// Its runs, by run id, that the record knows.
    pub runs: Vec<String>,
    /// The Slurm jobs it was submitted as (none: it trains on this machine).
    pub slurm_jobs: Vec<String>,
    /// True while the queue may still hold its tasks (asked with `squeue`).
    pub queue_open: bool,
    /// What the queue said last (`Slurm: 3 queued · PENDING (Resources)`).
    pub queue: Option<String>,
}

impl SweepInfo {
    pub fn of(record: &crate::sweep::record::SweepRecord) -> Self {
        Self {
            title: record.title.clone(),
            axes: record.grid.iter().map(|a| a.name.clone()).collect(),
            total: record.runs.len(),
            runs: record.runs.iter().filter_map(|e| e.run.clone()).collect(),
            slurm_jobs: Self::slurm_jobs_of(record),
            queue_open: record.runs.iter().any(|e| !e.is_done()),
            queue: None,
        }
    }
}

/// The sweeps whose records are in the runs folder (unreadable ones are left out: their
/// runs still show, grouped by their sweep id).
pub fn saved_sweeps(runs_dir: &Path) -> Vec<(String, SweepInfo)> {
    record::list(runs_dir)
        .into_iter()
        .filter_map(|id| {
            let rec = SweepRecord::load(runs_dir, &id).ok()?;
            Some((id, SweepInfo::of(&rec)))
        })
        .collect()
}

impl SweepInfo {
    /// The Slurm jobs of a sweep's record (none for a sweep that trains here).
    pub fn slurm_jobs_of(rec: &crate::sweep::record::SweepRecord) -> Vec<String> {
        rec.slurm
            .as_ref()
            .map(|s| s.jobs.iter().map(|j| j.id.clone()).collect())
            .unwrap_or_default()
    }
}

/// The sweeps, groups and top-level rows of a set of runs.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub sweeps: Vec<SweepNode>,
    pub groups: Vec<GroupNode>,
    /// The table's top-level rows, newest first.
    pub top: Vec<Node>,
    group_at: HashMap<String, usize>,
    sweep_at: HashMap<String, usize>,
    group_of_run: HashMap<usize, usize>,
}

impl Tree {
    /// A group's key: its sweep (empty for runs started by hand), its experiment and its
    /// parameters.
    pub fn key_of(r: &RunRow) -> String {
        let sweep = r.state.sweep.as_deref().unwrap_or("");
        format!(
            "{sweep}\u{1e}{}",
            group_key(&r.state.experiment, &r.state.params)
        )
    }

    /// The tree of `rows` (oldest first, as the lab keeps them).
    pub fn build(rows: &[RunRow]) -> Tree {
        let mut t = Tree::default();
        for r in rows {
            let key = Self::key_of(r);
            let g = match t.group_at.get(&key) {
                Some(&g) => g,
                None => {
                    let g = t.groups.len();
                    t.groups.push(GroupNode {
                        key: key.clone(),
                        sweep: r.state.sweep.clone(),
                        experiment: r.state.experiment.clone(),
                        members: Vec::new(),
                    });
                    t.group_at.insert(key, g);
                    if let Some(id) = &r.state.sweep {
                        let s = *t.sweep_at.entry(id.clone()).or_insert_with(|| {
                            t.sweeps.push(SweepNode {
                                id: id.clone(),
                                experiment: r.state.experiment.clone(),
                                groups: Vec::new(),
                            });
                            t.sweeps.len() - 1
                        });
                        t.sweeps[s].groups.push(g);
                    }
                    g
                }
            };
            t.groups[g].members.push(r.num);
            t.group_of_run.insert(r.num, g);
        }
        t.top = t.top_rows();
        t
    }

    /// Sweeps, groups of two runs or more, and runs alone, by their newest run.
    fn top_rows(&self) -> Vec<Node> {
        let newest = |g: &GroupNode| g.members.last().copied().unwrap_or(0);
        let mut top: Vec<(usize, Node)> = self
            .sweeps
            .iter()
            .map(|s| {
                let n = s.groups.iter().map(|&g| newest(&self.groups[g])).max();
                (n.unwrap_or(0), Node::Sweep(s.id.clone()))
            })
            .collect();
        for g in self.groups.iter().filter(|g| g.sweep.is_none()) {
            match g.members.as_slice() {
                [one] => top.push((*one, Node::Run(*one))),
                _ => top.push((newest(g), Node::Group(g.key.clone()))),
            }
        }
        top.sort_by_key(|t| std::cmp::Reverse(t.0));
        top.into_iter().map(|(_, n)| n).collect()
    }

    pub fn group(&self, key: &str) -> Option<&GroupNode> {
        self.group_at.get(key).map(|&g| &self.groups[g])
    }

    pub fn sweep(&self, id: &str) -> Option<&SweepNode> {
        self.sweep_at.get(id).map(|&s| &self.sweeps[s])
    }

    /// The groups of sweep `id`, in grid order.
    pub fn sweep_groups(&self, id: &str) -> Vec<&GroupNode> {
        self.sweep(id)
            .map(|s| s.groups.iter().map(|&g| &self.groups[g]).collect())
            .unwrap_or_default()
    }

    /// The group run `num` belongs to (a run alone is a group of one).
    pub fn group_of(&self, num: usize) -> Option<&GroupNode> {
        self.group_of_run.get(&num).map(|&g| &self.groups[g])
    }

    /// True if the group is a row of the table: in a sweep, or two runs or more.
    pub fn is_row(g: &GroupNode) -> bool {
        g.sweep.is_some() || g.members.len() >= 2
    }

    /// The rows above run `num`, outermost first (a sweep, then its group).
    pub fn parents_of_run(&self, num: usize) -> Vec<Node> {
        let Some(g) = self.group_of(num) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(s) = &g.sweep {
            out.push(Node::Sweep(s.clone()));
        }
        if Self::is_row(g) {
            out.push(Node::Group(g.key.clone()));
        }
        out
    }

    /// The row directly above `node`, if any.
    pub fn parent(&self, node: &Node) -> Option<Node> {
        match node {
            Node::Sweep(_) => None,
            Node::Group(key) => self.group(key)?.sweep.clone().map(Node::Sweep),
            Node::Run(num) => self.parents_of_run(*num).pop(),
        }
    }

    /// Every run under `node`, oldest first.
    pub fn runs_of(&self, node: &Node) -> Vec<usize> {
        match node {
            Node::Run(n) => vec![*n],
            Node::Group(key) => self
                .group(key)
                .map(|g| g.members.clone())
                .unwrap_or_default(),
            Node::Sweep(id) => {
                let mut v: Vec<usize> = self
                    .sweep_groups(id)
                    .into_iter()
                    .flat_map(|g| g.members.iter().copied())
                    .collect();
                v.sort_unstable();
                v
            }
        }
    }
}

/// A grid point's values as `d=4 lr=0.1`, in the sweep's axis order.
pub fn point_label(axes: &[String], params: &crate::spec::Params) -> String {
    axes.iter()
        .map(|a| {
            let v = params.get(a).map(short_value).unwrap_or_else(|| "-".into());
            format!("{a}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of a swept parameter as a number for a chart's x axis.
pub fn axis_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// What the rows under a group or a sweep add up to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// Runs by status, in the order of [`STATUS_ORDER`], zero counts left out.
    pub counts: Vec<(Status, usize)>,
    pub total: usize,
    /// Distinct seeds among the runs.
    pub seeds: usize,
    /// The main metric: once every run has ended, what the headless sweep table says of it
    /// (the runs' summaries, one run per seed); while runs train, the statistics of each
    /// seed's latest value.
    pub main: Option<Measure>,
    /// Once every run has ended, the group's first time to a threshold (`steps_to_*`) with
    /// what its runs say of it.
    pub threshold: Option<(String, Measure)>,
    /// The longest time left among the runs that train.
    pub eta_s: Option<f64>,
}

/// How status counts are listed: what trains first, then what ended.
pub const STATUS_ORDER: [Status; 9] = [
    Status::Running,
    Status::Elsewhere,
    Status::Paused,
    Status::Queued,
    Status::Finished,
    Status::Stopped,
    Status::Interrupted,
    Status::Diverged,
    Status::Failed,
];

impl Tally {
    pub fn of(runs: &[&RunRow], metric: Option<&str>) -> Tally {
        let counts = STATUS_ORDER
            .iter()
            .map(|&s| (s, runs.iter().filter(|r| r.state.status == s).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut seeds: Vec<u64> = runs.iter().filter_map(|r| r.state.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let ended = runs.iter().all(|r| !r.is_active());
        let (mut main, mut threshold) = (None, None);
        if ended && !runs.is_empty() {
            let states: Vec<&RunState> = runs.iter().map(|r| &r.state).collect();
            let agg = Aggregate::of(&states);
            main = metric.and_then(|m| agg.metrics.get(m).cloned());
            threshold = agg
                .metric_names("")
                .into_iter()
                .find(|n| is_threshold(n))
                .and_then(|n| Some((n.clone(), agg.metrics.get(&n)?.clone())));
        }
        if let (None, Some(m)) = (&main, metric) {
            // each seed's latest value, from its latest run that has one
            let with: Vec<&RunRow> = runs
                .iter()
                .copied()
                .filter(|r| r.state.latest(m).is_some())
                .collect();
            main = Stats::of(per_seed(&with).iter().filter_map(|r| r.state.latest(m)))
                .map(Measure::Result);
        }
        let eta_s = runs
            .iter()
            .filter_map(|r| r.state.eta_secs())
            .reduce(f64::max);
        Tally {
            counts,
            total: runs.len(),
            seeds: seeds.len(),
            main,
            threshold,
            eta_s,
        }
    }

    /// `n=3`, or `n=1 seed, 3 runs` when seeds repeat.
    pub fn count_cell(&self) -> String {
        crate::stats::format::count_cell(self.seeds, self.total)
    }

    /// Runs that ended, whatever how.
    pub fn ended(&self) -> usize {
        self.counts
            .iter()
            .filter(|(s, _)| !s.is_active() && *s != Status::Elsewhere)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn n(&self, status: Status) -> usize {
        self.counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// One run per seed, the latest (by run id), for statistics that count each seed once; runs
/// without a seed yet (queued) each count.
pub fn per_seed<'a>(runs: &[&'a RunRow]) -> Vec<&'a RunRow> {
    let mut out: Vec<&RunRow> = Vec::new();
    for r in runs {
        let same = r
            .state
            .seed
            .and_then(|s| out.iter().position(|o| o.state.seed == Some(s)));
        match same {
            Some(i) if out[i].state.id < r.state.id => out[i] = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    out
}

/// The band of metric `name` over `runs`, each seed once (steps aligned as
/// [`crate::stats::band`] does).
pub fn band_of(runs: &[&RunRow], name: &str) -> Vec<BandPoint> {
    // each seed's latest run that has the metric
    let with: Vec<&RunRow> = runs
        .iter()
        .copied()
        .filter(|r| r.state.metrics.contains_key(name))
        .collect();
    let series: Vec<&Series> = per_seed(&with)
        .into_iter()
        .filter_map(|r| r.state.metrics.get(name))
        .collect();
    crate::sweep::group::series_band(&series)
}

/// A band of `metric` of `experiment` as three series: the mean and the spread's edges,
/// within what the metric can be.
pub fn band_series(
    band: &[BandPoint],
    spread: BandKind,
    experiment: &str,
    metric: &str,
) -> [Series; 3] {
    let mut out: [Series; 3] = Default::default();
    for p in band {
        let (lo, hi) = spread.range_of(&p.stats, experiment, metric);
        out[0].push(p.step, p.stats.mean);
        out[1].push(p.step, lo);
        out[2].push(p.step, hi);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunState;
    use crate::experiments::params_with;

    fn row(num: usize, d: &str, seed: u64, sweep: Option<&str>) -> RunRow {
        let mut s = RunState::new("", "E1", "t", params_with("E1", &[("d", d)]).unwrap());
        s.seed = Some(seed);
        s.status = Status::Finished;
        s.sweep = sweep.map(str::to_string);
        RunRow {
            num,
            state: s,
            ticket: None,
            marked: false,
            differs: Vec::new(),
            scenario: None,
            figures_loaded: false,
        }
    }

    #[test]
    fn sweeps_hold_groups_and_hand_runs_group_by_everything_but_the_seed() {
        let rows = vec![
            row(1, "5", 0, None),
            row(2, "4", 0, Some("s1")),
            row(3, "4", 1, Some("s1")),
            row(4, "6", 0, Some("s1")),
            row(5, "6", 1, Some("s1")),
            row(6, "5", 1, None),
            row(7, "7", 0, None),
            // the same parameters as run 1, but in a sweep: not in run 1's group
            row(8, "5", 3, Some("s2")),
        ];
        let t = Tree::build(&rows);
        assert_eq!(t.sweeps.len(), 2);
        let s1: Vec<Vec<usize>> = t
            .sweep_groups("s1")
            .iter()
            .map(|g| g.members.clone())
            .collect();
        assert_eq!(s1, vec![vec![2, 3], vec![4, 5]]);
        let hand = t.group_of(6).unwrap();
        assert_eq!(hand.members, vec![1, 6]);
        assert!(hand.sweep.is_none() && Tree::is_row(hand));
        // newest first: s2 (8), run 7 alone, the hand group (6), s1 (5)
        assert_eq!(
            t.top,
            vec![
                Node::Sweep("s2".into()),
                Node::Run(7),
                Node::Group(hand.key.clone()),
                Node::Sweep("s1".into()),
            ]
        );
        assert_eq!(
            t.parents_of_run(3),
            vec![
                Node::Sweep("s1".into()),
                Node::Group(t.group_of(3).unwrap().key.clone())
            ]
        );
        assert!(t.parents_of_run(7).is_empty());
        assert_eq!(t.runs_of(&Node::Sweep("s1".into())), vec![2, 3, 4, 5]);
        assert_eq!(t.parent(&Node::Run(6)), Some(Node::Group(hand.key.clone())));
    }
}
