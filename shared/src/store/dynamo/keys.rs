//! The table layout: every key format, and nothing else builds keys.
//!
//! | item          | PK                                   | SK                         |
//! |---------------|--------------------------------------|----------------------------|
//! | channel       | `CH#{channel}`                       | `CHANNEL`                  |
//! | channel list  | `CHANNELS`                           | `{channel}`                |
//! | contact       | `CH#{channel}`                       | `C#{contact_id}`           |
//! | field index   | `CH#{channel}#F#{field}#{match key}` | `{order}#{id}`             |
//! | count shard   | `CH#{channel}#F#{field}#{match key}` | `#N#{shard:02}`            |
//! | page mark     | `CH#{channel}#F#{field}#{match key}` | `#P#{per_page:03}#{page:020}` |
//! | list entry    | `CH#{channel}#ALL`                   | `{order}#{id}`             |
//! | unique claim  | `CH#{channel}#U#{field}`             | `={match key}` or `H{sha256}` |
//! | token         | `TOKEN#{sha256 of token}`            | `TOKEN`                    |
//! | idempotency   | `CH#{channel}#IDEM#{sha256 of key}`  | `IDEM`                     |
//! | API key       | `APIKEY#{sha256 of key value}`       | `APIKEY`                   |
//! | webhook       | `CH#{channel}#WH`                    | `{webhook id}`             |
//! | webhook's channel | `WH#{webhook id}`                | `WEBHOOK`                  |
//! | replay mark   | `REPLAY`                             | `{stream sequence, padded}` |
//! | workspace     | `WS#{workspace}`                     | `WORKSPACE`                |
//! | workspace's channel | `WS#{workspace}`               | `CH#{channel}`             |
//! | workspace list | `WORKSPACES`                        | `{workspace}`              |
//!
//! Channel ids and field names cannot contain `#`, so every prefix is unambiguous. The
//! index sort key orders a field's matches oldest first (to the microsecond), then by id;
//! every contact also has a list entry, with the same sort key, so a channel lists in
//! creation order a page at a time.
//! A field value's partition also holds its count, spread over [`COUNT_SHARDS`] items, and
//! the marks of where pages of a find ended; their sort keys start with `#`, below every
//! index entry's (which start with a digit), so `SK > ENTRIES_AFTER` reads entries only.

use crate::hash::sha256_hex;
use crate::limits::MAX_PLAIN_MATCH_KEY_BYTES as MAX_PLAIN_MATCH_KEY;

pub const PK: &str = "PK";
pub const SK: &str = "SK";

/// What every key of a channel's items starts with.
pub const CHANNEL_PK_PREFIX: &str = "CH#";

pub fn channel_pk(channel: &str) -> String {
    format!("{CHANNEL_PK_PREFIX}{channel}")
}

/// The channel whose item a partition key is (`CH#{id}` or `CH#{id}#...`), if any.
pub fn channel_of_pk(pk: &str) -> Option<&str> {
    let rest = pk.strip_prefix(CHANNEL_PK_PREFIX)?;
    rest.split('#').next().filter(|id| !id.is_empty())
}

pub const CHANNEL_SK: &str = "CHANNEL";

/// The partition listing every channel, one item each under its id: the operator lists
/// channels with a query of it rather than a scan of the table. Outside the `CH#` keys,
/// so no channel's deletion or leftover check ever takes it for a channel's own.
pub const CHANNELS_PK: &str = "CHANNELS";

/// What every key of a workspace's items starts with: outside `CH#`, so that no channel's
/// deletion or leftover check takes a workspace's items for a channel's own.
pub const WORKSPACE_PK_PREFIX: &str = "WS#";

pub fn workspace_pk(workspace: &str) -> String {
    format!("{WORKSPACE_PK_PREFIX}{workspace}")
}

pub const WORKSPACE_SK: &str = "WORKSPACE";

/// A workspace's entry for one of its channels, in the workspace's partition: a query of
/// the partition lists its channels.
pub const WORKSPACE_CHANNEL_SK_PREFIX: &str = "CH#";

pub fn workspace_channel_sk(channel: &str) -> String {
    format!("{WORKSPACE_CHANNEL_SK_PREFIX}{channel}")
}

/// The partition listing every workspace, one item each under its id.
pub const WORKSPACES_PK: &str = "WORKSPACES";

const CONTACT_SK_PREFIX: &str = "C#";

pub fn contact_sk(id: &str) -> String {
    format!("{CONTACT_SK_PREFIX}{id}")
}

/// The channel and id of a contact item's key; `None` for every other item.
pub fn contact_of<'a>(pk: &'a str, sk: &'a str) -> Option<(&'a str, &'a str)> {
    let channel = pk.strip_prefix(CHANNEL_PK_PREFIX)?;
    let id = sk.strip_prefix(CONTACT_SK_PREFIX)?;
    (!channel.is_empty() && !channel.contains('#') && !id.is_empty()).then_some((channel, id))
}

/// A channel's webhook subscriptions, one item each.
pub fn webhook_pk(channel: &str) -> String {
    format!("{}#WH", channel_pk(channel))
}

/// Which channel a webhook is of, for commands that name the webhook only.
pub fn webhook_ref_pk(id: &str) -> String {
    format!("WH#{id}")
}

pub const WEBHOOK_REF_SK: &str = "WEBHOOK";

/// The changes the stream function could not queue, one item each under the stream
/// record's sequence number, so that a replay still knows their contacts once the stream
/// no longer holds the records (it keeps them 24 hours, the failure queue 14 days).
pub const REPLAY_PK: &str = "REPLAY";

/// A replay mark's sort key: the sequence number padded to sort as a number.
pub fn replay_sk(sequence: &str) -> String {
    format!("{sequence:0>40}")
}

pub fn index_pk(channel: &str, field: &str, match_key: &str) -> String {
    if match_key.len() <= MAX_PLAIN_MATCH_KEY {
        format!("CH#{channel}#F#{field}#={match_key}")
    } else {
        format!(
            "CH#{channel}#F#{field}#H{}",
            sha256_hex(match_key.as_bytes())
        )
    }
}

/// Where a contact stands in creation order: `{created_at:012}.{micros:06}`; for contacts
/// stored before micros were kept, `{created_at:012}`, which sorts first in its second
/// (`#` is below `.`).
pub fn order(created_at: i64, micros: Option<u32>) -> String {
    match micros {
        Some(micros) => format!("{created_at:012}.{micros:06}"),
        None => format!("{created_at:012}"),
    }
}

pub fn index_sk(created_at: i64, micros: Option<u32>, id: &str) -> String {
    format!("{}#{id}", order(created_at, micros))
}

/// The partition of the channel's list entries, one per contact.
pub fn list_pk(channel: &str) -> String {
    format!("CH#{channel}#ALL")
}

/// The partition of a unique field's claims: one item per value, naming the contact that
/// holds it. One partition per field, so that lifting uniqueness reads its claims with a
/// query, not a scan.
pub fn claim_pk(channel: &str, field: &str) -> String {
    format!("CH#{channel}#U#{field}")
}

/// A claim's sort key: the match key, or its SHA-256 when it would pass DynamoDB's
/// 1,024-byte sort key limit.
pub fn claim_sk(match_key: &str) -> String {
    if match_key.len() < MAX_PLAIN_CLAIM_KEY {
        format!("={match_key}")
    } else {
        format!("H{}", sha256_hex(match_key.as_bytes()))
    }
}

/// Longest match key a claim's sort key holds as it is (the limit is 1,024 bytes).
const MAX_PLAIN_CLAIM_KEY: usize = 1000;

/// Below every index entry's sort key, above every count shard's and page mark's.
pub const ENTRIES_AFTER: &str = "/";

/// Items a field value's count is spread over: one item would take every write of that
/// value (a boolean every contact has), and concurrent transactions on one item conflict.
pub const COUNT_SHARDS: u32 = 16;

pub const COUNT_SHARD_PREFIX: &str = "#N#";

pub fn count_shard_sk(shard: u32) -> String {
    format!("{COUNT_SHARD_PREFIX}{shard:02}")
}

/// Where pages of `per_page` matches ended, page by page.
pub fn page_mark_prefix(per_page: u32) -> String {
    format!("#P#{per_page:03}#")
}

pub fn page_mark_sk(per_page: u32, page: u64) -> String {
    format!("{}{page:020}", page_mark_prefix(per_page))
}

/// The contact id an index sort key points to.
pub fn id_from_index_sk(sk: &str) -> Option<&str> {
    sk.split_once('#').map(|(_, id)| id)
}

pub fn token_pk(token_hash: &str) -> String {
    format!("TOKEN#{token_hash}")
}

pub const TOKEN_SK: &str = "TOKEN";

/// Idempotency keys are client text: hashed, so any key fits and none can forge a prefix.
pub fn idempotency_pk(channel: &str, key: &str) -> String {
    format!("CH#{channel}#IDEM#{}", sha256_hex(key.as_bytes()))
}

pub const IDEMPOTENCY_SK: &str = "IDEM";

/// The local stack's stand-in for a usage-plan API key: hashed like tokens, since the
/// value is what the authorizer hands out and the gateway meters.
pub fn api_key_pk(value: &str) -> String {
    format!("APIKEY#{}", sha256_hex(value.as_bytes()))
}

pub const API_KEY_SK: &str = "APIKEY";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_creation_then_id() {
        let mut keys = vec![
            index_sk(20, Some(5), "a"),
            index_sk(3, Some(0), "z"),
            index_sk(20, Some(40), "B"),
            index_sk(20, None, "old"),
            index_sk(20, Some(5), "A"),
            index_sk(1_575_618_542, Some(999_999), "x"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                index_sk(3, Some(0), "z"),
                // Stored before micros were kept: first in its second.
                index_sk(20, None, "old"),
                index_sk(20, Some(5), "A"),
                index_sk(20, Some(5), "a"),
                index_sk(20, Some(40), "B"),
                index_sk(1_575_618_542, Some(999_999), "x")
            ]
        );
        assert_eq!(
            id_from_index_sk(&index_sk(3, Some(1), "id#with#hash")),
            Some("id#with#hash")
        );
        for other in [count_shard_sk(15), page_mark_sk(100, 12345)] {
            assert!(other.as_str() < ENTRIES_AFTER && ENTRIES_AFTER < keys[0].as_str());
        }
    }

    #[test]
    fn a_key_names_its_channel() {
        assert_eq!(channel_of_pk(&channel_pk("abc")), Some("abc"));
        assert_eq!(
            channel_of_pk(&index_pk("abc", "firstName", "ann")),
            Some("abc")
        );
        assert_eq!(channel_of_pk(&list_pk("abc")), Some("abc"));
        assert_eq!(channel_of_pk(&claim_pk("abc", "email")), Some("abc"));
        assert_eq!(channel_of_pk(&idempotency_pk("abc", "k")), Some("abc"));
        assert_eq!(channel_of_pk(&token_pk("x")), None);
        assert_eq!(channel_of_pk("CH#"), None);
    }

    #[test]
    fn api_keys_are_stored_by_the_hash_of_their_value() {
        assert_eq!(
            api_key_pk("abc"),
            "APIKEY#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn long_match_keys_are_hashed() {
        let short = index_pk("c", "f", "v");
        assert_eq!(short, "CH#c#F#f#=v");
        let long = index_pk("c", "f", &"é".repeat(1000));
        assert!(long.len() < 200 && long.starts_with("CH#c#F#f#H"), "{long}");
        assert_eq!(claim_sk("a@b.c"), "=a@b.c");
        assert!(claim_sk(&"x".repeat(1000)).starts_with('H'));
        assert_eq!(claim_sk(&"x".repeat(999)).len(), 1000);
    }
}
