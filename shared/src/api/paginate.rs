//! The length-aware paginator of the original API: page arithmetic, `links` and `meta`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::limits::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

/// Characters kept as they are in query values: RFC 3986 unreserved.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u64,
    pub per_page: u32,
    /// Whether the client chose `per_page` (then links keep it).
    pub per_page_given: bool,
}

impl PageRequest {
    /// From the raw `page` and `per_page` query values. A `page` that is not a positive
    /// integer the original could hold (PHP's 64-bit signed integers: Laravel validates
    /// the page with `FILTER_VALIDATE_INT`) is taken as 1, as the original does;
    /// `per_page` is our extension and is checked.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, ApiError> {
        let page = page
            .map(str::trim)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i64>().ok())
            .and_then(|p| u64::try_from(p).ok())
            .filter(|&p| p > 0)
            .unwrap_or(1);
        let per_page_given = per_page.is_some();
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "per_page must be an integer from 1 to {MAX_PER_PAGE}."
                    ))
                })?,
        };
        Ok(PageRequest {
            page,
            per_page,
            per_page_given,
        })
    }

    /// Results before this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(u64::from(self.per_page))
    }
}

/// Renders a page of `data` out of `total` results in the original's shape. `path` is the
/// absolute URL without query; `query` the parameters every link keeps; `next_cursor`,
/// where the next page starts when more follow, goes into the `next` link so that
/// following it reads one page (clients that build `page=N` themselves never need it).
pub fn render(
    data: Vec<Value>,
    total: u64,
    request: &PageRequest,
    path: &str,
    query: &[(&str, &str)],
    next_cursor: Option<&str>,
) -> Value {
    let per_page = u64::from(request.per_page);
    let last_page = total.div_ceil(per_page).max(1);
    let page = request.page;
    let url = |n: u64| {
        let mut url = format!("{path}?");
        for (key, value) in query {
            url.push_str(&format!(
                "{key}={}&",
                utf8_percent_encode(value, QUERY_VALUE)
            ));
        }
        if request.per_page_given {
            url.push_str(&format!("per_page={per_page}&"));
        }
        url.push_str(&format!("page={n}"));
        url
    };
    let (from, to) = if data.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let from = request.offset() + 1;
        (json!(from), json!(from + data.len() as u64 - 1))
    };
    json!({
        "data": data,
        "links": {
            "first": url(1),
            "last": url(last_page),
            "prev": if page > 1 { json!(url(page - 1)) } else { Value::Null },
            // A walk by cursor can outlast the page arithmetic (matches it has passed
            // may have gone meanwhile): the store's word that more follow counts too.
            "next": match (next_cursor, page < last_page) {
                (Some(cursor), _) => json!(format!(
                    "{}&cursor={}",
                    url(page + 1),
                    utf8_percent_encode(cursor, QUERY_VALUE)
                )),
                (None, true) => json!(url(page + 1)),
                (None, false) => Value::Null,
            },
        },
        "meta": {
            "current_page": page,
            "from": from,
            "last_page": last_page,
            "path": path,
            "per_page": per_page,
            "to": to,
            "total": total,
        }
    })
}

/// Renders a page of a channel's list: `data`, the `next` link (with the cursor and
/// the page size) while more may follow, and `meta`.
pub fn render_list(
    data: Vec<Value>,
    path: &str,
    per_page: u32,
    next_cursor: Option<&str>,
) -> Value {
    let next = next_cursor.map(|cursor| {
        format!(
            "{path}?per_page={per_page}&cursor={}",
            utf8_percent_encode(cursor, QUERY_VALUE)
        )
    });
    json!({
        "data": data,
        "links": {"next": next},
        "meta": {"path": path, "per_page": per_page, "next_cursor": next_cursor},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_page_links_to_the_next_by_cursor() {
        let page = render_list(
            vec![json!({"id": "a"})],
            "http://h/api/v1/contact",
            2,
            Some("a/b"),
        );
        assert_eq!(
            page["links"]["next"],
            "http://h/api/v1/contact?per_page=2&cursor=a%2Fb"
        );
        assert_eq!(page["meta"]["next_cursor"], "a/b");
        let last = render_list(vec![], "http://h/api/v1/contact", 10, None);
        assert_eq!(last["links"]["next"], Value::Null);
        assert_eq!(last["meta"]["next_cursor"], Value::Null);
        assert_eq!(last["data"], json!([]));
    }

    const PATH: &str = "http://h/api/v1/contact/by_custom_field";

    fn page(p: &str) -> PageRequest {
        PageRequest::parse(Some(p), None).unwrap()
    }

    #[test]
    fn page_parsing_falls_back_to_one() {
        for raw in ["", "0", "-1", "abc", "1.5", " "] {
            assert_eq!(page(raw).page, 1, "{raw:?}");
        }
        assert_eq!(page("3").page, 3);
        // Past a 64-bit signed integer, the original could not parse it either.
        assert_eq!(page("99999999999999999999").page, 1);
        assert_eq!(page("9223372036854775807").page, 9_223_372_036_854_775_807);
        assert_eq!(page("9223372036854775808").page, 1);
        assert_eq!(PageRequest::parse(None, None).unwrap().per_page, 10);
        assert_eq!(PageRequest::parse(None, Some("100")).unwrap().per_page, 100);
        for bad in ["0", "101", "x", "-5"] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn single_page_matches_the_original_example() {
        let out = render(
            vec![json!({"id": "1"})],
            1,
            &page("1"),
            PATH,
            &[("name", "firstName"), ("value", "Muhammad Mahin")],
            None,
        );
        let first = format!("{PATH}?name=firstName&value=Muhammad%20Mahin&page=1");
        assert_eq!(
            out["links"],
            json!({"first": first, "last": first, "prev": null, "next": null})
        );
        assert_eq!(
            out["meta"],
            json!({"current_page":1,"from":1,"last_page":1,"path":PATH,"per_page":10,"to":1,"total":1})
        );
    }

    #[test]
    fn middle_last_and_past_the_last_page() {
        let data = |n: usize| vec![json!({}); n];
        let mid = render(data(10), 25, &page("2"), PATH, &[], None);
        assert_eq!(mid["meta"]["from"], 11);
        assert_eq!(mid["meta"]["to"], 20);
        assert_eq!(mid["meta"]["last_page"], 3);
        assert_eq!(mid["links"]["prev"], format!("{PATH}?page=1"));
        assert_eq!(mid["links"]["next"], format!("{PATH}?page=3"));
        let last = render(data(5), 25, &page("3"), PATH, &[], None);
        assert_eq!(
            (last["meta"]["from"].clone(), last["meta"]["to"].clone()),
            (json!(21), json!(25))
        );
        assert_eq!(last["links"]["next"], Value::Null);
        // A walk by cursor that outlasts the arithmetic still gets its next page.
        let outlasting = render(data(5), 25, &page("3"), PATH, &[], Some("abc"));
        assert_eq!(
            outlasting["links"]["next"],
            format!("{PATH}?page=4&cursor=abc")
        );
        let past = render(vec![], 25, &page("9"), PATH, &[], None);
        assert_eq!(past["data"], json!([]));
        assert_eq!(
            (past["meta"]["from"].clone(), past["meta"]["to"].clone()),
            (Value::Null, Value::Null)
        );
        assert_eq!(past["links"]["prev"], format!("{PATH}?page=8"));
        let empty = render(vec![], 0, &page("1"), PATH, &[], None);
        assert_eq!(empty["meta"]["last_page"], 1);
        assert_eq!(empty["meta"]["total"], 0);
    }

    #[test]
    fn chosen_per_page_is_kept_in_links() {
        let request = PageRequest::parse(Some("1"), Some("2")).unwrap();
        let out = render(
            vec![json!({}); 2],
            3,
            &request,
            PATH,
            &[("name", "a&b")],
            Some("c_1-2"),
        );
        assert_eq!(
            out["links"]["next"],
            format!("{PATH}?name=a%26b&per_page=2&page=2&cursor=c_1-2")
        );
        assert_eq!(out["meta"]["last_page"], 2);
    }
}
