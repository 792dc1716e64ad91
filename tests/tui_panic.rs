//! The lab's panic hook: a panic on the UI thread puts the terminal back before the message
//! is printed; a panic in a run's thread goes to the log file and never to the screen.
//! (Its own test binary: a panic hook is global to the process.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fail_lab::tui::{log, term};

#[test]
fn panics_restore_the_terminal_on_the_ui_thread_and_are_logged_elsewhere() {
    let dir = std::env::temp_dir().join(format!("fail-lab-panic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log_path = dir.join("lab.log");
    log::open(&log_path).unwrap();
    let restored = Arc::new(AtomicUsize::new(0));
    let r = restored.clone();
    term::install_panic_hook(Box::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
    }));

    // a run's thread: logged, terminal untouched
    let worker = std::thread::Builder::new()
        .name("run-test".into())
        .spawn(|| panic!("worker exploded"))
        .unwrap();
    assert!(worker.join().is_err());
    assert_eq!(restored.load(Ordering::SeqCst), 0);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("panic in thread run-test") && text.contains("worker exploded"),
        "{text}"
    );

    // the thread that installed the hook is the UI: the terminal comes back first
    let caught = std::panic::catch_unwind(|| panic!("ui exploded"));
    assert!(caught.is_err());
    assert_eq!(restored.load(Ordering::SeqCst), 1);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("the lab panicked") && text.contains("ui exploded"),
        "{text}"
    );

    let _ = std::panic::take_hook();
    log::close();
    std::fs::remove_dir_all(&dir).unwrap();
}
