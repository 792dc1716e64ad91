//! Which process writes a run: `runs/<id>/owner.json`, written before anything else of the
//! run, names the process (id, host, start time, boot). A reader in another process uses it to
//! tell a run that is still training there from one that was cut off.
//!
//! On Linux a process is known by its id *and* its start time (`/proc/<pid>/stat`, field 22,
//! clock ticks since boot) within one boot (`/proc/sys/kernel/random/boot_id`): ids are
//! reused, but not by two processes started in the same tick of the same boot, so a live
//! process with the recorded id and start time is the writer and nothing else. A process
//! that ended but was not yet reaped (a zombie) counts as ended. Where that cannot be checked
//! (another host sharing the folder, another system, an owner file without a start time) a run
//! counts as alive while its `metrics.jsonl` or `log.txt` changed in the last
//! [`QUIET_LIMIT`].

use std::fs;
use std::io;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The file in a run's folder.
pub const OWNER_FILE: &str = "owner.json";

/// Where a process cannot be checked directly: a run whose files have not changed for this
/// long counts as ended.
pub const QUIET_LIMIT: Duration = Duration::from_secs(30);

/// The process that writes a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// The host name ("" if unknown).
    pub host: String,
    /// Clock ticks from boot to the process's start (Linux).
    pub start_time: Option<u64>,
    /// The boot the process runs in (Linux).
    pub boot_id: Option<String>,
    /// What the process is, for messages: `fail-lab run`, `fail-lab`.
    pub command: String,
}

/// Whether a run's writer still runs, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Gone,
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// This machine's name: `/proc/sys/kernel/hostname` on Linux, else `$HOSTNAME`, else ""
/// (read once: a lab checks every saved run's owner at start).
pub fn host_name() -> String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        read_trimmed("/proc/sys/kernel/hostname")
            .or_else(|| std::env::var("HOSTNAME").ok().map(|h| h.trim().to_string()))
            .unwrap_or_default()
    })
    .clone()
}

fn boot_id() -> Option<String> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| read_trimmed("/proc/sys/kernel/random/boot_id"))
        .clone()
}

/// A process's state letter and start time from `/proc/<pid>/stat`. The second field (the
/// command name, in parentheses) may hold spaces and parentheses, so fields are counted from
/// the last `)`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// `fail-lab run` for `fail-lab run x.toml --runs d`, `fail-lab` for `fail-lab --runs d`.
fn command_name() -> String {
    let mut args = std::env::args();
    let prog = args
        .next()
        .map(|a| {
            Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or(a)
        })
        .unwrap_or_default();
    match args.next() {
        Some(sub)
            if !sub.starts_with('-')
                && sub.len() <= 16
                && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            format!("{prog} {sub}")
        }
        _ => prog,
    }
}

/// True if `metrics.jsonl` or `log.txt` in `dir` changed less than [`QUIET_LIMIT`] ago.
pub fn recently_written(dir: &Path) -> bool {
    ["metrics.jsonl", "log.txt"].iter().any(|f| {
        fs::metadata(dir.join(f))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| {
                SystemTime::now()
                    .duration_since(t)
                    .ok()
                    .or(Some(Duration::ZERO))
            })
            .is_some_and(|age| age < QUIET_LIMIT)
    })
}

impl Owner {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            host: host_name(),
            start_time: proc_stat(pid).map(|(_, t)| t),
            boot_id: boot_id(),
            command: command_name(),
        }
    }

    /// Another process of this host, as it would describe itself (Linux only; for tests and
    /// tools). `None` if there is no such process.
    pub fn of_pid(pid: u32, command: &str) -> Option<Self> {
        let (_, start) = proc_stat(pid)?;
        Some(Self {
            pid,
            host: host_name(),
            start_time: Some(start),
            boot_id: boot_id(),
            command: command.to_string(),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "pid": self.pid,
            "host": self.host,
            "start_time": self.start_time,
            "boot_id": self.boot_id,
            "command": self.command,
        })
    }

    /// The owner from its JSON form; `None` for anything that is not one.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let pid = u32::try_from(v["pid"].as_u64()?).ok()?;
        if pid == 0 {
            return None;
        }
        Some(Self {
            pid,
            host: v["host"].as_str().unwrap_or("").to_string(),
            start_time: v["start_time"].as_u64(),
            boot_id: v["boot_id"].as_str().map(str::to_string),
            command: v["command"].as_str().unwrap_or("").to_string(),
        })
    }

    /// Writes `owner.json` in `dir` (through a temporary file, so a reader never sees half of
    /// it).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join(format!("{OWNER_FILE}.tmp"));
        fs::write(&tmp, format!("{:#}\n", self.to_json()))?;
        fs::rename(&tmp, dir.join(OWNER_FILE))
    }

    /// The owner recorded in `dir`; `None` if there is no owner file or it cannot be read.
    pub fn read(dir: &Path) -> Option<Self> {
        let text = fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        Self::from_json(&v)
    }

    /// True if this is the calling process.
    pub fn is_current(&self) -> bool {
        if self.pid != std::process::id() {
            return false;
        }
        match (self.start_time, proc_stat(self.pid)) {
            (Some(recorded), Some((_, now))) => recorded == now,
            _ => true,
        }
    }

    /// Whether the process still runs (see the module's notes); `dir` is the run's folder,
    /// for the fallback on recent writes.
    pub fn liveness(&self, dir: &Path) -> Liveness {
        let alive = |b: bool| if b { Liveness::Alive } else { Liveness::Gone };
        let same_host = !self.host.is_empty() && self.host == host_name();
        if cfg!(target_os = "linux") && same_host {
            let boot = boot_id();
            if let (Some(recorded), Some(now)) = (&self.boot_id, &boot) {
                if recorded != now {
                    // written before the last reboot
                    return Liveness::Gone;
                }
            }
            if let Some(recorded) = self.start_time {
                return alive(matches!(
                    proc_stat(self.pid),
                    Some((state, start)) if start == recorded && state != 'Z' && state != 'X'
                ));
            }
            if proc_stat(self.pid).is_none() && Path::new("/proc/self/stat").exists() {
                // /proc works and has no such process
                return Liveness::Gone;
            }
        }
        alive(recently_written(dir))
    }

    /// `process 1234 (fail-lab run)`, with the host when it is another one.
    pub fn describe(&self) -> String {
        let mut s = format!("process {}", self.pid);
        if !self.command.is_empty() {
            s.push_str(&format!(" ({})", self.command));
        }
        if !self.host.is_empty() && self.host != host_name() {
            s.push_str(&format!(" on {}", self.host));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("fail-lab-owner-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_owner_file_round_trips_and_bad_ones_read_as_none() {
        let d = temp("roundtrip");
        let me = Owner::current();
        assert_eq!(me.pid, std::process::id());
        me.write(&d).unwrap();
        assert!(!d.join("owner.json.tmp").exists());
        let back = Owner::read(&d).unwrap();
        assert_eq!(back, me);
        assert!(back.is_current());
        for bad in [
            "",
            "not json",
            "{}",
            r#"{"pid": -3}"#,
            r#"{"pid": "12"}"#,
            r#"{"pid": 0}"#,
            r#"{"pid": 99999999999}"#,
        ] {
            fs::write(d.join(OWNER_FILE), bad).unwrap();
            assert_eq!(Owner::read(&d), None, "{bad}");
        }
        let _ = fs::remove_dir_all(&d);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_process_is_alive_and_an_ended_or_reused_one_is_not() {
        let d = temp("liveness");
        let me = Owner::current();
        assert!(me.start_time.is_some() && me.boot_id.is_some());
        assert_eq!(me.liveness(&d), Liveness::Alive);
        // the same id with another start time: the id was reused
        let reused = Owner {
            start_time: me.start_time.map(|t| t + 1),
            ..me.clone()
        };
        assert_eq!(reused.liveness(&d), Liveness::Gone);
        assert!(!reused.is_current());
        // another boot
        let rebooted = Owner {
            boot_id: Some("another boot".into()),
            ..me.clone()
        };
        assert_eq!(rebooted.liveness(&d), Liveness::Gone);
        // a process that ended
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let ended = Owner { pid, ..me.clone() };
        assert_eq!(ended.liveness(&d), Liveness::Gone);
        // no start time recorded: an id with no process is gone
        let untimed = Owner {
            pid,
            start_time: None,
            ..me.clone()
        };
        assert_eq!(untimed.liveness(&d), Liveness::Gone);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn another_host_counts_as_alive_while_its_files_change() {
        let d = temp("host");
        let other = Owner {
            pid: 1,
            host: "some-other-host-name".into(),
            start_time: Some(1),
            boot_id: None,
            command: "fail-lab run".into(),
        };
        assert_eq!(other.liveness(&d), Liveness::Gone, "no files at all");
        fs::write(d.join("metrics.jsonl"), "").unwrap();
        assert_eq!(other.liveness(&d), Liveness::Alive, "just written");
        assert_eq!(
            other.describe(),
            "process 1 (fail-lab run) on some-other-host-name"
        );
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn proc_stat_reads_the_state_and_start_time_past_odd_command_names() {
        if cfg!(target_os = "linux") {
            let (state, start) = proc_stat(std::process::id()).unwrap();
            assert!(state.is_ascii_alphabetic());
            assert!(start > 0);
        }
        assert!(proc_stat(u32::MAX).is_none());
    }
}
