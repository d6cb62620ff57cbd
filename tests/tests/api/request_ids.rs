//! Every response carries a request id of its own in `x-amzn-RequestId`, a UUID as API
//! Gateway sends it, whoever answered: a function (200, 403 for a client error, 405), the
//! gateway before the authorizer (401 without a token, 404 for no route), the authorizer
//! (401) or the usage plan (429). The gateway's log line of a call names its id. And no
//! response invites a browser: no `Access-Control-*` header (the API refuses CORS).

use std::collections::BTreeSet;

use contacts_shared::api::response::REQUEST_ID_HEADER;
use contacts_shared::ChannelType;
use contacts_tests::{Method, Reply};
use serde_json::json;

use crate::{fields_body, stack};

/// API Gateway's format: a UUID, lowercase hex in groups of 8-4-4-4-12.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// The replies seen so far: their ids (each new) and statuses.
#[derive(Default)]
struct Seen {
    ids: BTreeSet<String>,
    statuses: BTreeSet<u16>,
}

impl Seen {
    /// Checks `reply` has `status`, a request id no other reply had, and no CORS header;
    /// returns its id.
    #[track_caller]
    fn record(&mut self, reply: &Reply, status: u16) -> String {
        assert_eq!(reply.status, status, "{}", reply.text);
        let id = reply
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("a {status} without {REQUEST_ID_HEADER}: {}", reply.text));
        assert!(is_uuid(id), "{REQUEST_ID_HEADER} {id:?} is not a UUID");
        assert!(
            self.ids.insert(id.to_string()),
            "{REQUEST_ID_HEADER} {id} answered two calls"
        );
        let cors: Vec<&str> = reply
            .headers
            .keys()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "a {status} with {cors:?}");
        self.statuses.insert(status);
        id.to_string()
    }
}

#[test]
fn every_response_carries_a_request_id_of_its_own() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Facebook);
    let mut seen = Seen::default();

    let body = fields_body(&[("firstName", json!("Ada"))]);
    let created = s.call(Method::POST, "/v1/contact", Some(&token), Some(&body));
    let created_id = seen.record(&created, 200);
    let bad_json = s.call(Method::POST, "/v1/contact", Some(&token), Some("{not json"));
    seen.record(&bad_json, 403);
    let no_token = s.call(Method::GET, "/v1/contact/someone", None, None);
    seen.record(&no_token, 401);
    let unknown_token = s.call(Method::GET, "/v1/contact/someone", Some("ct_nobody"), None);
    seen.record(&unknown_token, 401);
    let no_route = s.call(Method::GET, "/v1/nothing-here", Some(&token), None);
    seen.record(&no_route, 404);
    let wrong_method = s.call(Method::PATCH, "/v1/contact", Some(&token), None);
    seen.record(&wrong_method, 405);

    // Through what is left of the channel's bucket to its 429; every call on the way has
    // an id of its own too.
    let mut calls = 0;
    loop {
        let reply = s.call(Method::GET, "/v1/contact/someone", Some(&token), None);
        if reply.status == 429 {
            seen.record(&reply, 429);
            break;
        }
        seen.record(&reply, 403);
        calls += 1;
        assert!(calls <= 200, "no 429 after {calls} calls");
    }
    assert_eq!(
        seen.statuses,
        BTreeSet::from([200, 401, 403, 404, 405, 429])
    );

    // The gateway's own log line of the create names its id (the log is flushed per line).
    let named =
        |line: &str| line.contains(&created_id) && line.contains("POST /api/v1/contact -> 200");
    let log = s.log_once("gateway", named);
    assert!(
        log.lines().any(named),
        "no line of the gateway's log names {created_id}"
    );
}
