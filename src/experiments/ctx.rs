//! What an experiment sees of the run it belongs to: a place to emit metrics, logs and
//! figures, and a checkpoint between steps where the user's commands take effect.

use std::collections::BTreeMap;

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// The user asked the run to stop.
    Stopped { step: u64 },
    /// A loss became NaN or infinite.
    Diverged { step: u64, reason: String },
    /// The experiment could not go on (a tensor error, bad data...).
    Failed(String),
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Halt::Stopped { step } => write!(f, "stopped at step {step}"),
            Halt::Diverged { step, reason } => write!(f, "diverged at step {step}: {reason}"),
            Halt::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

impl From<crate::nn::NnError> for Halt {
    fn from(e: crate::nn::NnError) -> Self {
        Halt::Failed(e.to_string())
    }
}

/// The final values of a run, and notes in words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub metrics: BTreeMap<String, f64>,
    pub notes: Vec<String>,
}

impl Summary {
    pub fn set(&mut self, name: &str, value: f64) -> &mut Self {
        self.metrics.insert(name.to_string(), value);
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "metrics": self.metrics.iter().map(|(k, v)| (k.clone(), json_number(*v))).collect::<serde_json::Map<_, _>>(),
            "notes": self.notes,
        })
    }
}

/// A float as JSON: non-finite values become strings ("NaN", "inf") rather than null.
pub fn json_number(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else {
        serde_json::json!(v.to_string())
    }
}

/// A number as written by [`json_number`] (non-finite values as strings).
pub fn json_f64(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        serde_json::Value::String(s) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// An experiment-specific picture for the lab's figure pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A grey-level image, row-major, values in [0, 1].
    Image {
        title: String,
        width: usize,
        height: usize,
        pixels: Vec<f32>,
    },
    /// x/y curves on shared axes.
    Curves {
        title: String,
        x_label: String,
        y_label: String,
        series: Vec<(String, Vec<(f64, f64)>)>,
    },
}

impl Figure {
    pub fn title(&self) -> &str {
        match self {
            Figure::Image { title, .. } | Figure::Curves { title, .. } => title,
        }
    }

    /// A figure from its JSON form (as written by the engine), or `None` if it is not one.
    pub fn from_json(v: &serde_json::Value) -> Option<Figure> {
        let title = v["title"].as_str()?.to_string();
        match v["kind"].as_str()? {
            "image" => {
                let width = v["width"].as_u64()? as usize;
                let height = v["height"].as_u64()? as usize;
                let pixels: Vec<f32> = v["pixels"]
                    .as_array()?
                    .iter()
                    .map(|p| json_f64(p) as f32)
                    .collect();
                (width.checked_mul(height)? == pixels.len()).then_some(Figure::Image {
                    title,
                    width,
                    height,
                    pixels,
                })
            }
            "curves" => {
                let series = v["series"]
                    .as_array()?
                    .iter()
                    .filter_map(|s| {
                        let name = s["name"].as_str()?.to_string();
                        let pts = s["points"]
                            .as_array()?
                            .iter()
                            .filter_map(|p| Some((json_f64(p.get(0)?), json_f64(p.get(1)?))))
                            .collect();
                        Some((name, pts))
                    })
                    .collect();
                Some(Figure::Curves {
                    title,
                    x_label: v["x_label"].as_str().unwrap_or("").to_string(),
                    y_label: v["y_label"].as_str().unwrap_or("").to_string(),
                    series,
                })
            }
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Figure::Image {
                title,
                width,
                height,
                pixels,
            } => serde_json::json!({
                "kind": "image", "title": title, "width": width, "height": height, "pixels": pixels,
            }),
            Figure::Curves {
                title,
                x_label,
                y_label,
                series,
            } => serde_json::json!({
                "kind": "curves", "title": title, "x_label": x_label, "y_label": y_label,
                "series": series.iter().map(|(name, pts)| serde_json::json!({
                    "name": name,
                    "points": pts.iter().map(|(x, y)| [json_number(*x), json_number(*y)]).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }),
        }
    }
}

/// The run an experiment belongs to.
pub trait Ctx {
    /// Records one value of a metric. A non-finite value of a metric whose name contains
    /// "loss" makes the next [`Ctx::step`] end the run as diverged.
    fn metric(&mut self, step: u64, name: &str, value: f64);

    /// Called after each unit of work (a training step): reports progress, checks `loss`
    /// (pass 0.0 where there is none) and applies the user's pause / resume / stop.
    fn step(&mut self, step: u64, total: u64, loss: f64) -> Result<(), Halt>;

    /// A line of text for the run's log.
    fn log(&mut self, line: &str);

    /// A picture for the figure pane.
    fn figure(&mut self, _step: u64, _figure: Figure) {}

    /// [`Ctx::step`] for an experiment that can be checkpointed: where the run writes a
    /// checkpoint (its interval is up, or it is about to pause or stop), it calls `save` for
    /// the experiment's whole training state after `step`. A context that keeps no
    /// checkpoints never calls it.
    fn step_saving(
        &mut self,
        step: u64,
        total: u64,
        loss: f64,
        _save: &mut dyn FnMut() -> Result<Vec<u8>, Halt>,
    ) -> Result<(), Halt> {
        self.step(step, total, loss)
    }

    /// The checkpoint this run continues from, asked once before training: the state `save`
    /// gave at its step. `None` for a run that starts at step 0.
    fn restore(&mut self) -> Option<Restore> {
        None
    }
}

/// A checkpoint handed back to the experiment that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    /// The step whose [`Ctx::step_saving`] saved it: the run goes on with what follows that
    /// call at this step (its evaluation), then trains step + 1.
    pub step: u64,
    /// The bytes `save` returned.
    pub state: Vec<u8>,
    /// True for a fork: the run's parameters may differ from the ones that saved the state
    /// (only ones that keep the networks' shapes: the engine checks them).
    pub fork: bool,
}

impl Restore {
    /// The message for a state the experiment cannot read.
    pub fn bad(&self, what: impl std::fmt::Display) -> Halt {
        Halt::Failed(format!(
            "the checkpoint of step {} cannot be read back: {what}",
            self.step
        ))
    }

    /// Continues a run of `steps` from this checkpoint: refuses one past the run's end, reads
    /// the state back with `load` and says so in the run's log.
    pub fn resume<E: std::fmt::Display>(
        &self,
        steps: u64,
        ctx: &mut dyn Ctx,
        load: impl FnOnce(&[u8]) -> Result<(), E>,
    ) -> Result<(), Halt> {
        if self.step > steps {
            return Err(self.bad(format!("it is at step {} of {steps}", self.step)));
        }
        load(&self.state).map_err(|e| self.bad(e))?;
        ctx.log(&format!(
            "continuing from the checkpoint of step {}",
            self.step
        ));
        Ok(())
    }
}

/// The divergence test shared by every context.
pub fn check_loss(step: u64, loss: f64) -> Result<(), Halt> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(Halt::Diverged {
            step,
            reason: format!("loss is {loss}"),
        })
    }
}

/// A context that keeps everything in memory: for paper checks and tests.
#[derive(Debug, Clone, Default)]
pub struct CollectCtx {
    pub metrics: BTreeMap<String, Vec<(u64, f64)>>,
    pub logs: Vec<String>,
    pub figures: Vec<(u64, Figure)>,
    pub last_step: u64,
    /// Stop the run once this step is reached (a test of the stop path).
    pub stop_at: Option<u64>,
    /// Save the training state at this step (into `saved`), if the experiment can.
    pub save_at: Option<u64>,
    /// The state saved at `save_at`.
    pub saved: Option<Restore>,
    /// The state to continue from (handed to the experiment once).
    pub restore_from: Option<Restore>,
    pending: Option<Halt>,
}

impl CollectCtx {
    pub fn new() -> Self {
        Self::default()
    }

    /// The values of one metric, in order.
    pub fn series(&self, name: &str) -> &[(u64, f64)] {
        self.metrics.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn last(&self, name: &str) -> Option<f64> {
        self.series(name).last().map(|p| p.1)
    }
}

impl Ctx for CollectCtx {
    fn metric(&mut self, step: u64, name: &str, value: f64) {
        if !value.is_finite() && name.contains("loss") && self.pending.is_none() {
            self.pending = Some(Halt::Diverged {
                step,
                reason: format!("{name} is {value}"),
            });
        }
        self.metrics
            .entry(name.to_string())
            .or_default()
            .push((step, value));
    }

    fn step(&mut self, step: u64, _total: u64, loss: f64) -> Result<(), Halt> {
        self.last_step = step;
        if let Some(h) = self.pending.take() {
            return Err(h);
        }
        check_loss(step, loss)?;
        if self.stop_at.is_some_and(|s| step >= s) {
            return Err(Halt::Stopped { step });
        }
        Ok(())
    }

    fn log(&mut self, line: &str) {
        self.logs.push(line.to_string());
    }

    fn figure(&mut self, step: u64, figure: Figure) {
        self.figures.push((step, figure));
    }

    fn step_saving(
        &mut self,
        step: u64,
        total: u64,
        loss: f64,
        save: &mut dyn FnMut() -> Result<Vec<u8>, Halt>,
    ) -> Result<(), Halt> {
        if self.save_at == Some(step) && self.pending.is_none() && loss.is_finite() {
            self.saved = Some(Restore {
                step,
                state: save()?,
                fork: false,
            });
        }
        self.step(step, total, loss)
    }

    fn restore(&mut self) -> Option<Restore> {
        self.restore_from.take()
    }
}
