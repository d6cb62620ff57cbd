//! `contacts-admin`: the operator's tool. Creates the table, channels and their tokens,
//! defines custom fields, imports, exports and deletes contacts, subscribes webhooks to a
//! channel's change events, and checks a channel.

mod api_keys;
mod export;
mod import;
mod progress;
mod target;
mod webhooks;
mod workspaces;

use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use contacts_shared::domain::channel::{Channel, ChannelRecord};
use contacts_shared::domain::contact_id;
use contacts_shared::domain::field_defs::{FieldDef, FieldType, Uniqueness, BUILT_IN_FIELDS};
use contacts_shared::store::dynamo::{CheckReport, Pace, Reach, TableReport};
use contacts_shared::store::ContactStore;
use contacts_shared::{clock, env, random, ChannelType, DynamoStore};
use serde_json::{json, Value};
use target::Target;

#[derive(Parser)]
#[command(
    version,
    about = "Operate the Contacts API: table, channels, tokens, fields, contacts, webhooks"
)]
struct Cli {
    /// DynamoDB endpoint (DynamoDB Local). Without it: the local stack that `make dev`
    /// runs, if one runs (found through .local/stack.json), else AWS with the usual
    /// credentials.
    #[arg(long, env = env::DYNAMODB_ENDPOINT, global = true)]
    endpoint: Option<String>,
    /// AWS with the usual credentials, even while a local stack runs.
    #[arg(long, global = true, conflicts_with = "endpoint")]
    aws: bool,
    /// The Secrets Manager secret holding the keys that seal webhook secrets (the stack's
    /// WebhookSealingKeyArn output) [default: the local stack's].
    #[arg(long, env = env::WEBHOOK_SEALING_KEY_SECRET, global = true)]
    sealing_key_secret: Option<String>,
    /// The table [default: the local stack's, else contacts].
    #[arg(long, env = env::CONTACTS_TABLE, global = true)]
    table: Option<String>,
    /// The stack's usage plan (its UsagePlanId output): channels get API keys in it.
    /// Required against AWS for channel and token commands.
    #[arg(long, env = env::USAGE_PLAN_ID, global = true)]
    usage_plan_id: Option<String>,
    /// API Gateway endpoint to use instead of AWS's (for tests).
    #[arg(long, env = env::APIGATEWAY_ENDPOINT, global = true)]
    apigateway_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The table.
    #[command(subcommand)]
    Table(TableCommand),
    /// Workspaces: a business's channels grouped.
    #[command(subcommand)]
    Workspace(workspaces::WorkspaceCommand),
    /// Channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Channel API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Custom field definitions.
    #[command(subcommand)]
    Field(FieldCommand),
    /// Contacts.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Webhooks: a channel's change events, signed, POSTed to a URL.
    #[command(subcommand)]
    Webhook(webhooks::WebhookCommand),
    /// Upgrades a table made before workspaces, while the API serves: every listed
    /// channel without a workspace gets one of its own (the channel's id and name), its
    /// fields, contacts, ids and tokens unchanged. Idempotent; run again, it finishes a
    /// migration that stopped part-way. Channels missing from the channel list (tables
    /// older than it) are listed by `check --repair` first.
    Migrate,
    /// Checks that a channel's field index, list, counts and tags agree with its contacts
    /// (reading the channel's own items); exits non-zero if they do not. With --repair,
    /// restores them from the contacts (safe while the API is in use) and exits non-zero
    /// only if that fails. Without --channel, scans the whole table, paced, for items of
    /// channels that no longer exist (left by writes in flight while their channel was
    /// deleted), channels missing from the channel list or in no workspace, and workspaces
    /// whose deletion stopped; --repair removes, lists, migrates and finishes them.
    Check {
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        repair: bool,
        /// With --channel: scan the whole table (paced) rather than read the channel's own
        /// items, to find entries and counts in value partitions no contact points to too.
        #[arg(long, requires = "channel")]
        scan: bool,
        /// The scan's pace, in read units a second (on AWS a read unit is 4 KB read,
        /// strongly consistent).
        #[arg(long, default_value_t = DEFAULT_SCAN_READ_UNITS)]
        max_read_units_per_second: f64,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Creates the table if it does not exist.
    Create,
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Creates a channel and its first token; prints {"channel_id", "token",
    /// "workspace_id"}.
    Create {
        #[arg(long)]
        name: String,
        /// facebook, instagram, whatsapp, telegram, viber, line, wechat, twitter, sms, gmail, webchat or custom.
        #[arg(long = "type")]
        kind: ChannelType,
        /// Channel id (default: a random one).
        #[arg(long)]
        id: Option<String>,
        /// The workspace to make it in (default: a workspace of its own, with the
        /// channel's id and name).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Shows a channel (never its tokens).
    Show {
        #[arg(long)]
        channel: String,
    },
    /// Lists every channel (id, name, type, created, workspace), from the channel list.
    List,
    /// Deletes a channel: its tokens, API key, contacts and field definitions. Final: its
    /// requests are refused at once, and its data goes after the settle time
    /// (FIELD_CACHE_SECONDS + 10 s), when no request of it can still be running.
    Delete {
        #[arg(long)]
        channel: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issues another token for a channel; prints {"token"}.
    Issue {
        #[arg(long)]
        channel: String,
    },
    /// Revokes a token.
    Revoke {
        #[arg(long)]
        token: String,
    },
}

#[derive(Subcommand)]
enum FieldCommand {
    /// Defines a custom field of a channel.
    /// Defines a custom field in a workspace: on all its channels (given a channel, in the
    /// channel's workspace; channels made before workspaces and not migrated, on the
    /// channel alone).
    Define {
        #[arg(
            long,
            required_unless_present = "workspace",
            conflicts_with = "workspace"
        )]
        channel: Option<String>,
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long)]
        name: String,
        /// text, number, boolean, email, phone, url, date, time or list.
        #[arg(long = "type")]
        kind: FieldType,
        /// The values of a list field, comma-separated.
        #[arg(long, value_delimiter = ',')]
        values: Vec<String>,
        /// Makes its values unique in the channel (as `field unique` does; with --channel:
        /// uniqueness is a channel's).
        #[arg(long, requires = "channel")]
        unique: bool,
    },
    /// Makes a field's values unique in the channel (built-in `phone` and `email` too),
    /// compared by match key: claims every stored value, and refuses, listing the contacts,
    /// if two share one. Takes the settle time (FIELD_CACHE_SECONDS + 10 s) to reach every
    /// running function first.
    Unique {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        name: String,
        /// Lifts uniqueness instead.
        #[arg(long)]
        off: bool,
    },
    /// Lists a channel's (or a workspace's) fields, built-in and custom.
    List {
        #[arg(
            long,
            required_unless_present = "workspace",
            conflicts_with = "workspace"
        )]
        channel: Option<String>,
        #[arg(long)]
        workspace: Option<String>,
    },
}

#[derive(Subcommand)]
enum ContactCommand {
    /// Imports contacts from JSON Lines: {"id", "custom_fields": {name: value}, "tags", "created_at"}.
    /// Within the file, the first line with an id wins; later ones are reported as duplicates.
    Import {
        #[arg(long)]
        channel: String,
        /// The file to read; `-` reads standard input.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Exports a channel's contacts as JSON Lines, oldest first, in the format import reads.
    Export {
        #[arg(long)]
        channel: String,
        /// The file to write (replaced); standard output without it.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Deletes a contact and everything stored for it, as `DELETE /v1/contact/{id}` does.
    Delete {
        #[arg(long)]
        channel: String,
        /// The contact's id, as in the API's paths (on WhatsApp and SMS channels, the
        /// phone in any spelling).
        #[arg(long)]
        id: String,
    },
}

/// The whole table's check reads at most this many read units a second unless told: about
/// 800 KB a second, a small share of what an on-demand table serves, and pages small
/// enough that DynamoDB Local answers the API between them.
const DEFAULT_SCAN_READ_UNITS: f64 = 200.0;

/// Where channels' API keys live: a usage plan on API Gateway, or nowhere (the local
/// stack meters the key value itself).
pub(crate) enum Keys {
    Plan(api_keys::UsagePlan),
    Local,
    /// Against AWS without a usage plan id: channel and token commands refuse to run,
    /// since a channel without a key in the plan could not be called.
    Missing,
}

impl Keys {
    pub(crate) fn plan(&self) -> anyhow::Result<Option<&api_keys::UsagePlan>> {
        match self {
            Keys::Plan(plan) => Ok(Some(plan)),
            Keys::Local => Ok(None),
            Keys::Missing => bail!(
                "against AWS, give --usage-plan-id (the stack's UsagePlanId output, or \
                 USAGE_PLAN_ID): every channel needs an API key in the stack's usage plan"
            ),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let target = Target::resolve(cli.endpoint, cli.table, cli.sealing_key_secret, cli.aws);
    let store = DynamoStore::connect(target.endpoint.as_deref(), &target.table).await;
    let keys = match (&cli.usage_plan_id, &target.endpoint) {
        (Some(plan), _) => {
            Keys::Plan(api_keys::UsagePlan::connect(cli.apigateway_endpoint.as_deref(), plan).await)
        }
        (None, Some(_)) => Keys::Local,
        (None, None) => Keys::Missing,
    };
    match run(&store, &keys, &target, cli.command).await {
        Ok(Some(output)) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("contacts-admin: {why:#}");
            ExitCode::FAILURE
        }
    }
}

/// What a command prints on success (`None`: nothing), or why it failed.
pub(crate) type Outcome = anyhow::Result<Option<Value>>;

async fn run(store: &DynamoStore, keys: &Keys, target: &Target, command: Command) -> Outcome {
    match command {
        Command::Table(TableCommand::Create) => create_table(store).await,
        Command::Workspace(command) => workspaces::run(store, keys, command).await,
        Command::Migrate => workspaces::migrate(store).await,
        Command::Channel(command) => channel(store, keys, command).await,
        Command::Token(command) => token(store, keys, command).await,
        Command::Field(command) => field(store, command).await,
        Command::Webhook(command) => webhooks::run(store, target, command).await,
        Command::Contact(ContactCommand::Import { channel, file }) => {
            import_contacts(store, &channel, &file).await
        }
        Command::Contact(ContactCommand::Export { channel, file }) => {
            export_contacts(store, &channel, file.as_deref()).await
        }
        Command::Contact(ContactCommand::Delete { channel, id }) => {
            delete_contact(store, &channel, &id).await
        }
        Command::Check {
            channel: Some(channel),
            repair,
            scan,
            max_read_units_per_second,
        } => {
            let scan = scan.then_some(max_read_units_per_second);
            check(store, target, &channel, repair, scan).await
        }
        Command::Check {
            channel: None,
            repair,
            max_read_units_per_second,
            ..
        } => check_table(store, repair, max_read_units_per_second).await,
    }
}

async fn create_table(store: &DynamoStore) -> Outcome {
    let created = store.create_table().await?;
    eprintln!(
        "table {} {}",
        store.table(),
        if created { "created" } else { "already exists" }
    );
    Ok(None)
}

async fn channel(store: &DynamoStore, keys: &Keys, command: ChannelCommand) -> Outcome {
    match command {
        ChannelCommand::Create {
            name,
            kind,
            id,
            workspace,
        } => create_channel(store, keys, name, kind, id, workspace).await,
        ChannelCommand::List => {
            let listed = store.channels().await?.into_iter().map(|channel| {
                json!({
                    "channel_id": channel.id, "name": channel.name,
                    "type": channel.kind.as_str(), "created_at": channel.created_at,
                    "workspace_id": channel.workspace,
                })
            });
            Ok(Some(Value::Array(listed.collect())))
        }
        ChannelCommand::Show { channel } => {
            let record = store.existing_channel(&channel).await?;
            Ok(Some(json!({
                "channel_id": record.id, "name": record.name, "type": record.kind.as_str(),
                "created_at": record.created_at, "live_tokens": record.tokens,
                "api_key_id": record.api_key_id, "workspace_id": record.workspace,
            })))
        }
        ChannelCommand::Delete { channel } => {
            let plan = keys.plan()?;
            let record = store.existing_channel(&channel).await?;
            if let (Some(plan), Some(key_id)) = (plan, &record.api_key_id) {
                plan.delete_key(key_id).await?;
            }
            eprintln!(
                "deleting channel {channel}: its tokens are revoked; waiting up to {}s for \
                 running functions",
                settle().as_secs()
            );
            let spinner = progress::spinner(&format!("deleting channel {channel}"));
            let done = store
                .delete_channel(&channel, settle(), &mut |at| {
                    spinner.set_message(format!(
                        "{} contact(s), {} item(s) deleted",
                        at.contacts, at.items
                    ));
                })
                .await?;
            spinner.finish_and_clear();
            eprintln!(
                "channel {channel} deleted: {} contact(s) and {} item(s) in all (tokens, \
                 webhooks, index and list entries, counts, claims, records, the channel)",
                done.contacts, done.items
            );
            Ok(None)
        }
    }
}

/// A channel, its usage-plan key (on AWS) and its first token.
async fn create_channel(
    store: &DynamoStore,
    keys: &Keys,
    name: String,
    kind: ChannelType,
    id: Option<String>,
    workspace: Option<String>,
) -> Outcome {
    let plan = keys.plan()?;
    let random = || random::base32_id().context("no random id");
    let id = match id {
        Some(id) => id,
        None => format!("ch{}", &random()?[..18]),
    };
    // The usage-plan key value: API Gateway takes 20 to 128 characters.
    let api_key = format!("key{}", random()?);
    let api_key_id = match plan {
        Some(plan) => Some(plan.create_key(&id, &api_key).await?),
        None => None,
    };
    let record = ChannelRecord {
        id: id.clone(),
        name,
        kind,
        api_key,
        api_key_id: api_key_id.clone(),
        created_at: clock::now(),
        tokens: 0,
        workspace,
    };
    if let Err(err) = store.create_channel(&record).await {
        if let (Some(plan), Some(key_id)) = (plan, &api_key_id) {
            let _ = plan.delete_key(key_id).await;
        }
        return Err(err.into());
    }
    let token = store.issue_token(&id).await?;
    let workspace = record.workspace.unwrap_or_else(|| id.clone());
    Ok(Some(
        json!({"channel_id": id, "token": token, "workspace_id": workspace}),
    ))
}

async fn token(store: &DynamoStore, keys: &Keys, command: TokenCommand) -> Outcome {
    let plan = keys.plan()?;
    match command {
        TokenCommand::Issue { channel } => {
            let record = store.existing_channel(&channel).await?;
            // The key went with the channel's last token: bring it back, same value.
            if let (Some(plan), None) = (plan, &record.api_key_id) {
                let key_id = plan.create_key(&channel, &record.api_key).await?;
                store.set_api_key_id(&channel, Some(&key_id)).await?;
            }
            let token = store.issue_token(&channel).await?;
            Ok(Some(json!({"token": token})))
        }
        TokenCommand::Revoke { token } => {
            let channel = store.revoke_token(&token).await?;
            eprintln!("token revoked (channel {channel})");
            // A channel with no live token needs no key: free it (keys are limited per region).
            let record = store.channel(&channel).await?;
            if let (Some(plan), Some(record)) = (plan, record) {
                if let (0, Some(key_id)) = (record.tokens, &record.api_key_id) {
                    plan.delete_key(key_id).await?;
                    store.set_api_key_id(&channel, None).await?;
                    eprintln!("channel {channel} has no live token left: its API key was deleted");
                }
            }
            Ok(None)
        }
    }
}

async fn field(store: &DynamoStore, command: FieldCommand) -> Outcome {
    match command {
        FieldCommand::Define {
            channel,
            workspace,
            name,
            kind,
            values,
            unique,
        } => {
            let mut def = FieldDef::checked(kind, values).map_err(anyhow::Error::msg)?;
            let Some(channel) = channel else {
                let workspace = workspace.unwrap_or_default();
                let n = store
                    .define_workspace_field(&workspace, &name, &def)
                    .await?;
                eprintln!(
                    "field {name} ({kind}) defined in workspace {workspace}, on {n} channel(s)"
                );
                return Ok(None);
            };
            if unique {
                def.unique = Some(Uniqueness::On);
                let new = store.define_unique_field(&channel, &name, &def).await?;
                if !new {
                    // Defined already: it may hold values, which must be claimed first.
                    def.unique = None;
                    store.define_field(&channel, &name, &def).await?;
                    make_unique(store, &channel, &name).await?;
                }
            } else {
                store.define_field(&channel, &name, &def).await?;
            }
            let unique = match unique {
                true => format!(", unique on channel {channel}"),
                false => String::new(),
            };
            let scope = match store.existing_channel(&channel).await?.workspace {
                Some(workspace) => format!("in workspace {workspace}"),
                None => format!("on channel {channel}"),
            };
            eprintln!("field {name} ({kind}{unique}) defined {scope}");
            Ok(None)
        }
        FieldCommand::Unique { channel, name, off } => {
            if off {
                eprintln!(
                    "lifting: waiting {}s for running functions",
                    settle().as_secs()
                );
                store.lift_unique(&channel, &name, settle()).await?;
                eprintln!("field {name} of channel {channel} is no longer unique");
            } else {
                make_unique(store, &channel, &name).await?;
                eprintln!("field {name} of channel {channel} is unique");
            }
            Ok(None)
        }
        FieldCommand::List { channel, workspace } => {
            let fields = match (channel, workspace) {
                (Some(channel), _) => store.fields(&channel).await?,
                (None, workspace) => {
                    store
                        .workspace_fields(&workspace.unwrap_or_default())
                        .await?
                }
            };
            let built_in = BUILT_IN_FIELDS.iter().map(|(name, kind)| {
                let mut field = json!({"name": name, "type": kind.as_str(), "built_in": true});
                if let Some(unique) = fields.get(name).and_then(|d| d.unique) {
                    field["unique"] = json!(unique.as_str());
                }
                field
            });
            let custom = fields.custom().iter().map(|(name, def)| {
                let mut field =
                    json!({"name": name, "type": def.field_type.as_str(), "built_in": false});
                if let Some(unique) = fields.get(name).and_then(|d| d.unique) {
                    field["unique"] = json!(unique.as_str());
                }
                if !def.values.is_empty() {
                    field["values"] = json!(def.values);
                }
                field
            });
            Ok(Some(Value::Array(built_in.chain(custom).collect())))
        }
    }
}

/// How long a change of the channel's fields takes to reach every running function.
pub(crate) fn settle() -> std::time::Duration {
    contacts_shared::env::settle_time()
}

async fn make_unique(store: &DynamoStore, channel: &str, name: &str) -> anyhow::Result<()> {
    eprintln!(
        "making {name} unique: waiting {}s for running functions, then claiming stored values",
        settle().as_secs()
    );
    Ok(store.make_unique(channel, name, settle()).await?)
}

async fn import_contacts(store: &DynamoStore, channel: &str, file: &std::path::Path) -> Outcome {
    let kind = store.existing_channel(channel).await?.kind;
    let fields = store.fields(channel).await?;
    let source = import::Source::open(file)?;
    let (imported, failures) = import::import(store, channel, kind, &fields, source).await;
    for (line, why) in &failures {
        eprintln!("line {line}: {why}");
    }
    let summary = json!({"imported": imported, "failed": failures.len()});
    if failures.is_empty() {
        Ok(Some(summary))
    } else {
        println!("{summary}");
        bail!("{} line(s) not imported", failures.len())
    }
}

async fn export_contacts(
    store: &DynamoStore,
    channel: &str,
    file: Option<&std::path::Path>,
) -> Outcome {
    store.existing_channel(channel).await?;
    let mut out: Box<dyn std::io::Write> = match file {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let exported = export::export(store, channel, &mut out).await?;
    eprintln!("{exported} contact(s) exported");
    Ok(None)
}

async fn delete_contact(store: &DynamoStore, channel: &str, id: &str) -> Outcome {
    let kind = store.existing_channel(channel).await?.kind;
    // Read as the API reads a path's id (a phone in any spelling on WhatsApp and SMS).
    let target = Channel {
        id: channel.to_string(),
        kind,
    };
    let id = contact_id::from_path(id, &target).map_err(|e| anyhow!(e.to_string()))?;
    let fields = store.fields(channel).await?;
    if store.delete_contact(channel, &id, &fields).await? {
        Ok(Some(json!({"deleted": id})))
    } else {
        bail!("channel {channel} has no contact '{id}'")
    }
}

/// A channel's check, reading its own items, or with `scan` (a pace) the whole table.
async fn check(
    store: &DynamoStore,
    target: &Target,
    channel: &str,
    repair: bool,
    scan: Option<f64>,
) -> Outcome {
    let spinner = progress::spinner(&format!("checking channel {channel}"));
    let mut shown = |read: u64, units: f64| {
        spinner.set_message(format!("{read} item(s) read, {units:.0} read unit(s)"));
    };
    let mut reach = match scan {
        Some(pace) => Reach::Table(Pace {
            max_read_units_per_second: checked_pace(pace)?,
            progress: &mut shown,
        }),
        None => Reach::Own,
    };
    let (report, repaired) = if repair {
        let (before, after) = store.repair_channel_reaching(channel, &mut reach).await?;
        (after, Some(before))
    } else {
        (
            store.check_channel_reaching(channel, &mut reach).await?,
            None,
        )
    };
    spinner.finish_and_clear();
    let mut summary = check_summary(channel, &report);
    if let Some(before) = repaired {
        summary["repaired"] = check_summary(channel, &before);
    }
    let unopenable = webhooks::unopenable(store, target, channel).await?;
    if let Some(unopenable) = &unopenable {
        summary["unopenable_webhooks"] = json!(unopenable);
        if !unopenable.is_empty() {
            summary["consistent"] = json!(false);
            println!("{summary}");
            bail!(
                "{} webhook secret(s) of the channel open with none of the sealing keys: \
                 remove those webhooks and add them again (a new secret for the receiver)",
                unopenable.len()
            );
        }
    }
    if report.is_consistent() {
        Ok(Some(summary))
    } else {
        println!("{summary}");
        match repair {
            true => bail!("the channel is still inconsistent after the repair"),
            false => bail!(
                "the channel's index, counts or tags disagree with its contacts (--repair \
                 restores them)"
            ),
        }
    }
}

fn checked_pace(read_units_per_second: f64) -> anyhow::Result<f64> {
    match read_units_per_second > 0.0 && read_units_per_second.is_finite() {
        true => Ok(read_units_per_second),
        false => bail!("--max-read-units-per-second must be a number above 0"),
    }
}

/// The whole table's check: items of deleted channels, channels missing from the channel
/// list; with `repair`, what is left after removing and listing them, and what was.
async fn check_table(store: &DynamoStore, repair: bool, read_units_per_second: f64) -> Outcome {
    let spinner = progress::spinner("scanning the table");
    let mut shown = |read: u64, units: f64| {
        spinner.set_message(format!("{read} item(s) read, {units:.0} read unit(s)"));
    };
    let mut pace = Pace {
        max_read_units_per_second: checked_pace(read_units_per_second)?,
        progress: &mut shown,
    };
    let gone = |report: &TableReport| -> Vec<Value> {
        report
            .gone_channels
            .iter()
            .map(|(channel, items)| json!({"channel_id": channel, "items": items}))
            .collect()
    };
    let found = match repair {
        true => Some(store.repair_table(&mut pace, settle()).await?),
        false => None,
    };
    let report = store.check_table(&mut pace).await?;
    spinner.finish_and_clear();
    let mut out = json!({
        "gone_channels": gone(&report),
        "unlisted_channels": report.unlisted_channels,
        "unmigrated_channels": report.unmigrated_channels,
        "unfinished_workspaces": report.unfinished_workspaces,
        "drifted_channels": report.drifted_channels,
        "consistent": report.is_consistent(),
    });
    if let Some(found) = &found {
        out["removed"] = json!(gone(found));
        out["listed"] = json!(found.unlisted_channels);
        out["migrated"] = json!(found.unmigrated_channels);
        out["finished_workspaces"] = json!(found.unfinished_workspaces);
        out["aligned"] = json!(found.drifted_channels);
    }
    if report.is_consistent() {
        return Ok(Some(out));
    }
    println!("{out}");
    match repair {
        true => bail!(
            "items of deleted channels, unlisted or unmigrated channels or unfinished \
             workspace deletions are left after the repair"
        ),
        false => bail!(
            "the table holds items of deleted channels, channels missing from the channel \
             list or in no workspace, or workspaces whose deletion stopped (--repair removes, \
             lists, migrates and finishes them)"
        ),
    }
}

fn check_summary(channel: &str, report: &CheckReport) -> Value {
    let pairs = |v: &[(String, String)]| v.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>();
    json!({
        "channel_id": channel,
        "contacts": report.contacts,
        "index_entries": report.index_entries,
        "missing_entries": pairs(&report.missing_entries),
        "orphan_entries": pairs(&report.orphan_entries),
        "miscounted": report.miscounted.iter()
            .map(|(pk, counted, entries)| json!({"partition": pk, "counted": counted, "entries": entries}))
            .collect::<Vec<_>>(),
        "pending": report.pending,
        "unnormalized_tags": report.unnormalized_tags,
        "missing_claims": pairs(&report.missing_claims),
        "stale_claims": pairs(&report.stale_claims),
        "shared_values": report.shared_values.iter()
            .map(|(field, ids)| json!({"field": field, "ids": ids}))
            .collect::<Vec<_>>(),
        "consistent": report.is_consistent(),
    })
}
