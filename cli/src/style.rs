//! Colours and progress for a person at a terminal; plain text for pipes,
//! files and `NO_COLOR` (<https://no-color.org>).

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether the output takes colours, and spinners go to standard error.
static COLOURS: AtomicBool = AtomicBool::new(false);
static SPINNERS: AtomicBool = AtomicBool::new(false);

/// Turns colours and spinners on when the output is a person's terminal
/// (`terminal`, as `main` finds it), unless `NO_COLOR` or `TERM=dumb`.
pub fn init(terminal: bool) {
    let plain = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
        || std::env::var("TERM").is_ok_and(|term| term == "dumb");
    COLOURS.store(terminal && !plain, Ordering::Relaxed);
    SPINNERS.store(
        terminal && !plain && std::io::stderr().is_terminal(),
        Ordering::Relaxed,
    );
}

fn paint(code: &str, text: &str) -> String {
    if COLOURS.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub fn dim(text: &str) -> String {
    paint("2", text)
}

pub fn green(text: &str) -> String {
    paint("32", text)
}

pub fn red(text: &str) -> String {
    paint("31", text)
}

pub fn yellow(text: &str) -> String {
    paint("33", text)
}

/// A status word in its colour: green when it went well, red when not,
/// yellow while it goes on.
pub fn status(word: &str) -> String {
    match word {
        "running" | "succeeded" | "approved" => green(word),
        "failed" | "timed_out" | "cancelled" | "stopped" | "denied" => red(word),
        _ => yellow(word),
    }
}

/// A spinner with `message` on standard error while something is awaited;
/// hidden unless `init` found a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    if !SPINNERS.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
