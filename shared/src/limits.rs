//! Every limit of the product, in one place.

/// Custom field entries per create or update request.
pub const MAX_FIELDS_PER_REQUEST: usize = 30;
/// Tags per add or remove request.
pub const MAX_TAGS_PER_REQUEST: usize = 10;
/// Characters per tag, after trimming.
pub const MAX_TAG_CHARS: usize = 255;
/// Characters per field value, after trimming.
pub const MAX_VALUE_CHARS: usize = 1_000;
/// Request body size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Characters of a contact id (after URL and, on Viber channels, Base64 decoding).
pub const MAX_CONTACT_ID_CHARS: usize = 128;
/// Characters of a custom field name.
pub const MAX_FIELD_NAME_CHARS: usize = 50;
/// Characters of a channel id (letters, digits, `_` and `-`).
pub const MAX_CHANNEL_ID_CHARS: usize = 64;
/// Results per page of a find, by default and at most.
pub const DEFAULT_PER_PAGE: u32 = 10;
pub const MAX_PER_PAGE: u32 = 100;
/// Values a `list` field may declare.
pub const MAX_LIST_VALUES: usize = 100;
/// Characters of an `Idempotency-Key` (visible ASCII).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// How long an `Idempotency-Key` is remembered, in seconds.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 24 * 60 * 60;
/// Characters of a bearer token the authorizer even looks up.
pub const MAX_TOKEN_CHARS: usize = 512;
/// Actions of one DynamoDB transaction.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// Attempts of a conditional update that lost a race with another writer.
pub const MAX_WRITE_ATTEMPTS: u32 = 8;
/// Attempts to find an unused random id for a new contact (a clash needs 130 random bits
/// to repeat; this is belt and braces).
pub const MAX_ID_ATTEMPTS: u32 = 3;
/// Set fields of one imported contact: the contact and its index entries must fit one
/// DynamoDB transaction (100 actions).
pub const MAX_FIELDS_PER_IMPORTED_CONTACT: usize = 99;
/// Latest `created_at` an import accepts (the index sort key holds 12 digits).
pub const MAX_CREATED_AT: i64 = 999_999_999_999;
/// Match keys longer than this (in bytes) are indexed by their SHA-256, which keeps the
/// partition key under DynamoDB's 2,048-byte limit.
pub const MAX_PLAIN_MATCH_KEY_BYTES: usize = 1024;
/// Unique fields per channel: each unique value a write sets or clears is one more action
/// in the write's first transaction, which must hold them all.
pub const MAX_UNIQUE_FIELDS: usize = 10;
/// How long a function may run (template.yaml's `Timeout`): a change the operator tool
/// makes reaches every request after the field cache's lifetime plus this.
pub const FUNCTION_TIMEOUT_SECONDS: u64 = 10;
/// How long a warm function trusts the field definitions it loaded, unless
/// `FIELD_CACHE_SECONDS` says otherwise (the tests' local stacks shorten it).
pub const DEFAULT_FIELD_CACHE_SECONDS: u64 = 60;

/// Webhook deliveries: a failed one is tried again after 30 s, 1 min, 2 min, ... doubling
/// up to 3 h between tries, [`WEBHOOK_MAX_ATTEMPTS`] times in all: 25 h 18 min from the
/// first try to the last (the contract asks for at least 24 h), then it goes to the dead
/// letter queue, kept 14 days.
pub const DEFAULT_RETRY_BASE_SECONDS: u64 = 30;
pub const DEFAULT_RETRY_MAX_SECONDS: u64 = 3 * 60 * 60;
/// The delivery queue's `maxReceiveCount` (template.yaml and the local stack's queue).
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 17;
/// How long one delivery may take before it counts as failed.
pub const WEBHOOK_DELIVERY_TIMEOUT_SECONDS: u64 = 5;
/// Deliveries one call of the delivery function sends, side by side (its queue's
/// batch size).
pub const WEBHOOK_DELIVERY_BATCH: usize = 10;
/// Stream records one call of the stream function turns into deliveries: as many as one
/// read of a shard returns, so that an import's records take few calls.
pub const WEBHOOK_STREAM_BATCH: usize = 1_000;
/// Batches of one stream shard processed at once, each for its own partition keys (a
/// channel's contacts share one): a bursting channel's records hold up only those of the
/// channels whose keys fall in its lane.
pub const WEBHOOK_STREAM_PARALLELIZATION: usize = 4;
/// Deliveries of one channel in one stream batch beyond which they go to the bulk queue:
/// a channel writing at the API's 100 calls a minute stays far below it.
pub const WEBHOOK_BURST: usize = 20;
/// A received delivery stays hidden this long (the queue's visibility timeout): six times
/// the delivery function's timeout, as AWS advises for an SQS event source.
pub const WEBHOOK_VISIBILITY_SECONDS: u64 = 6 * FUNCTION_TIMEOUT_SECONDS;
/// Subscriptions one channel may have.
pub const MAX_WEBHOOKS_PER_CHANNEL: usize = 10;
/// Longest subscription URL.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2_000;
