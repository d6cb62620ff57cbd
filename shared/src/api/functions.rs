//! The table of functions: every Lambda function of the API, the route it serves and
//! the DynamoDB actions it may call. The responder's `Allow`, the bench, the test fixtures
//! and the template checks all take what they need from here; `template.yaml` declares the
//! same (a test holds the two together).
//!
//! Adding an endpoint: its row here with a new [`Handler`], its handler in `handlers.rs`
//! (the compiler then asks for its arm in
//! [`handlers::handle`](crate::api::handlers::handle)), its crate in `functions/` (a small
//! `main`), its resource in `template.yaml`, its event in `events/`, and its operation in
//! `openapi.yaml`.

/// One Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// Its binary (`BuildProperties.Binary`), its crate's folder in `functions/`, and its
    /// event, `events/{name}.json`.
    pub name: &'static str,
    pub role: Role,
    /// What its IAM policy grants on the table: exactly what its store calls need.
    pub dynamodb: &'static [&'static str],
    /// DynamoDB round trips a warm call may take, and whether some may overlap (`make
    /// bench` holds each endpoint to it).
    pub round_trips: Option<(usize, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An endpoint: the method and resource it serves, and its handler. Its event
    /// succeeds with 200.
    Endpoint {
        method: &'static str,
        path: &'static str,
        handler: Handler,
    },
    /// The REQUEST authorizer in front of every endpoint. Its event holds a placeholder
    /// token, which it refuses.
    Authorizer,
    /// The `ANY` route of every endpoint's resource, before authentication: 405 with
    /// `Allow` (its event is a wrong method), 404 for anything else.
    Responder,
    /// The table's stream consumer (an event source mapping): turns contact changes into
    /// webhook deliveries on the delivery queue. Its event is a stream batch.
    Stream,
    /// The delivery queue's consumer: signs and sends each delivery, and puts a failed
    /// one back with a growing delay. Its event is a queue batch.
    Queue,
}

/// Which handler of [`handlers`](crate::api::handlers) an endpoint runs: the table names
/// it, and [`handlers::handle`](crate::api::handlers::handle) matches on it exhaustively,
/// so a handler cannot be added without its row nor a row without its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    CreateContact,
    GetContact,
    UpdateContact,
    FindContacts,
    AddTags,
    RemoveTags,
    DeleteContact,
    ListContacts,
    UpsertContact,
}

pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "authorizer",
        role: Role::Authorizer,
        dynamodb: &["dynamodb:GetItem"],
        round_trips: None,
    },
    Function {
        name: "create-contact",
        role: Role::Endpoint {
            method: "POST",
            path: "/v1/contact",
            handler: Handler::CreateContact,
        },
        // The contact, its index entries, its values' counts (updates) and an idempotency
        // record in one transaction; a write too large for one finishes with updates.
        dynamodb: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        round_trips: Some((1, false)),
    },
    Function {
        name: "get-contact",
        role: Role::Endpoint {
            method: "GET",
            path: "/v1/contact/{contact_id}",
            handler: Handler::GetContact,
        },
        dynamodb: &["dynamodb:GetItem"],
        round_trips: Some((1, false)),
    },
    Function {
        name: "update-contact",
        role: Role::Endpoint {
            method: "PUT",
            path: "/v1/contact/{contact_id}",
            handler: Handler::UpdateContact,
        },
        dynamodb: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
        round_trips: Some((2, false)),
    },
    Function {
        name: "find-contacts",
        role: Role::Endpoint {
            method: "GET",
            path: "/v1/contact/by_custom_field",
            handler: Handler::FindContacts,
        },
        // Counts and keys: Query; the page's contacts: BatchGetItem; where the page
        // ended, for a walk by page numbers: PutItem; where the page before ended: GetItem.
        dynamodb: &[
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
        ],
        round_trips: Some((2, true)),
    },
    Function {
        name: "add-tags",
        role: Role::Endpoint {
            method: "POST",
            path: "/v1/contact/{contact_id}/tags",
            handler: Handler::AddTags,
        },
        dynamodb: &["dynamodb:UpdateItem"],
        round_trips: Some((1, false)),
    },
    Function {
        name: "remove-tags",
        role: Role::Endpoint {
            method: "DELETE",
            path: "/v1/contact/{contact_id}/tags",
            handler: Handler::RemoveTags,
        },
        dynamodb: &["dynamodb:UpdateItem"],
        round_trips: Some((1, false)),
    },
    Function {
        name: "delete-contact",
        role: Role::Endpoint {
            method: "DELETE",
            path: "/v1/contact/{contact_id}",
            handler: Handler::DeleteContact,
        },
        // The contact, its index entries, list entry and creating request's record go,
        // and its values' counts move, in one transaction; a delete too large for one
        // marks the contact deleted (an update) and finishes in more. A write found
        // stopped half-way is finished first (its entries: PutItem). Field definitions:
        // GetItem.
        dynamodb: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
        round_trips: Some((2, false)),
    },
    Function {
        name: "list-contacts",
        role: Role::Endpoint {
            method: "GET",
            path: "/v1/contact",
            handler: Handler::ListContacts,
        },
        // The page's list entries: Query; their contacts: BatchGetItem.
        dynamodb: &["dynamodb:Query", "dynamodb:BatchGetItem"],
        round_trips: Some((2, false)),
    },
    Function {
        name: "upsert-contact",
        role: Role::Endpoint {
            method: "PUT",
            path: "/v1/contact/by_custom_field",
            handler: Handler::UpsertContact,
        },
        // Who holds the value: GetItem on its claim. Then an update (GetItem, and one
        // transaction moving claims, entries and counts) or a create (one transaction).
        dynamodb: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
        round_trips: Some((3, false)),
    },
    Function {
        name: "webhook-dispatch",
        role: Role::Stream,
        // The channel's subscriptions: Query. The changes it could not queue, marked for a
        // replay: BatchWriteItem.
        dynamodb: &["dynamodb:Query", "dynamodb:BatchWriteItem"],
        round_trips: None,
    },
    Function {
        name: "webhook-deliver",
        role: Role::Queue,
        // The subscription (its URL, events and sealed secret): GetItem.
        dynamodb: &["dynamodb:GetItem"],
        round_trips: None,
    },
    Function {
        name: "responder",
        role: Role::Responder,
        dynamodb: &[],
        round_trips: None,
    },
];

/// The function named `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The endpoints: `(function, method, path)`.
pub fn endpoints() -> impl Iterator<Item = (&'static Function, &'static str, &'static str)> {
    FUNCTIONS.iter().filter_map(|f| match f.role {
        Role::Endpoint { method, path, .. } => Some((f, method, path)),
        _ => None,
    })
}

/// The endpoint serving `method` on the resource `path` (its template path).
pub fn endpoint(method: &str, path: &str) -> Option<&'static str> {
    endpoints()
        .find(|(_, m, p)| *m == method && *p == path)
        .map(|(f, _, _)| f.name)
}

/// The name of the function playing `role` (the authorizer's, the responder's).
pub fn named(role: Role) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|f| f.role == role)
        .map_or("unknown", |f| f.name)
}

/// Every resource path the API serves, in the table's order, each once.
pub fn resources() -> Vec<&'static str> {
    let mut paths: Vec<&str> = Vec::new();
    for (_, _, path) in endpoints() {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// The methods a resource supports, if it is one of ours (the responder's `Allow`).
pub fn methods(resource: &str) -> Option<Vec<&'static str>> {
    let methods: Vec<&str> = endpoints()
        .filter(|(_, _, path)| *path == resource)
        .map(|(_, method, _)| method)
        .collect();
    (!methods.is_empty()).then_some(methods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_routes_and_allow() {
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FUNCTIONS.len(), "function names are unique");
        assert_eq!(
            methods("/v1/contact/{contact_id}"),
            Some(vec!["GET", "PUT", "DELETE"])
        );
        assert_eq!(methods("/v1/contact"), Some(vec!["POST", "GET"]));
        assert_eq!(
            methods("/v1/contact/by_custom_field"),
            Some(vec!["GET", "PUT"])
        );
        assert_eq!(methods("/v1/nothing"), None);
        assert_eq!(resources().len(), 4);
        let mut routes: Vec<(&str, &str)> = endpoints().map(|(_, m, p)| (m, p)).collect();
        routes.sort_unstable();
        routes.dedup();
        assert_eq!(routes.len(), endpoints().count(), "one function per route");
    }
}
