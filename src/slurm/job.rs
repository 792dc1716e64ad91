//! A job array from a list of command lines: the options that map to sbatch's, the tasks
//! file (one line of arguments of the `fail-lab` binary per run), the job script that runs
//! its array task's lines in turn, and `sbatch --parsable`.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run_slurm;

/// What the job asks of Slurm; each field is one `#SBATCH` line when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbatchOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// A time limit in one of Slurm's forms: `30` (minutes), `2:00:00`, `1-12:00:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    /// Memory per node, e.g. `4G`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// Generic resources, e.g. `gpu:1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// Array tasks that run at once (the array's `%K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Any other sbatch option, one argument each (`--qos=long`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
}

/// A Slurm time limit: minutes, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`, or `UNLIMITED`.
fn is_time_limit(t: &str) -> bool {
    let numbers = |s: &str, max_parts: usize| {
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() <= max_parts
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("infinite") {
        return true;
    }
    match t.split_once('-') {
        Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
        None => numbers(t, 3),
    }
}

/// A time limit in seconds (`None`: unlimited, or not a limit).
pub fn limit_seconds(t: &str) -> Option<u64> {
    if !is_time_limit(t)
        || t.eq_ignore_ascii_case("unlimited")
        || t.eq_ignore_ascii_case("infinite")
    {
        return None;
    }
    let nums = |s: &str| -> Option<Vec<u64>> { s.split(':').map(|p| p.parse().ok()).collect() };
    Some(match t.split_once('-') {
        Some((days, rest)) => {
            let d: u64 = days.parse().ok()?;
            let r = nums(rest)?;
            let (h, m, sec) = (
                r[0],
                r.get(1).copied().unwrap_or(0),
                r.get(2).copied().unwrap_or(0),
            );
            ((d * 24 + h) * 60 + m) * 60 + sec
        }
        None => match nums(t)?.as_slice() {
            [m] => m * 60,
            [m, sec] => m * 60 + sec,
            [h, m, sec] => (h * 60 + m) * 60 + sec,
            _ => return None,
        },
    })
}

/// How long before its time limit a task is told (`--signal=B:USR1@SECONDS`) to stop its run
/// at a checkpoint: a quarter of the limit, between 10 s and 2 minutes; 2 minutes where the
/// job sets no limit of its own (the partition's applies).
pub fn warning_seconds(time: Option<&str>) -> u64 {
    match time.and_then(limit_seconds) {
        Some(limit) => (limit / 4).clamp(10, 120),
        None => 120,
    }
}

/// The line a task's log gets when the warning comes; [`super::queue::parse_ending`] reads it
/// as the time limit.
pub const TIME_LIMIT_LINE: &str = "fail-lab task: the time limit is near (SIGUSR1)";

impl SbatchOptions {
    /// Checks each value; the message names the option and what is allowed.
    pub fn check(&self) -> Result<(), String> {
        let words = [
            ("--partition", &self.partition),
            ("--time", &self.time),
            ("--mem", &self.mem),
            ("--gres", &self.gres),
            ("--account", &self.account),
        ];
        for (name, v) in words {
            if let Some(v) = v {
                if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!(
                        "{name} {v:?}: allowed: one word, without spaces or line breaks"
                    ));
                }
            }
        }
        if let Some(t) = &self.time {
            if !is_time_limit(t) {
                return Err(format!(
                    "--time {t}: allowed: minutes (30), M:S, H:M:S (2:00:00), D-H, D-H:M or \
                     D-H:M:S (1-12:00:00)"
                ));
            }
        }
        if self.cpus_per_task == Some(0) {
            return Err("--cpus-per-task: got 0, allowed: at least 1".into());
        }
        if self.max_parallel == Some(0) {
            return Err("--max-parallel: got 0, allowed: at least 1 task at once".into());
        }
        for a in &self.extra {
            if !a.starts_with('-') || a.chars().any(|c| c == '\n' || c == '\r') {
                return Err(format!(
                    "--sbatch-arg {a:?}: allowed: one sbatch option on one line, starting with \
                     '-' (--sbatch-arg=--qos=long)"
                ));
            }
        }
        Ok(())
    }

    /// The `#SBATCH` arguments, in a fixed order.
    fn directives(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut put = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("--{name}={v}"));
            }
        };
        put("partition", self.partition.clone());
        put("account", self.account.clone());
        put("time", self.time.clone());
        put("cpus-per-task", self.cpus_per_task.map(|n| n.to_string()));
        put("mem", self.mem.clone());
        put("gres", self.gres.clone());
        out.extend(self.extra.iter().cloned());
        out
    }

    /// Fills the fields `self` leaves unset from `earlier` (a resumed sweep keeps its
    /// options unless given again).
    pub fn or(mut self, earlier: &SbatchOptions) -> SbatchOptions {
        macro_rules! keep {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = earlier.$f.clone(); } )* };
        }
        keep!(
            partition,
            time,
            cpus_per_task,
            mem,
            gres,
            max_parallel,
            account
        );
        if self.extra.is_empty() {
            self.extra = earlier.extra.clone();
        }
        self
    }
}

/// One job array: `lines` (the arguments of the binary, one command per line) split into
/// array tasks of `per_task` lines each, run in turn.
#[derive(Debug, Clone, PartialEq)]
pub struct JobArray {
    /// The job's name in the queue.
    pub name: String,
    /// The folder of the script, the tasks file and the tasks' logs (absolute: tasks run
    /// elsewhere).
    pub dir: PathBuf,
    /// The `fail-lab` binary the tasks run (absolute).
    pub binary: PathBuf,
    pub lines: Vec<Vec<String>>,
    pub per_task: usize,
    pub options: SbatchOptions,
}

/// The files of one submission.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFiles {
    pub script: PathBuf,
    pub tasks: PathBuf,
}

/// The arguments of `fail-lab run FILE --out DIR --threads T`, the line of one run.
pub fn run_line(file: &Path, out: &Path, threads: &str) -> Vec<String> {
    vec![
        "run".into(),
        file.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--threads".into(),
        threads.to_string(),
    ]
}

/// A word as the shell reads it back: as it is when it holds only safe characters, else in
/// single quotes.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,+@%-".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The path of a task's log: `<dir>/<job>_<task>.out`.
pub fn log_path(dir: &Path, job: &str, task: usize) -> PathBuf {
    dir.join(format!("{job}_{task}.out"))
}

impl JobArray {
    /// Array tasks: the lines divided into groups of `per_task`, the last one shorter.
    pub fn task_count(&self) -> usize {
        self.lines.len().div_ceil(self.per_task.max(1))
    }

    /// The lines (0-based) array task `task` runs.
    pub fn lines_of(&self, task: usize) -> Range<usize> {
        let per = self.per_task.max(1);
        (task * per).min(self.lines.len())..((task + 1) * per).min(self.lines.len())
    }

    /// The script and tasks file of submission `tag` (`job-<tag>.sh`, `tasks-<tag>.txt`).
    pub fn files(&self, tag: &str) -> JobFiles {
        JobFiles {
            script: self.dir.join(format!("job-{tag}.sh")),
            tasks: self.dir.join(format!("tasks-{tag}.txt")),
        }
    }

    /// The tasks file: one line of shell-quoted arguments per command.
    pub fn tasks_text(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|w| shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" ")
                    + "\n"
            })
            .collect()
    }

    /// The job script. A task runs its lines in turn; on SIGTERM (a time limit, scancel) it
    /// lets the command that runs finish writing its files, then starts no other. Slurm warns
    /// it [`warning_seconds`] before the time limit with SIGUSR1, which it passes on to the
    /// command as SIGTERM: the run stops at a checkpoint while there is time, and `--resume`
    /// (or a requeued task) continues it from there.
    pub fn script(&self, tasks_file: &Path) -> String {
        let last = self.task_count().saturating_sub(1);
        let array = match self.options.max_parallel {
            Some(k) => format!("0-{last}%{k}"),
            None => format!("0-{last}"),
        };
        let mut s = String::from("#!/bin/bash\n");
        let mut directive = |a: &str| s.push_str(&format!("#SBATCH {a}\n"));
        directive(&format!("--job-name={}", shell_quote(&self.name)));
        directive(&format!("--array={array}"));
        directive(&format!(
            "--output={}",
            self.dir.join("%A_%a.out").display()
        ));
        directive("--no-requeue");
        // the time to stop the run at a checkpoint before Slurm ends the task
        directive(&format!(
            "--signal=B:USR1@{}",
            warning_seconds(self.options.time.as_deref())
        ));
        for d in self.options.directives() {
            directive(&d);
        }
        s.push_str(&format!(
            "# array task i runs lines i*{per}+1 .. i*{per}+{per} of the tasks file in turn, each the\n\
             # arguments of one `fail-lab` command, in the background so that the shell hears\n\
             # signals while it runs. SIGTERM (scancel, the time limit) reaches the command from\n\
             # Slurm too; SIGUSR1 (the time limit is near: --signal) reaches this shell alone,\n\
             # which passes it on as SIGTERM. Either stops the run at a checkpoint, and no\n\
             # further line starts.\n\
             set -u\n\
             child=\n\
             stopping=\n\
             trap 'echo \"fail-lab task: SIGTERM, no further line starts\"; stopping=TERM' TERM\n\
             trap 'echo \"{time_line}: its run stops at a checkpoint, no further line starts\"; stopping=USR1; [ -z \"$child\" ] || kill -TERM \"$child\"' USR1\n\
             BIN={bin}\n\
             TASKS={tasks}\n\
             PER={per}\n\
             first=$(( SLURM_ARRAY_TASK_ID * PER + 1 ))\n\
             status=0\n\
             for n in $(seq \"$first\" $(( first + PER - 1 ))); do\n\
             \x20 [ -z \"$stopping\" ] || break\n\
             \x20 line=$(sed -n \"${{n}}p\" \"$TASKS\")\n\
             \x20 [ -n \"$line\" ] || break\n\
             \x20 echo \"fail-lab task: line $n: $line\"\n\
             \x20 eval \"set -- $line\"\n\
             \x20 \"$BIN\" \"$@\" &\n\
             \x20 child=$!\n\
             \x20 wait \"$child\"; rc=$?\n\
             \x20 # a signal ends `wait` early: wait again for the run to write its checkpoint\n\
             \x20 [ -z \"$stopping\" ] || {{ wait \"$child\"; r=$?; [ \"$r\" = 127 ] || rc=$r; }}\n\
             \x20 child=\n\
             \x20 [ \"$rc\" = 0 ] || status=$rc\n\
             done\n\
             [ \"$stopping\" != TERM ] || exit 143\n\
             exit \"$status\"\n",
            time_line = TIME_LIMIT_LINE,
            per = self.per_task.max(1),
            bin = shell_quote(&self.binary.display().to_string()),
            tasks = shell_quote(&tasks_file.display().to_string()),
        ));
        s
    }

    /// Writes the tasks file and the script of submission `tag` (each through a temporary
    /// file) in `dir`.
    pub fn write(&self, tag: &str) -> io::Result<JobFiles> {
        std::fs::create_dir_all(&self.dir)?;
        let files = self.files(tag);
        write_atomic(&files.tasks, &self.tasks_text())?;
        write_atomic(&files.script, &self.script(&files.tasks))?;
        Ok(files)
    }
}

/// Writes `text` to `path` through a temporary file beside it.
pub(super) fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// `sbatch --parsable SCRIPT`: the job id, or what went wrong with what sbatch printed.
pub fn sbatch(script: &Path) -> Result<String, String> {
    let out = run_slurm(
        "sbatch",
        &["--parsable".to_string(), script.display().to_string()],
    )?;
    // `--parsable` prints `ID` or `ID;CLUSTER`
    let id = out
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "sbatch printed no job id; it printed: {}",
            if out.trim().is_empty() {
                "nothing"
            } else {
                out.trim()
            }
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(lines: Vec<Vec<String>>, per_task: usize, dir: &Path, binary: &Path) -> JobArray {
        JobArray {
            name: "t".into(),
            dir: dir.to_path_buf(),
            binary: binary.to_path_buf(),
            lines,
            per_task,
            options: SbatchOptions {
                max_parallel: Some(3),
                ..Default::default()
            },
        }
    }

    #[test]
    fn time_limits_in_slurms_forms() {
        for ok in [
            "30",
            "0:30",
            "2:00:00",
            "1-12",
            "1-12:30",
            "1-12:30:00",
            "UNLIMITED",
        ] {
            assert!(is_time_limit(ok), "{ok}");
        }
        for bad in ["", "soon", "1:2:3:4", "-5", "1-", "2h", "1-2-3"] {
            assert!(!is_time_limit(bad), "{bad}");
        }
    }

    #[test]
    fn the_warning_before_the_time_limit_fits_the_limit() {
        assert_eq!(limit_seconds("30"), Some(1800));
        assert_eq!(limit_seconds("0:30"), Some(30));
        assert_eq!(limit_seconds("2:00:00"), Some(7200));
        assert_eq!(limit_seconds("1-12"), Some(129_600));
        assert_eq!(limit_seconds("1-0:01:02"), Some(86_462));
        assert_eq!(limit_seconds("UNLIMITED"), None);
        assert_eq!(warning_seconds(Some("1")), 15);
        assert_eq!(warning_seconds(Some("0:20")), 10);
        assert_eq!(warning_seconds(Some("2:00:00")), 120);
        assert_eq!(warning_seconds(None), 120);
        let dir = std::env::temp_dir();
        let mut j = job(vec![vec!["a".into()]], 1, &dir, &dir.join("bin"));
        j.options.time = Some("1".into());
        let script = j.script(&dir.join("tasks.txt"));
        assert!(script.contains("#SBATCH --signal=B:USR1@15\n"), "{script}");
        assert!(script.contains("#SBATCH --time=1\n"), "{script}");
    }

    /// SIGUSR1 (Slurm's warning before the time limit) reaches the running command as
    /// SIGTERM, the task waits for it to end, starts no further line and its log reads as a
    /// time limit.
    #[cfg(unix)]
    #[test]
    fn the_time_limit_warning_stops_the_running_command_and_the_task() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fail-lab-warn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prog = dir.join("run.sh");
        std::fs::write(
            &prog,
            "#!/bin/sh\necho \"start $2\" >> \"$1\"\n\
             trap 'echo \"checkpoint $2\" >> \"$1\"; exit 1' TERM\n\
             while :; do sleep 0.05; done\n",
        )
        .unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let trace = dir.join("trace.txt");
        let lines: Vec<Vec<String>> = ["one", "two"]
            .iter()
            .map(|w| vec![trace.display().to_string(), w.to_string()])
            .collect();
        let j = job(lines, 2, &dir, &prog);
        let files = j.write("1").unwrap();
        let task = std::process::Command::new("bash")
            .arg(&files.script)
            .env("SLURM_ARRAY_TASK_ID", "0")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(&trace).is_ok_and(|t| t.contains("start one")) {
            assert!(
                started.elapsed().as_secs() < 20,
                "the first line never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let kill = std::process::Command::new("kill")
            .args(["-USR1", &task.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = task.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(1), "the run's own status: {log}");
        assert_eq!(
            std::fs::read_to_string(&trace).unwrap(),
            "start one\ncheckpoint one\n",
            "{log}"
        );
        let ending = super::super::queue::parse_ending(&log).unwrap();
        assert_eq!(ending.label, "time limit", "{log}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The script as bash runs it for one array task: its lines, in turn, each word as
    /// written (spaces and quotes included).
    #[cfg(unix)]
    #[test]
    fn a_task_runs_its_lines_with_their_words_intact() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fail-lab-job-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let show = dir.join("show args.sh");
        std::fs::write(
            &show,
            "#!/bin/sh\nfor a in \"$@\"; do echo \"<$a>\"; done\n",
        )
        .unwrap();
        std::fs::set_permissions(&show, std::fs::Permissions::from_mode(0o755)).unwrap();
        let lines: Vec<Vec<String>> = (0..5)
            .map(|i| {
                vec![
                    format!("line{i}"),
                    "two words".into(),
                    "it's".into(),
                    "$HOME".into(),
                ]
            })
            .collect();
        let j = job(lines, 2, &dir, &show);
        assert_eq!((j.task_count(), j.lines_of(2)), (3, 4..5));
        let files = j.write("1").unwrap();
        let script = std::fs::read_to_string(&files.script).unwrap();
        assert!(script.contains("#SBATCH --array=0-2%3\n"), "{script}");
        let run = |task: &str| {
            let o = std::process::Command::new("bash")
                .arg(&files.script)
                .env("SLURM_ARRAY_TASK_ID", task)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).to_string()
        };
        let out = run("1");
        let args: Vec<&str> = out.lines().filter(|l| l.starts_with('<')).collect();
        let want = ["<line2>", "<two words>", "<it's>", "<$HOME>"];
        assert_eq!(args[..4], want, "{out}");
        assert_eq!(args[4], "<line3>", "{out}");
        assert_eq!(args.len(), 8, "lines 3 and 4 only: {out}");
        let last = run("2");
        assert_eq!(
            last.lines().filter(|l| l.starts_with("<line")).count(),
            1,
            "{last}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
