//! 100 calls a minute per channel: the 101st gets 429, with `Retry-After`, while another
//! channel still works.

use std::time::Instant;

use contacts_shared::ChannelType;
use contacts_tests::Method;

use crate::{assert_error, stack};

#[test]
fn the_101st_call_in_a_minute_is_refused_for_that_channel_only() {
    let s = stack();
    let (_, busy) = s.channel(ChannelType::Facebook);
    let (_, quiet) = s.channel(ChannelType::Facebook);
    let started = Instant::now();
    let mut served = 0u32;
    let refused = loop {
        let reply = s.call(Method::GET, "/v1/contact/someone", Some(&busy), None);
        if reply.status == 429 {
            break reply;
        }
        assert_eq!(reply.status, 403, "{}", reply.text);
        served += 1;
        assert!(served <= 200, "no 429 after {served} calls");
    };
    // A bucket of 100, refilled at 100 a minute while the calls were made.
    let refilled = (started.elapsed().as_secs_f64() * 100.0 / 60.0).ceil() as u32;
    assert!(
        (100..=100 + refilled).contains(&served),
        "429 after {served} calls (refill allowance {refilled})"
    );
    assert_error(&refused, 429, "Too many requests");
    // Whole seconds (no date, no fraction), and never "at once".
    let retry_after = refused
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .expect("a 429 carries Retry-After");
    let seconds: u64 = retry_after
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| retry_after.parse().ok())
        .flatten()
        .unwrap_or_else(|| panic!("Retry-After {retry_after:?} is not whole seconds"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    assert_eq!(
        s.call(Method::GET, "/v1/contact/someone", Some(&quiet), None)
            .status,
        403,
        "other channels are unaffected"
    );
}
