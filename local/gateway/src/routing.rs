//! Resource matching as API Gateway REST APIs do it: a literal segment beats a path
//! parameter, then a method beats `ANY`.

use std::collections::HashMap;

use crate::template::Route;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
struct Resource {
    path: String,
    segments: Vec<Segment>,
    methods: HashMap<String, Route>,
}

#[derive(Debug)]
pub struct Router {
    resources: Vec<Resource>,
}

/// A matched route with its raw (still percent-encoded) path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub route: &'a Route,
    pub params: HashMap<String, String>,
}

impl Router {
    pub fn new(routes: &[Route]) -> Self {
        let mut resources: Vec<Resource> = Vec::new();
        for route in routes {
            let position = resources.iter().position(|r| r.path == route.path);
            let resource = match position {
                Some(i) => &mut resources[i],
                None => {
                    resources.push(Resource {
                        path: route.path.clone(),
                        segments: parse(&route.path),
                        methods: HashMap::new(),
                    });
                    resources.last_mut().expect("just pushed")
                }
            };
            resource.methods.insert(route.method.clone(), route.clone());
        }
        Router { resources }
    }

    /// The route for `method` on `path` (the path below the stage, not decoded).
    pub fn find(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let path = match path.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => stripped,
            _ => path,
        };
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        let resource = self
            .resources
            .iter()
            .filter(|r| matches(&r.segments, &segments))
            // Literal segments outrank parameters, the leftmost difference deciding.
            .max_by_key(|r| {
                r.segments
                    .iter()
                    .map(|s| matches!(s, Segment::Literal(_)))
                    .collect::<Vec<_>>()
            })?;
        let route = resource
            .methods
            .get(method)
            .or_else(|| resource.methods.get("ANY"))?;
        let params = resource
            .segments
            .iter()
            .zip(&segments)
            .filter_map(|(pattern, actual)| match pattern {
                Segment::Param(name) => Some((name.clone(), actual.to_string())),
                Segment::Literal(_) => None,
            })
            .collect();
        Some(Matched { route, params })
    }
}

fn parse(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

fn matches(pattern: &[Segment], actual: &[&str]) -> bool {
    pattern.len() == actual.len()
        && pattern.iter().zip(actual).all(|(p, a)| match p {
            Segment::Literal(l) => l == a,
            Segment::Param(_) => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str, method: &str, function: &str) -> Route {
        Route {
            path: path.into(),
            method: method.into(),
            function: function.into(),
            authorized: true,
            api_key_required: true,
        }
    }

    fn router() -> Router {
        Router::new(&[
            route("/v1/contact", "POST", "create"),
            route("/v1/contact", "ANY", "responder"),
            route("/v1/contact/by_custom_field", "GET", "find"),
            route("/v1/contact/by_custom_field", "ANY", "responder"),
            route("/v1/contact/{contact_id}", "GET", "get"),
            route("/v1/contact/{contact_id}", "ANY", "responder"),
            route("/v1/contact/{contact_id}/tags", "POST", "add"),
        ])
    }

    fn function(method: &str, path: &str) -> Option<String> {
        router()
            .find(method, path)
            .map(|m| m.route.function.clone())
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(
            function("GET", "/v1/contact/by_custom_field").as_deref(),
            Some("find")
        );
        assert_eq!(
            function("PUT", "/v1/contact/by_custom_field").as_deref(),
            Some("responder")
        );
        assert_eq!(function("GET", "/v1/contact/123").as_deref(), Some("get"));
    }

    #[test]
    fn methods_then_any_then_nothing() {
        assert_eq!(function("POST", "/v1/contact").as_deref(), Some("create"));
        assert_eq!(function("POST", "/v1/contact/").as_deref(), Some("create"));
        assert_eq!(function("GET", "/v1/contact").as_deref(), Some("responder"));
        assert_eq!(
            function("GET", "/v1/contact/1/tags"),
            None,
            "no ANY on tags in this table"
        );
        assert_eq!(function("GET", "/v1/nothing"), None);
        assert_eq!(function("GET", "/v1/contact//tags"), None);
        assert_eq!(function("GET", "/"), None);
    }

    #[test]
    fn parameters_stay_encoded() {
        let router = router();
        let matched = router.find("GET", "/v1/contact/a%2Fb").unwrap();
        assert_eq!(matched.params["contact_id"], "a%2Fb");
    }
}
