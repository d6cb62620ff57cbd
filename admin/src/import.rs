//! `contact import`: JSON Lines of contacts, validated like the API, bad lines reported
//! by number while the rest are imported.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use contacts_shared::api::bodies::{input_value, value_shape_error};
use contacts_shared::domain::contact_id;
use contacts_shared::domain::field_defs::FieldSet;
use contacts_shared::domain::field_values::match_key;
use contacts_shared::domain::field_writes::{resolve_writes, FieldWrite, RawFieldWrite};
use contacts_shared::domain::tags;
use contacts_shared::limits::{MAX_CREATED_AT, MAX_FIELDS_PER_IMPORTED_CONTACT};
use contacts_shared::store::dynamo::Inserted;
use contacts_shared::store::NewContact;
use contacts_shared::{clock, ApiError, ChannelType, DynamoStore};
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// Lines read and checked ahead, sent to the store as one group at most.
const GROUP: usize = 256;
/// Groups written at once (each spreads over several transactions in flight).
const CONCURRENCY: usize = 2;
/// Lines read and checked ahead of the writes.
const READ_AHEAD: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    id: Option<String>,
    #[serde(borrow, default)]
    custom_fields: HashMap<String, &'a RawValue>,
    #[serde(default)]
    tags: Vec<String>,
    created_at: Option<i64>,
}

/// One contact ready to insert.
#[derive(Debug)]
pub struct Prepared {
    id: Option<String>,
    /// As the line gives it; `None`: the time it is read.
    created_at: Option<i64>,
    created_micros: u32,
    writes: Vec<FieldWrite>,
    tags: BTreeSet<String>,
}

/// Checks one line against the channel's fields.
pub fn prepare(line: &str, fields: &FieldSet) -> Result<Prepared, String> {
    let parsed: Line =
        serde_json::from_str(line).map_err(|e| format!("not a contact object: {e}"))?;
    if let Some(id) = &parsed.id {
        contact_id::check(id).map_err(|e| e.message().to_string())?;
    }
    if parsed.custom_fields.len() > MAX_FIELDS_PER_IMPORTED_CONTACT {
        return Err(format!(
            "at most {MAX_FIELDS_PER_IMPORTED_CONTACT} custom fields per contact"
        ));
    }
    if let Some(created_at) = parsed.created_at {
        if !(0..=MAX_CREATED_AT).contains(&created_at) {
            return Err(format!(
                "created_at must be Unix seconds from 0 to {MAX_CREATED_AT}"
            ));
        }
    }
    let mut raw = Vec::with_capacity(parsed.custom_fields.len());
    for (name, value) in &parsed.custom_fields {
        let value =
            input_value(value).ok_or_else(|| value_shape_error(name).message().to_string())?;
        raw.push(RawFieldWrite {
            name: name.clone(),
            value,
        });
    }
    raw.sort_by(|a, b| a.name.cmp(&b.name));
    let writes = resolve_writes(fields, &raw).map_err(|e| e.message().to_string())?;
    let tags = parsed
        .tags
        .iter()
        .enumerate()
        .map(|(i, tag)| tags::tag(tag).map_err(|why| format!("tags[{i}] {why}")))
        .collect::<Result<_, _>>()?;
    Ok(Prepared {
        id: parsed.id,
        created_at: parsed.created_at,
        created_micros: 0,
        writes,
        tags,
    })
}

/// Where the lines come from: a file (its size drives the progress bar) or stdin.
pub struct Source {
    pub reader: Box<dyn BufRead + Send>,
    /// Bytes to read, when known.
    pub size: Option<u64>,
}

impl Source {
    /// `-` is standard input.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if path == Path::new("-") {
            return Ok(Source {
                reader: Box::new(BufReader::new(std::io::stdin())),
                size: None,
            });
        }
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        Ok(Source {
            reader: Box::new(BufReader::new(file)),
            size,
        })
    }
}

/// One line read: its number (1-based), its length in bytes, and the contact it holds.
type Read = (usize, u64, Result<Prepared, String>);

/// Reads the lines in order on a thread of their own and checks each; the first good line
/// with an id claims it, and a later one with the same id is refused as its duplicate.
/// Deciding this here, in file order and before anything is written, is what keeps the
/// first line the winner whatever the writes' concurrency. A line without an id gets the
/// one the API would give it: on WhatsApp and SMS channels its phone's digits.
fn read_lines(mut source: Source, kind: ChannelType, fields: FieldSet) -> mpsc::Receiver<Read> {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    std::thread::spawn(move || {
        let mut claimed: HashMap<String, usize> = HashMap::new();
        let mut values: HashMap<(String, String), usize> = HashMap::new();
        let mut clock = Creation::default();
        let mut buffer = Vec::new();
        for number in 1.. {
            buffer.clear();
            let size = match source.reader.read_until(b'\n', &mut buffer) {
                Ok(0) => return,
                Ok(size) => size as u64,
                Err(err) => {
                    let _ = sender.blocking_send((number, 0, Err(format!("cannot read: {err}"))));
                    return;
                }
            };
            let outcome = match std::str::from_utf8(&buffer) {
                Err(_) => Err("not UTF-8 text".to_string()),
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => prepare(line, &fields).and_then(|mut contact| {
                    let message = |e: ApiError| e.message().to_string();
                    let id = match contact.id.take() {
                        Some(id) => contact_id::on_channel(kind, &id),
                        None => match contact_id::native(kind, &contact.writes).map_err(message)? {
                            Some(id) => id,
                            None => contact_id::generate().map_err(|e| e.to_string())?,
                        },
                    };
                    if let Some(first) = claimed.get(&id) {
                        return Err(format!("duplicate of line {first}"));
                    }
                    // Unique values too: the first line holding one keeps it.
                    let unique: Vec<(String, String)> = contact
                        .writes
                        .iter()
                        .filter(|w| w.def.claims())
                        .filter_map(|w| {
                            let value = w.value.as_deref()?;
                            Some((w.name.clone(), match_key(w.def.field_type, value)))
                        })
                        .collect();
                    if let Some(first) = unique.iter().find_map(|v| values.get(v)) {
                        return Err(format!("a unique value of line {first} again"));
                    }
                    values.extend(unique.into_iter().map(|v| (v, number)));
                    claimed.insert(id.clone(), number);
                    contact.id = Some(id);
                    let (created_at, micros) = clock.of_line(contact.created_at, number);
                    contact.created_at = Some(created_at);
                    contact.created_micros = micros;
                    Ok(contact)
                }),
            };
            if sender.blocking_send((number, size, outcome)).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Creation times of imported contacts, in the file's order: contacts of one second keep
/// the order of their lines (by line number in the microseconds), and lines without a
/// `created_at` get the time they are read, never earlier than the line before.
#[derive(Default)]
struct Creation {
    last: (i64, u32),
}

impl Creation {
    fn of_line(&mut self, given: Option<i64>, line: usize) -> (i64, u32) {
        match given {
            Some(seconds) => (seconds, (line % 1_000_000) as u32),
            None => {
                let mut now = clock::now_micros();
                if now <= self.last {
                    now = match self.last.1 {
                        999_999 => (self.last.0 + 1, 0),
                        micros => (self.last.0, micros + 1),
                    };
                }
                self.last = now;
                now
            }
        }
    }
}

/// Imports every good line of `source`; returns how many were imported and the errors by
/// line number (1-based). Blank lines are skipped. Lines go to the store in groups as they
/// are read (many contacts to a transaction), a few groups at a time.
pub async fn import(
    store: &DynamoStore,
    channel: &str,
    kind: ChannelType,
    fields: &FieldSet,
    source: Source,
) -> (usize, Vec<(usize, String)>) {
    // Hidden unless stderr is a terminal.
    let bar = match source.size {
        Some(size) => {
            let bar = ProgressBar::new(size);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {percent}% ({eta} left)") {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::no_length();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} lines ({per_sec})") {
                bar.set_style(style);
            }
            bar
        }
    };
    let by_bytes = source.size.is_some();
    let mut lines = read_lines(source, kind, fields.clone());
    let lines = stream::poll_fn(move |cx| lines.poll_recv(cx));
    let outcomes: Vec<Vec<(usize, Option<String>)>> = lines
        .ready_chunks(GROUP)
        .map(|group| {
            let bar = &bar;
            async move {
                let outcomes = insert_group(store, channel, group).await;
                bar.inc(
                    outcomes
                        .iter()
                        .map(|(_, size, _)| if by_bytes { *size } else { 1 })
                        .sum(),
                );
                outcomes
                    .into_iter()
                    .map(|(number, _, failure)| (number, failure))
                    .collect()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();
    let outcomes: Vec<(usize, Option<String>)> = outcomes.into_iter().flatten().collect();
    let imported = outcomes
        .iter()
        .filter(|(_, failure)| failure.is_none())
        .count();
    let mut failures: Vec<(usize, String)> = outcomes
        .into_iter()
        .filter_map(|(number, failure)| failure.map(|why| (number, why)))
        .collect();
    failures.sort_by_key(|(number, _)| *number);
    (imported, failures)
}

/// Inserts a group of read lines; each line's number, size and why it failed, if it did.
async fn insert_group(
    store: &DynamoStore,
    channel: &str,
    group: Vec<Read>,
) -> Vec<(usize, u64, Option<String>)> {
    let mut outcomes = Vec::with_capacity(group.len());
    let mut ready = Vec::new();
    for (number, size, prepared) in group {
        match prepared {
            Ok(contact) => ready.push((number, size, contact)),
            Err(why) => outcomes.push((number, size, Some(why))),
        }
    }
    let contacts: Vec<NewContact> = ready
        .iter()
        .map(|(_, _, c)| NewContact {
            id: c.id.as_deref().unwrap_or_default(),
            created_at: c.created_at.unwrap_or_default(),
            created_micros: c.created_micros,
            writes: &c.writes,
            tags: &c.tags,
        })
        .collect();
    let inserted = store.insert_many(channel, &contacts).await;
    for ((number, size, contact), outcome) in ready.iter().zip(inserted) {
        let failure = match outcome {
            Inserted::Done => None,
            Inserted::IdTaken => Some(format!(
                "contact '{}' already exists",
                contact.id.as_deref().unwrap_or_default()
            )),
            Inserted::Failed(why) => Some(why),
        };
        outcomes.push((*number, *size, failure));
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_validated_like_the_api() {
        let fields = FieldSet::default();
        let ok = prepare(r#"{"id":"01234567890A=","custom_fields":{"firstName":"Ann","timezone":"05.50"},"tags":["VIP"],"created_at":1575618542}"#, &fields).unwrap();
        assert_eq!(ok.id.as_deref(), Some("01234567890A="));
        assert_eq!(
            ok.writes
                .iter()
                .find(|w| w.name == "timezone")
                .unwrap()
                .value
                .as_deref(),
            Some("5.5")
        );
        assert_eq!(ok.created_at, Some(1575618542));
        for (line, why) in [
            ("not json", "not a contact object"),
            (
                r#"{"custom_fields":{"nope":"x"}}"#,
                "Custom field 'nope' does not exist.",
            ),
            (
                r#"{"custom_fields":{"email":"bad"}}"#,
                "Invalid value for custom field 'email'",
            ),
            (
                r#"{"custom_fields":{"firstName":{"a":1}}}"#,
                "must be a string, number, boolean or null",
            ),
            (r#"{"tags":[" "]}"#, "tags[0] must not be empty"),
            (r#"{"id":""}"#, "Contact id must be 1 to 128"),
            (r#"{"created_at":-1}"#, "created_at must be"),
            (r#"{"extra":1}"#, "unknown field"),
        ] {
            let err = prepare(line, &fields).unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
    }
}
