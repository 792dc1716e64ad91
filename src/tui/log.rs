//! The lab's log: a file, never the screen (a stray line on stdout or stderr would tear the
//! picture). Lines are timestamped and written at once.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::engine::store::timestamp;

static LOG: Mutex<Option<(File, PathBuf)>> = Mutex::new(None);

/// Appends to `path` from now on (creating its folder).
pub fn open(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    if let Ok(mut g) = LOG.lock() {
        *g = Some((f, path.to_path_buf()));
    }
    Ok(())
}

/// Where the log goes, if it is open.
pub fn path() -> Option<PathBuf> {
    LOG.lock().ok()?.as_ref().map(|(_, p)| p.clone())
}

/// Writes one line (no-op while no log is open). Never panics.
pub fn line(msg: &str) {
    // a panic hook may call this while another thread holds the lock and panicked
    let mut g = match LOG.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some((f, _)) = g.as_mut() {
        let _ = writeln!(f, "{} {msg}", timestamp(SystemTime::now()));
        let _ = f.flush();
    }
}

/// Stops logging (closes the file).
pub fn close() {
    if let Ok(mut g) = LOG.lock() {
        *g = None;
    }
}
