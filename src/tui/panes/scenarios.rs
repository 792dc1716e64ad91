//! The scenarios pane: the tree of families, their experiments, and the scenarios of each
//! (the files of the scenarios folder, plus a "defaults" scenario for an experiment that has
//! no file). The tree folds to fit its pane: the four families always show, and the branch of
//! the selection stays open.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::experiments::{self, Family, Registry};
use crate::spec::presets::{self, Origin};
use crate::spec::sweep::{load_sweep, SweepTable};
use crate::spec::Scenario;

use super::Pane;
use crate::stats::natural_cmp;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt::{self, clip};
use crate::tui::keymap::Cmd;
use crate::tui::widgets::{highlight, pane_block, scroll_offset};

/// One scenario the user can start: as read, and as edited in the lab.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file it came from (`None` for an experiment's built-in defaults).
    pub path: Option<PathBuf>,
    pub original: Scenario,
    pub current: Scenario,
    /// What is wrong with the current values taken together (e.g. `subset_size > d`):
    /// checked when a value changes, not when the pane is drawn.
    pub problem: Option<String>,
    /// Parameters given a list of values, and seeds: the start key then starts a sweep.
    pub grid: SweepTable,
    /// The grid as the file holds it (its `[sweep]` table), against which `grid` is edited.
    pub saved_grid: SweepTable,
    /// Read from the binary's own presets: `path` is where a save writes it.
    pub built_in: bool,
}

impl Entry {
    fn new(path: Option<PathBuf>, scenario: Scenario) -> Self {
        let mut e = Self {
            path,
            original: scenario.clone(),
            current: scenario,
            problem: None,
            grid: Default::default(),
            saved_grid: Default::default(),
            built_in: false,
        };
        e.revalidate();
        e
    }

    /// Runs the experiment's checks across parameters on the current values.
    pub fn revalidate(&mut self) {
        self.problem = super::params::cross_check(&self.current).err();
    }

    /// An entry read from a file with its `[sweep]` table in the editor's grid.
    fn with_grid(path: PathBuf, scenario: Scenario, grid: SweepTable) -> Self {
        let mut e = Self::new(Some(path), scenario);
        e.grid = grid.clone();
        e.saved_grid = grid;
        e
    }

    /// True once the user changed a value.
    pub fn is_edited(&self) -> bool {
        self.original.params != self.current.params
            || self.original.seed != self.current.seed
            || self.grid != self.saved_grid
    }

    /// The scenario a run of the edited values starts: its title tells the values that
    /// differ from those the file's title was written for.
    pub fn as_run(&self) -> Scenario {
        let mut s = self.current.clone();
        s.retitle_from(&self.original.params);
        s
    }

    /// True if the start key starts a sweep: a parameter has a list of values, or seeds
    /// are given.
    pub fn is_sweep(&self) -> bool {
        !self.grid.axes.is_empty() || self.grid.seeds.is_some()
    }

    /// The file name, or "built-in defaults".
    pub fn origin(&self) -> String {
        match &self.path {
            Some(p) => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                if self.built_in {
                    format!("{name} (built in)")
                } else {
                    name
                }
            }
            None => "built-in defaults".into(),
        }
    }
}

/// A scenario file that could not be read, with the reason.
#[derive(Debug, Clone)]
pub struct Broken {
    pub path: PathBuf,
    pub error: String,
}

/// A row of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Family(Family),
    Experiment(&'static str),
    Scenario(usize),
    BrokenGroup,
    Broken(usize),
}

/// A visible row: the node, its depth and whether it can fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: Node,
    pub depth: usize,
    /// `Some(open)` for rows with children.
    pub fold: Option<bool>,
}

/// The scenarios folder, read once at start (and again after a save).
#[derive(Debug, Clone)]
pub struct Scenarios {
    pub dir: PathBuf,
    pub entries: Vec<Entry>,
    pub broken: Vec<Broken>,
    expanded: HashSet<Node>,
    /// While the tree is folded to fit a short pane: experiments of the selection's family
    /// left out of the tree, the farthest from the selection first (every one comes back
    /// into view as the selection moves towards it).
    hidden: Vec<&'static str>,
    pub selected: Node,
}

impl Scenarios {
    /// Reads every `*.toml` in `dir` over the presets built into the binary (a file of the
    /// folder takes precedence over the built-in preset of its name).
    pub fn load(dir: &Path) -> Self {
        let mut entries = Vec::new();
        let mut broken = Vec::new();
        for (origin, s) in presets::read(dir, &Registry) {
            let path = origin.path_in(dir);
            match s {
                Ok(s) => {
                    // the file's grid, if it has one, is the editor's (a file read without
                    // error reads its `[sweep]` table; one that fails is shown as it was)
                    let grid = match load_sweep(&path, &Registry) {
                        Ok((_, grid)) => grid,
                        Err(_) => SweepTable::default(),
                    };
                    let mut e = Entry::with_grid(path, s, grid);
                    e.built_in = matches!(origin, Origin::BuiltIn(_));
                    entries.push(e);
                }
                Err(e) => broken.push(Broken {
                    path,
                    error: e.to_string(),
                }),
            }
        }
        Self::from_parts(dir, entries, broken)
    }

    /// A tree over given entries (plus defaults for experiments without any).
    pub fn from_parts(dir: &Path, mut entries: Vec<Entry>, broken: Vec<Broken>) -> Self {
        for def in experiments::registry() {
            if !entries.iter().any(|e| e.current.experiment == def.id) {
                if let Some(mut s) = Scenario::with_defaults(def.id, &Registry) {
                    s.title = format!("{} (defaults)", def.name);
                    s.description = def.shows.to_string();
                    entries.push(Entry::new(None, s));
                }
            }
        }
        let mut me = Self {
            dir: dir.to_path_buf(),
            entries,
            broken,
            expanded: HashSet::new(),
            hidden: Vec::new(),
            selected: Node::BrokenGroup,
        };
        for f in Family::ALL {
            me.expanded.insert(Node::Family(f));
        }
        for def in experiments::registry() {
            me.expanded.insert(Node::Experiment(def.id));
        }
        me.expanded.insert(Node::BrokenGroup);
        me.selected = me
            .rows()
            .iter()
            .find(|r| matches!(r.node, Node::Scenario(_)))
            .or(me.rows().first())
            .map(|r| r.node)
            .unwrap_or(Node::BrokenGroup);
        me
    }

    /// How many scenarios hold edits not saved.
    pub fn edited(&self) -> usize {
        self.entries.iter().filter(|e| e.is_edited()).count()
    }

    /// The entries of one experiment, in natural title order.
    pub fn scenarios_of(&self, experiment: &str) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].current.experiment == experiment)
            .collect();
        v.sort_by(|&a, &b| {
            natural_cmp(
                &self.entries[a].current.title,
                &self.entries[b].current.title,
            )
        });
        v
    }

    /// The rows that are visible now, in order.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for family in Family::ALL {
            let exps: Vec<_> = experiments::registry()
                .iter()
                .filter(|e| e.family == family)
                .collect();
            let open = self.expanded.contains(&Node::Family(family));
            rows.push(Row {
                node: Node::Family(family),
                depth: 0,
                fold: Some(open),
            });
            if !open {
                continue;
            }
            for e in exps {
                if self.hidden.contains(&e.id) {
                    continue;
                }
                let kids = self.scenarios_of(e.id);
                let open = self.expanded.contains(&Node::Experiment(e.id));
                rows.push(Row {
                    node: Node::Experiment(e.id),
                    depth: 1,
                    fold: (!kids.is_empty()).then_some(open),
                });
                if open {
                    rows.extend(kids.into_iter().map(|i| Row {
                        node: Node::Scenario(i),
                        depth: 2,
                        fold: None,
                    }));
                }
            }
        }
        if !self.broken.is_empty() {
            let open = self.expanded.contains(&Node::BrokenGroup);
            rows.push(Row {
                node: Node::BrokenGroup,
                depth: 0,
                fold: Some(open),
            });
            if open {
                rows.extend((0..self.broken.len()).map(|i| Row {
                    node: Node::Broken(i),
                    depth: 1,
                    fold: None,
                }));
            }
        }
        rows
    }

    /// The index of the selected row among [`Scenarios::rows`].
    pub fn selected_index(&self, rows: &[Row]) -> usize {
        rows.iter()
            .position(|r| r.node == self.selected)
            .unwrap_or(0)
    }

    /// Moves the selection by `delta` rows (clamped).
    pub fn move_by(&mut self, delta: isize) {
        let rows = self.rows();
        if rows.is_empty() {
            return;
        }
        let i = self.selected_index(&rows) as isize + delta;
        self.selected = rows[i.clamp(0, rows.len() as isize - 1) as usize].node;
    }

    pub fn select_first(&mut self) {
        if let Some(r) = self.rows().first() {
            self.selected = r.node;
        }
    }

    pub fn select_last(&mut self) {
        if let Some(r) = self.rows().last() {
            self.selected = r.node;
        }
    }

    /// Opens or closes the selected row. Returns false for a row without children.
    pub fn toggle(&mut self) -> bool {
        self.hidden.clear();
        let rows = self.rows();
        let Some(row) = rows.iter().find(|r| r.node == self.selected) else {
            return false;
        };
        match row.fold {
            Some(true) => {
                self.expanded.remove(&row.node);
                true
            }
            Some(false) => {
                self.expanded.insert(row.node);
                true
            }
            None => false,
        }
    }

    /// Right / l: opens a closed row, or steps into its first child.
    pub fn expand(&mut self) {
        self.hidden.clear();
        let rows = self.rows();
        let i = self.selected_index(&rows);
        match rows.get(i).and_then(|r| r.fold) {
            Some(false) => {
                self.expanded.insert(self.selected);
            }
            Some(true) => {
                if let Some(next) = rows.get(i + 1) {
                    self.selected = next.node;
                }
            }
            None => {}
        }
    }

    /// Left / h: closes an open row, or steps out to the parent.
    pub fn collapse(&mut self) {
        self.hidden.clear();
        let rows = self.rows();
        let i = self.selected_index(&rows);
        let Some(row) = rows.get(i) else { return };
        if row.fold == Some(true) {
            self.expanded.remove(&row.node);
            return;
        }
        if let Some(parent) = rows[..i].iter().rev().find(|r| r.depth < row.depth) {
            self.selected = parent.node;
        }
    }

    /// The selected scenario, if a scenario row is selected.
    pub fn current(&self) -> Option<&Entry> {
        match self.selected {
            Node::Scenario(i) => self.entries.get(i),
            _ => None,
        }
    }

    pub fn current_mut(&mut self) -> Option<&mut Entry> {
        match self.selected {
            Node::Scenario(i) => self.entries.get_mut(i),
            _ => None,
        }
    }

    /// The experiment of the selected row (a scenario's, or the experiment row itself).
    pub fn current_experiment(&self) -> Option<&'static experiments::ExperimentDef> {
        match self.selected {
            Node::Experiment(id) => experiments::find(id),
            Node::Scenario(i) => self
                .entries
                .get(i)
                .and_then(|e| experiments::find(&e.current.experiment)),
            _ => None,
        }
    }

    /// Adds a scenario (just saved to `path`), shows it in the tree and selects it.
    pub fn add(&mut self, path: PathBuf, scenario: Scenario, grid: SweepTable) -> usize {
        self.hidden.clear();
        self.entries.push(Entry::with_grid(path, scenario, grid));
        let i = self.entries.len() - 1;
        let exp = &self.entries[i].current.experiment;
        if let Some(def) = experiments::find(exp) {
            self.expanded.insert(Node::Family(def.family));
            self.expanded.insert(Node::Experiment(def.id));
        }
        self.selected = Node::Scenario(i);
        i
    }

    /// Opens or closes a family or experiment row.
    pub fn set_open(&mut self, node: Node, open: bool) {
        self.hidden.clear();
        if open {
            self.expanded.insert(node);
        } else {
            self.expanded.remove(&node);
        }
    }

    /// The broken file selected, if one is.
    pub fn broken_selected(&self) -> Option<&Broken> {
        match self.selected {
            Node::Broken(i) => self.broken.get(i),
            _ => None,
        }
    }

    /// The family and experiment a node sits in (the branch that stays open around it).
    pub fn branch_of(&self, node: Node) -> (Option<Family>, Option<&'static str>) {
        match node {
            Node::Family(f) => (Some(f), None),
            Node::Experiment(id) => (experiments::find(id).map(|d| d.family), Some(id)),
            Node::Scenario(i) => {
                let def = self
                    .entries
                    .get(i)
                    .and_then(|e| experiments::find(&e.current.experiment));
                (def.map(|d| d.family), def.map(|d| d.id))
            }
            Node::BrokenGroup | Node::Broken(_) => (None, None),
        }
    }

    /// Folds the tree to fit `height` rows: everything open if it fits; else the selection's
    /// family open, and then as many of the next families as fit; else, within the
    /// selection's family, only its experiment open; else that family's experiments farthest
    /// from the selection left out until it fits.
    /// The four families always show.
    pub fn fit(&mut self, height: usize) {
        self.hidden.clear();
        let (family, exp) = self.branch_of(self.selected);
        let exps_of = |f: Family| {
            experiments::registry()
                .iter()
                .filter(move |e| e.family == f)
                .map(|e| Node::Experiment(e.id))
        };
        let family_open = |f: Family| exps_of(f).chain([Node::Family(f)]);
        let broken = matches!(self.selected, Node::Broken(_)).then_some(Node::BrokenGroup);
        // everything
        self.expanded = Family::ALL
            .iter()
            .flat_map(|f| family_open(*f))
            .chain([Node::BrokenGroup])
            .collect();
        if self.rows().len() <= height {
            return;
        }
        // the selection's family, then the following ones while they fit
        self.expanded = family
            .into_iter()
            .flat_map(family_open)
            .chain(broken)
            .collect();
        if self.rows().len() <= height {
            let start = family.map_or(0, |f| f as usize);
            for k in 1..Family::ALL.len() {
                let f = Family::ALL[(start + k) % Family::ALL.len()];
                let before = self.expanded.clone();
                self.expanded.extend(family_open(f));
                if self.rows().len() > height {
                    self.expanded = before;
                    break;
                }
            }
            return;
        }
        // within the selection's family, its experiment only
        self.expanded = family
            .map(Node::Family)
            .into_iter()
            .chain(exp.map(Node::Experiment))
            .chain(broken)
            .collect();
        // and, if even that is too tall, the family's experiments farthest from it left out
        let (Some(f), Some(e)) = (family, exp) else {
            return;
        };
        let sibs: Vec<&'static str> = exps_of(f)
            .filter_map(|n| match n {
                Node::Experiment(id) => Some(id),
                _ => None,
            })
            .collect();
        let at = sibs.iter().position(|id| *id == e).unwrap_or(0);
        let mut far: Vec<(usize, &'static str)> = sibs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(i, id)| (i.abs_diff(at), *id))
            .collect();
        far.sort_by_key(|(dist, _)| std::cmp::Reverse(*dist));
        for (_, id) in far {
            if self.rows().len() <= height {
                break;
            }
            self.hidden.push(id);
        }
    }

    /// Selects the first scenario whose title contains `text` (case-insensitive), opening
    /// its family and experiment.
    pub fn select_title(&mut self, text: &str) -> bool {
        let t = text.to_lowercase();
        let Some(i) = self
            .entries
            .iter()
            .position(|e| e.current.title.to_lowercase().contains(&t))
        else {
            return false;
        };
        if let Some(def) = experiments::find(&self.entries[i].current.experiment) {
            self.expanded.insert(Node::Family(def.family));
            self.expanded.insert(Node::Experiment(def.id));
        }
        self.selected = Node::Scenario(i);
        true
    }
}

/// What a key does in the tree.
pub fn on_cmd(tree: &mut Scenarios, cmd: Cmd, out: &mut Vec<Action>) {
    match cmd {
        Cmd::Up => tree.move_by(-1),
        Cmd::Down => tree.move_by(1),
        Cmd::PageUp => tree.move_by(-10),
        Cmd::PageDown => tree.move_by(10),
        Cmd::First => tree.select_first(),
        Cmd::Last => tree.select_last(),
        Cmd::Fold => tree.collapse(),
        Cmd::Unfold => tree.expand(),
        Cmd::Activate if !tree.toggle() => out.push(Action::StartSelected),
        Cmd::Start => out.push(Action::StartSelected),
        Cmd::Edit => out.push(if tree.current().is_some() {
            Action::Focus(Pane::Params)
        } else {
            Action::Error("select a scenario to edit (a row under an experiment)".into())
        }),
        _ => {}
    }
}

/// Draws the tree.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Scenarios;
    let block = pane_block(
        t,
        Line::from(Span::styled(" Scenarios ", t.title())),
        focused,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let s = &app.scenarios;
    let rows = s.rows();
    let sel = s.selected_index(&rows);
    let height = inner.height as usize;
    let offset = scroll_offset(sel, rows.len(), height);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(offset).take(height) {
        let fold = match row.fold {
            Some(true) => "▾ ",
            Some(false) => "▸ ",
            None => "",
        };
        let indent = "  ".repeat(row.depth);
        let (text, style, suffix) = match row.node {
            Node::Family(fam) => {
                let none = !experiments::registry().iter().any(|e| e.family == fam);
                (
                    format!("{} {}", fam.number(), short_family(fam)),
                    if none { t.dim() } else { t.heading() },
                    "",
                )
            }
            Node::Experiment(id) => {
                let name = experiments::find(id).map(|d| d.name).unwrap_or("");
                let room = w.saturating_sub(indent.len() + fold.chars().count());
                (experiment_text(id, name, room), t.text(), "")
            }
            Node::Scenario(k) => {
                let e = &s.entries[k];
                let (text, style) = if e.path.is_none() {
                    ("defaults".to_string(), t.dim())
                } else {
                    (tree_title(s, k), t.text())
                };
                (text, style, if e.is_edited() { " *" } else { "" })
            }
            Node::BrokenGroup => ("files with errors".into(), t.error(), ""),
            Node::Broken(k) => (
                s.broken[k]
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                t.error(),
                "",
            ),
        };
        let room = w.saturating_sub(indent.len() + fold.chars().count() + suffix.chars().count());
        let text = fmt::whole_parts(&text, ' ', room).unwrap_or_else(|| clip(&text, room));
        let mut spans = vec![
            Span::raw(indent),
            Span::styled(fold, t.dim()),
            Span::styled(text, style),
        ];
        if !suffix.is_empty() {
            spans.push(Span::styled(suffix, t.edited()));
        }
        let mut line = Line::from(spans);
        if i == sel {
            line = highlight(line, t.selected(focused), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn short_family(f: Family) -> &'static str {
    match f {
        Family::Parities => "Parities",
        Family::Decomposition => "Decomposition vs E2E",
        Family::Conditioning => "Architecture, conditioning",
        Family::FlatActivations => "Flat activations",
    }
}

mod titles;
pub use titles::{experiment_text, tree_title};

#[cfg(test)]
mod tests;
