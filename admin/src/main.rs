//! `contacts-admin`: the operator's tool. Creates the table, channels and their tokens,
//! defines custom fields, and imports contacts.

mod import;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use contacts_shared::fields::{FieldDef, FieldType, BUILT_IN_FIELDS};
use contacts_shared::store::ChannelRecord;
use contacts_shared::{clock, random, ChannelType, DynamoStore};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    version,
    about = "Operate the Contacts API: table, channels, tokens, fields, contact import"
)]
struct Cli {
    /// DynamoDB endpoint (DynamoDB Local); without it, AWS with the usual credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    endpoint: Option<String>,
    /// The table.
    #[arg(
        long,
        env = "CONTACTS_TABLE",
        default_value = "contacts",
        global = true
    )]
    table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The table.
    #[command(subcommand)]
    Table(TableCommand),
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
}

#[derive(Subcommand)]
enum TableCommand {
    /// Creates the table if it does not exist.
    Create,
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Creates a channel and its first token; prints {"channel_id", "token"}.
    Create {
        #[arg(long)]
        name: String,
        /// facebook, instagram, whatsapp, telegram, viber, line, wechat, twitter, sms, gmail, webchat or custom.
        #[arg(long = "type")]
        kind: ChannelType,
        /// Channel id (default: a random one).
        #[arg(long)]
        id: Option<String>,
    },
    /// Shows a channel (never its tokens).
    Show {
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
    Define {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        name: String,
        /// text, number, boolean, email, phone, url, date, time or list.
        #[arg(long = "type")]
        kind: FieldType,
        /// The values of a list field, comma-separated.
        #[arg(long, value_delimiter = ',')]
        values: Vec<String>,
    },
    /// Lists a channel's fields, built-in and custom.
    List {
        #[arg(long)]
        channel: String,
    },
}

#[derive(Subcommand)]
enum ContactCommand {
    /// Imports contacts from JSON Lines: {"id", "custom_fields": {name: value}, "tags", "created_at"}.
    Import {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = DynamoStore::connect(cli.endpoint.as_deref(), &cli.table).await;
    match run(&store, cli.command).await {
        Ok(Some(output)) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("contacts-admin: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn run(store: &DynamoStore, command: Command) -> Result<Option<Value>, String> {
    let failed = |e: contacts_shared::store::StoreError| e.to_string();
    match command {
        Command::Table(TableCommand::Create) => {
            let created = store.create_table().await.map_err(failed)?;
            eprintln!(
                "table {} {}",
                store.table(),
                if created { "created" } else { "already exists" }
            );
            Ok(None)
        }
        Command::Channel(ChannelCommand::Create { name, kind, id }) => {
            let id = match id {
                Some(id) => id,
                None => format!(
                    "ch{}",
                    &random::base32_id().map_err(|e| e.to_string())?[..18]
                ),
            };
            let record = ChannelRecord {
                id: id.clone(),
                name,
                kind,
                // The usage-plan key value: API Gateway takes 20 to 128 characters.
                api_key: format!("key{}", random::base32_id().map_err(|e| e.to_string())?),
                created_at: clock::now(),
                tokens: 0,
            };
            store.create_channel(&record).await.map_err(failed)?;
            let token = store.issue_token(&id).await.map_err(failed)?;
            Ok(Some(json!({"channel_id": id, "token": token})))
        }
        Command::Channel(ChannelCommand::Show { channel }) => {
            let record = store
                .channel(&channel)
                .await
                .map_err(failed)?
                .ok_or(format!("no channel '{channel}'"))?;
            Ok(Some(json!({
                "channel_id": record.id, "name": record.name, "type": record.kind.as_str(),
                "created_at": record.created_at, "live_tokens": record.tokens,
            })))
        }
        Command::Token(TokenCommand::Issue { channel }) => {
            let token = store.issue_token(&channel).await.map_err(failed)?;
            Ok(Some(json!({"token": token})))
        }
        Command::Token(TokenCommand::Revoke { token }) => {
            let channel = store.revoke_token(&token).await.map_err(failed)?;
            eprintln!("token revoked (channel {channel})");
            Ok(None)
        }
        Command::Field(FieldCommand::Define {
            channel,
            name,
            kind,
            values,
        }) => {
            let def = FieldDef::checked(kind, values)?;
            store
                .define_field(&channel, &name, &def)
                .await
                .map_err(failed)?;
            eprintln!("field {name} ({kind}) defined on channel {channel}");
            Ok(None)
        }
        Command::Field(FieldCommand::List { channel }) => {
            let fields = store.fields(&channel).await.map_err(failed)?;
            let built_in = BUILT_IN_FIELDS
                .iter()
                .map(|(name, kind)| json!({"name": name, "type": kind.as_str(), "built_in": true}));
            let custom = fields.custom().iter().map(|(name, def)| {
                let mut field =
                    json!({"name": name, "type": def.field_type.as_str(), "built_in": false});
                if !def.values.is_empty() {
                    field["values"] = json!(def.values);
                }
                field
            });
            Ok(Some(Value::Array(built_in.chain(custom).collect())))
        }
        Command::Contact(ContactCommand::Import { channel, file }) => {
            let fields = store.fields(&channel).await.map_err(failed)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (imported, failures) = import::import(store, &channel, &fields, &text).await;
            for (line, why) in &failures {
                eprintln!("line {line}: {why}");
            }
            let summary = json!({"imported": imported, "failed": failures.len()});
            if failures.is_empty() {
                Ok(Some(summary))
            } else {
                println!("{summary}");
                Err(format!("{} line(s) not imported", failures.len()))
            }
        }
    }
}
