//! The runs the lab knows: saved ones read at start, queued ones waiting for a slot, and live
//! ones fed by events. Each has a short number (`#7`) for the table.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::engine::pool::Ticket;
use crate::engine::{Event, RunEvent, RunState, Status};
use crate::experiments;
use crate::spec::{Params, Scenario};

pub use super::run_row::{short_value, RunRow};
use super::run_tree::{GroupNode, Node, SweepInfo, Tree};

/// Every run of the session, oldest first, and the table's tree of sweeps and groups over
/// them.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub rows: Vec<RunRow>,
    /// The table's selected row: a run, a group or a sweep.
    pub cursor: Option<Node>,
    /// Sweeps, groups and runs alone (rebuilt when runs come or go).
    pub tree: Tree,
    /// What the lab knows of each sweep from its record.
    pub sweeps: BTreeMap<String, SweepInfo>,
    /// Groups marked for comparison, by key.
    pub marked_groups: BTreeSet<String>,
    /// Rows folded or unfolded against their default (see [`Runs::is_open`]).
    toggled: HashSet<Node>,
    /// Sweeps started in this lab: unfolded from the start.
    fresh_sweeps: HashSet<String>,
    /// Folder names of the runs read from disk, for the runs folder's scan.
    known_dirs: HashSet<String>,
    next_num: usize,
    /// Where the last event's run was found.
    last_hit: Option<usize>,
    /// Runs continued from a checkpoint, by id: the last step of each metric read back from
    /// their files when they started again (their first events repeat what the files hold).
    resumed: BTreeMap<String, BTreeMap<String, u64>>,
    /// Only the runs that match it are shown (`/` in the runs pane).
    pub filter: Option<super::run_filter::Filter>,
}

impl Runs {
    pub fn new(saved: Vec<RunState>) -> Self {
        let mut me = Self {
            next_num: 1,
            ..Self::default()
        };
        for s in saved {
            me.push(s, None, None);
        }
        me.recompute_differs();
        me.select_first();
        me
    }

    fn push(
        &mut self,
        state: RunState,
        ticket: Option<Ticket>,
        scenario: Option<Scenario>,
    ) -> usize {
        let num = self.next_num.max(1);
        self.next_num = num + 1;
        if let Some(name) = state.dir.as_ref().and_then(|d| d.file_name()) {
            self.known_dirs.insert(name.to_string_lossy().into_owned());
        }
        self.rows.push(RunRow {
            num,
            state,
            ticket,
            marked: false,
            differs: Vec::new(),
            scenario,
            figures_loaded: false,
        });
        num
    }

    /// True if the run passes the filter.
    fn passes(&self, num: usize) -> bool {
        match (&self.filter, self.get(num)) {
            (None, Some(_)) => true,
            (Some(f), Some(r)) => f.matches(r),
            (_, None) => false,
        }
    }

    /// True if the row shows what is under it.
    pub fn is_open(&self, node: &Node) -> bool {
        let default = match node {
            Node::Sweep(id) => self.fresh_sweeps.contains(id),
            // a sweep's grid points fold; a group started by hand shows its runs
            Node::Group(key) => self.tree.group(key).is_some_and(|g| g.sweep.is_none()),
            Node::Run(_) => false,
        };
        default != self.toggled.contains(node)
    }

    /// Folds or unfolds a sweep or a group row.
    pub fn set_open(&mut self, node: &Node, open: bool) {
        if matches!(node, Node::Run(_)) || self.is_open(node) == open {
            return;
        }
        if !self.toggled.remove(node) {
            self.toggled.insert(node.clone());
        }
    }

    /// A sweep started in this lab: its groups show from the start.
    pub fn add_fresh_sweep(&mut self, id: &str, info: SweepInfo) {
        self.fresh_sweeps.insert(id.to_string());
        self.sweeps.insert(id.to_string(), info);
    }

    /// The table's rows, as it shows them: each with its depth (0 at the top).
    pub fn display_rows(&self) -> Vec<(Node, u8)> {
        let mut out = Vec::new();
        for node in &self.tree.top {
            match node {
                Node::Run(n) => {
                    if self.passes(*n) {
                        out.push((node.clone(), 0));
                    }
                }
                Node::Group(key) => self.push_group(key, 0, &mut out),
                Node::Sweep(id) => {
                    let groups = self.tree.sweep_groups(id);
                    if !groups
                        .iter()
                        .any(|g| g.members.iter().any(|&n| self.passes(n)))
                    {
                        continue;
                    }
                    out.push((node.clone(), 0));
                    if self.is_open(node) {
                        for g in groups {
                            self.push_group(&g.key, 1, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    fn push_group(&self, key: &str, depth: u8, out: &mut Vec<(Node, u8)>) {
        let Some(g) = self.tree.group(key) else {
            return;
        };
        let shown: Vec<usize> = g
            .members
            .iter()
            .copied()
            .filter(|&n| self.passes(n))
            .collect();
        if shown.is_empty() {
            return;
        }
        let node = Node::Group(key.to_string());
        let open = self.is_open(&node);
        out.push((node, depth));
        if open {
            out.extend(shown.into_iter().map(|n| (Node::Run(n), depth + 1)));
        }
    }

    /// The runs the table shows, in its order (rows of folded groups left out).
    pub fn display(&self) -> impl Iterator<Item = &RunRow> {
        self.display_rows()
            .into_iter()
            .filter_map(|(n, _)| match n {
                Node::Run(num) => self.get(num),
                _ => None,
            })
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// How many rows the table shows.
    pub fn shown(&self) -> usize {
        self.display_rows().len()
    }

    /// How many runs pass the filter (group and sweep rows are not runs).
    pub fn passing(&self) -> usize {
        self.rows.iter().filter(|r| self.passes(r.num)).count()
    }

    /// The selected run's number (none while a group or a sweep is selected).
    pub fn selected(&self) -> Option<usize> {
        match self.cursor {
            Some(Node::Run(n)) => Some(n),
            _ => None,
        }
    }

    /// Selects run `num`, unfolding the rows above it.
    pub fn select(&mut self, num: usize) {
        for p in self.tree.parents_of_run(num) {
            self.set_open(&p, true);
        }
        self.cursor = Some(Node::Run(num));
    }

    /// Selects a row; for a run, unfolds the rows above it.
    pub fn select_node(&mut self, node: Node) {
        match node {
            Node::Run(n) => self.select(n),
            other => self.cursor = Some(other),
        }
    }

    /// The group the cursor is on, if it is on a group row.
    pub fn selected_group(&self) -> Option<&GroupNode> {
        match &self.cursor {
            Some(Node::Group(key)) => self.tree.group(key),
            _ => None,
        }
    }

    /// The sweep of the selected row: the sweep row itself, or the sweep of the group or run.
    pub fn selected_sweep(&self) -> Option<String> {
        match self.cursor.as_ref()? {
            Node::Sweep(id) => Some(id.clone()),
            Node::Group(key) => self.tree.group(key)?.sweep.clone(),
            Node::Run(n) => self.get(*n)?.state.sweep.clone(),
        }
    }

    /// Unfolds the selected row; on a run or an open row, nothing.
    pub fn unfold(&mut self) {
        if let Some(node) = self.cursor.clone() {
            self.set_open(&node, true);
        }
    }

    /// Folds the selected row, or, when it is folded already (or a run), goes to the row
    /// above it.
    pub fn fold(&mut self) {
        let Some(node) = self.cursor.clone() else {
            return;
        };
        if !matches!(node, Node::Run(_)) && self.is_open(&node) {
            self.set_open(&node, false);
        } else if let Some(parent) = self.tree.parent(&node) {
            self.cursor = Some(parent);
        }
    }

    /// Reads the series of these runs that are still on disk (saved runs are loaded from
    /// their summaries). Returns true if any was read.
    pub fn load_series(&mut self, nums: impl IntoIterator<Item = usize>) -> bool {
        let mut read = false;
        for n in nums {
            if let Some(r) = self.get_mut(n) {
                read |= r.state.load_series();
            }
        }
        read
    }

    /// The runs whose series the table's rows around the cursor draw: `reach` rows each side
    /// (more than a screen), every run of a group row among them.
    pub fn runs_near_cursor(&self, reach: usize) -> Vec<usize> {
        let rows = self.display_rows();
        let at = self.selected_index().unwrap_or(0);
        let lo = at.saturating_sub(reach);
        let mut out = Vec::new();
        for (node, _) in rows.iter().skip(lo).take(2 * reach + 1) {
            match node {
                Node::Run(n) => out.push(*n),
                Node::Group(_) => out.extend(self.tree.runs_of(node)),
                Node::Sweep(_) => {}
            }
        }
        out
    }

    /// The runs under the selected row (one for a run).
    pub fn selected_runs(&self) -> Vec<usize> {
        self.cursor
            .as_ref()
            .map(|n| self.tree.runs_of(n))
            .unwrap_or_default()
    }

    /// Shows only the runs that match `filter` (none: all); the selection moves to the first
    /// shown run if the filter hides it.
    pub fn set_filter(&mut self, filter: Option<super::run_filter::Filter>) {
        self.filter = filter.filter(|f| !f.is_empty());
        if self.selected_index().is_none() {
            self.select_first();
        }
    }

    /// Rows are kept in number order: found by a binary search.
    fn index_of(&self, num: usize) -> Option<usize> {
        self.rows.binary_search_by_key(&num, |r| r.num).ok()
    }

    /// The run with this id (its folder's name), if the table holds it.
    pub fn by_id(&self, id: &str) -> Option<&RunRow> {
        self.rows.iter().find(|r| r.state.id == id)
    }

    pub fn get(&self, num: usize) -> Option<&RunRow> {
        self.index_of(num).map(|i| &self.rows[i])
    }

    pub fn get_mut(&mut self, num: usize) -> Option<&mut RunRow> {
        self.index_of(num).map(|i| &mut self.rows[i])
    }

    pub fn selected_row(&self) -> Option<&RunRow> {
        self.selected().and_then(|n| self.get(n))
    }

    pub fn selected_row_mut(&mut self) -> Option<&mut RunRow> {
        let n = self.selected()?;
        self.get_mut(n)
    }

    /// The selected row's position in the table.
    pub fn selected_index(&self) -> Option<usize> {
        let c = self.cursor.as_ref()?;
        self.display_rows().iter().position(|(n, _)| n == c)
    }

    pub fn move_by(&mut self, delta: isize) {
        let rows = self.display_rows();
        if rows.is_empty() {
            self.cursor = None;
            return;
        }
        let i = self.selected_index().unwrap_or(0) as isize + delta;
        let i = i.clamp(0, rows.len() as isize - 1) as usize;
        self.cursor = Some(rows[i].0.clone());
    }

    pub fn select_first(&mut self) {
        self.cursor = self.display_rows().into_iter().next().map(|(n, _)| n);
    }

    pub fn select_last(&mut self) {
        self.cursor = self.display_rows().pop().map(|(n, _)| n);
    }

    /// A saved run found after the start (another process began it); returns its number.
    /// The selection stays where it is.
    pub fn add_saved(&mut self, state: RunState) -> usize {
        let num = self.push(state, None, None);
        self.recompute_differs();
        if self.cursor.is_none() {
            self.select_first();
        }
        num
    }

    /// Saved runs found after the start, at once (the table is rebuilt once); returns their
    /// numbers.
    pub fn add_saved_many(&mut self, states: impl IntoIterator<Item = RunState>) -> Vec<usize> {
        let nums: Vec<usize> = states
            .into_iter()
            .map(|s| self.push(s, None, None))
            .collect();
        self.recompute_differs();
        if self.cursor.is_none() {
            self.select_first();
        }
        nums
    }

    /// True if a row is the run in folder `name` of the runs folder (a run of this lab, even
    /// one whose first event has not arrived yet, is known by its id, which is that name).
    pub fn knows_dir(&self, name: &str) -> bool {
        self.known_dirs.contains(name)
    }

    /// A run waiting in the pool's queue; returns its number.
    pub fn add_queued(&mut self, ticket: Ticket, scenario: &Scenario) -> usize {
        self.add_queued_to(ticket, scenario, None)
    }

    /// A run of sweep `sweep` (or none) waiting in the pool's queue; returns its number.
    pub fn add_queued_to(
        &mut self,
        ticket: Ticket,
        scenario: &Scenario,
        sweep: Option<&str>,
    ) -> usize {
        let state = RunState::new(
            "",
            &scenario.experiment,
            &scenario.title,
            scenario.params.clone(),
        );
        let num = self.push(state, Some(ticket), Some(scenario.clone()));
        if let Some(r) = self.get_mut(num) {
            r.state.seed = scenario.seed;
            r.state.sweep = sweep.map(str::to_string);
        }
        self.recompute_differs();
        num
    }

    /// Run #num waits in the pool's queue as `ticket` to continue from its checkpoint.
    pub fn requeue(&mut self, num: usize, ticket: Ticket) {
        if let Some(r) = self.get_mut(num) {
            r.ticket = Some(ticket);
            r.state.status = Status::Queued;
            r.state.reason = None;
        }
    }

    /// The queued run `ticket` got its run id (its events follow). A run continued from its
    /// checkpoint is read again from its files, which were cut back to the checkpoint.
    pub fn launched(&mut self, ticket: Ticket, id: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.ticket == Some(ticket))?;
        if r.state.id == id {
            if let Some(state) = r.state.dir.as_deref().and_then(|d| RunState::load(d).ok()) {
                let last = state
                    .metrics
                    .iter()
                    .filter_map(|(name, s)| Some((name.clone(), s.last()?.step)))
                    .collect();
                self.resumed.insert(id.to_string(), last);
                r.state = state;
            }
            r.state.summary = None;
            r.state.status = Status::Queued;
        }
        r.ticket = None;
        r.state.id = id.to_string();
        if r.state.status == Status::Queued {
            r.state.status = Status::Running;
        }
        let num = r.num;
        self.known_dirs.insert(id.to_string());
        Some(num)
    }

    /// The queued run `ticket` could not start.
    pub fn launch_failed(&mut self, ticket: Ticket, reason: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.ticket == Some(ticket))?;
        r.ticket = None;
        r.state.status = Status::Failed;
        r.state.reason = Some(reason.to_string());
        Some(r.num)
    }

    /// The run `id`'s thread ended. A run that ended without a last event (it cannot happen
    /// with the engine, but a lost event must not leave a row "running" forever) is marked.
    pub fn ended(&mut self, id: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.state.id == id)?;
        if r.state.status.is_active() {
            r.state.status = Status::Interrupted;
            r.state.reason = Some("the run ended without reporting how".into());
        }
        Some(r.num)
    }

    /// Applies an event to its run. Returns the run's number, if known.
    pub fn apply(&mut self, ev: &RunEvent) -> Option<usize> {
        // events come in bursts from one run: try the last one found before searching
        let hit = match self.last_hit {
            Some(i) if self.rows.get(i).is_some_and(|r| r.state.id == ev.run) => i,
            _ => {
                let i = self.rows.iter().position(|r| r.state.id == ev.run)?;
                self.last_hit = Some(i);
                i
            }
        };
        let r = &mut self.rows[hit];
        if let (Event::Metric { step, name, .. }, Some(last)) =
            (&ev.event, self.resumed.get(&ev.run))
        {
            if last.get(name).is_some_and(|l| step <= l) {
                // already read back from the run's files
                return Some(r.num);
            }
        }
        if matches!(
            ev.event,
            Event::Finished { .. }
                | Event::Stopped { .. }
                | Event::Diverged { .. }
                | Event::Failed { .. }
        ) {
            self.resumed.remove(&ev.run);
        }
        r.state.apply(&ev.event);
        if matches!(ev.event, Event::Started { .. }) {
            let num = r.num;
            self.recompute_differs();
            return Some(num);
        }
        Some(r.num)
    }

    /// Removes a row (the caller deletes its files).
    pub fn remove(&mut self, num: usize) -> Option<RunRow> {
        let i = self.index_of(num)?;
        let display_i = self.selected_index();
        let row = self.rows.remove(i);
        self.last_hit = None;
        self.known_dirs.remove(&row.state.id);
        if let Some(name) = row.state.dir.as_ref().and_then(|d| d.file_name()) {
            self.known_dirs.remove(&*name.to_string_lossy());
        }
        self.recompute_differs();
        if self.cursor == Some(Node::Run(num)) {
            let rows = self.display_rows();
            self.cursor = display_i
                .filter(|_| !rows.is_empty())
                .map(|di| rows[di.min(rows.len() - 1)].0.clone());
        }
        Some(row)
    }

    pub fn marked(&self) -> Vec<usize> {
        self.rows
            .iter()
            .filter(|r| r.marked)
            .map(|r| r.num)
            .collect()
    }

    pub fn active(&self) -> usize {
        self.rows.iter().filter(|r| r.is_active()).count()
    }

    pub fn count(&self, status: Status) -> usize {
        self.rows
            .iter()
            .filter(|r| r.state.status == status)
            .count()
    }

    /// For each experiment: the parameters whose values vary among its runs (or, for an
    /// experiment with one run, differ from the defaults); then the tree of sweeps and groups.
    pub fn recompute_differs(&mut self) {
        self.differs_by_experiment();
        self.tree = Tree::build(&self.rows);
    }

    fn differs_by_experiment(&mut self) {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.rows.iter().enumerate() {
            groups
                .entry(r.state.experiment.clone())
                .or_default()
                .push(i);
        }
        for (exp, idx) in groups {
            let defaults = experiments::find(&exp).map(|d| {
                let defs = (d.params)();
                (Params::defaults(&defs), defs)
            });
            let names: Vec<String> = if idx.len() == 1 {
                match &defaults {
                    Some((p, _)) => p
                        .differing(&self.rows[idx[0]].state.params)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    None => Vec::new(),
                }
            } else {
                let mut all: BTreeSet<String> = BTreeSet::new();
                for &i in &idx {
                    all.extend(self.rows[i].state.params.iter().map(|(k, _)| k.to_string()));
                }
                all.into_iter()
                    .filter(|k| {
                        let first = self.rows[idx[0]].state.params.get(k);
                        idx.iter()
                            .any(|&i| self.rows[i].state.params.get(k) != first)
                    })
                    .collect()
            };
            // declared order reads better than alphabetical (d before lr before steps)
            let order: Vec<&str> = defaults
                .as_ref()
                .map(|(_, defs)| defs.iter().map(|d| d.name).collect())
                .unwrap_or_default();
            let mut names = names;
            names.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
            for &i in &idx {
                let p = &self.rows[i].state.params;
                self.rows[i].differs = names
                    .iter()
                    .map(|k| {
                        (
                            k.clone(),
                            p.get(k).map(short_value).unwrap_or_else(|| "-".into()),
                        )
                    })
                    .collect();
            }
        }
    }
}

#[cfg(test)]
#[path = "run_list_tests.rs"]
mod tests;
