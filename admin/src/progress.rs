//! What a long command shows while it runs: a spinner with what it has done so far, on a
//! terminal only (indicatif draws nothing when stderr is not one).

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner headed `what`, ticking on its own; its message says how far it is.
pub fn spinner(what: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_prefix(what.to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    spinner
}
