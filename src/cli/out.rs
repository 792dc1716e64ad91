//! What the subcommands print: errors with their exit code, lines beside a progress bar,
//! JSON lines, numbers and markdown tables.

use std::process::ExitCode;

/// `error: MSG` on stderr, and the exit code of bad input (2).
pub fn bad(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Success, or the error as [`bad`] reports it.
pub fn finish(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => bad(e),
    }
}

/// A number in at most four decimals, or in exponent form when very large or small.
pub fn fmt_value(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 1e-3 && v.abs() < 1e5) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// A line on stderr that does not tear the progress bar (plain when stderr is not a terminal).
pub fn say(bar: &indicatif::ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line.as_ref());
    }
}

/// One JSON object on a line of stdout.
pub fn json_line(v: serde_json::Value) {
    use std::io::Write;
    // a closed pipe (`| head`) is not an error worth a panic; the run still completes
    let _ = writeln!(std::io::stdout().lock(), "{v}");
}

/// A bar on stderr drawn `hz` times a second from `template` (hidden when stderr is not a
/// terminal).
fn bar(len: Option<u64>, hz: u8, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        len,
        indicatif::ProgressDrawTarget::stderr_with_hz(hz),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// A run's steps: speed, ETA and its latest metrics.
pub fn steps_bar() -> indicatif::ProgressBar {
    bar(
        None,
        10,
        "{spinner} {elapsed_precise} {bar:30} {pos}/{len} · {prefix} · ETA {eta} · {msg}",
    )
}

/// Runs done out of `len`.
pub fn runs_bar(len: usize) -> indicatif::ProgressBar {
    bar(
        Some(len as u64),
        4,
        "{spinner} {elapsed_precise} {bar:30} {pos}/{len} runs · ETA {eta} · {msg}",
    )
}

/// Work measured in estimated CPU milliseconds: the bar of `reproduce`, whose runs differ in
/// cost by a thousand times, so that its ETA follows the work left, not the runs left.
pub fn work_bar(total_ms: u64) -> indicatif::ProgressBar {
    bar(
        Some(total_ms.max(1)),
        4,
        "{spinner} {elapsed_precise} {bar:30} {percent:>3}% of the estimated work · ETA {eta} · {msg}",
    )
}

/// Rows as a markdown table on stdout (the first row is the header), columns padded.
pub fn print_markdown(cells: &[Vec<String>]) {
    let cols = cells.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let parts: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    let Some((header, rest)) = cells.split_first() else {
        return;
    };
    line(header);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in rest {
        line(r);
    }
}
