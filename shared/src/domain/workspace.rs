//! Workspaces: a business's channels grouped, as the operator sees them. A channel made
//! without one gets a workspace of its own, with the channel's id and name.

use crate::domain::channel::is_valid_channel_id;
use crate::limits::MAX_CHANNEL_ID_CHARS;

/// A workspace as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRecord {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// Whether `id` is a workspace id: a channel id's rules (1–64 of `[A-Za-z0-9_-]`), so that
/// a channel's own workspace can carry its id and no id contains the `#` of key parts.
pub fn is_valid_workspace_id(id: &str) -> bool {
    is_valid_channel_id(id)
}

/// Why `id` is not a workspace id.
pub fn invalid_workspace_id(id: &str) -> String {
    format!("workspace id '{id}' must be 1 to {MAX_CHANNEL_ID_CHARS} letters, digits, '_' or '-'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_ids_follow_channel_ids_rules() {
        assert!(is_valid_workspace_id("ws_acme-1"));
        assert!(!is_valid_workspace_id(""));
        assert!(!is_valid_workspace_id("a#b"));
        assert!(!is_valid_workspace_id(
            &"w".repeat(MAX_CHANNEL_ID_CHARS + 1)
        ));
        assert!(invalid_workspace_id("a#b").contains("'a#b'"));
    }
}
