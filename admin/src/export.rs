//! `contact export`: a channel's contacts as JSON Lines, oldest first, in the format
//! `contact import` reads. Pages through the channel's list, so memory stays constant
//! whatever the channel's size; a spinner counts lines on a terminal.

use std::io::Write;

use anyhow::Context;
use contacts_shared::store::ContactStore;
use contacts_shared::DynamoStore;
use indicatif::{ProgressBar, ProgressStyle};

/// Contacts read per page of the list.
const PAGE: u32 = 100;

/// Writes every contact of `channel` to `out`, one line each; how many.
pub async fn export(
    store: &DynamoStore,
    channel: &str,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} contacts exported ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut after: Option<String> = None;
    let mut written = 0;
    loop {
        let page = store.list(channel, after.as_deref(), PAGE).await?;
        for contact in &page.contacts {
            let line = serde_json::to_string(&contact.to_json())?;
            writeln!(out, "{line}").context("cannot write")?;
            written += 1;
        }
        progress.inc(page.contacts.len() as u64);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.flush().context("cannot write")?;
    progress.finish_and_clear();
    Ok(written)
}
