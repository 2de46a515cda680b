//! Progress bars for long commands: on stderr when it is a terminal, hidden (drawing nothing)
//! otherwise, so logs and pipes get no control characters.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `length` steps drawn with the indicatif `template`.
pub fn stderr_bar(length: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    bar
}
