//! The API's resources and the methods each supports. `template.yaml` declares the same
//! routes (a test keeps the two in step); the responder uses this table for `Allow`.

pub struct Resource {
    /// Path template as API Gateway names the resource.
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

pub const RESOURCES: [Resource; 4] = [
    Resource {
        path: "/v1/contact",
        methods: &["POST"],
    },
    Resource {
        path: "/v1/contact/by_custom_field",
        methods: &["GET"],
    },
    Resource {
        path: "/v1/contact/{contact_id}",
        methods: &["GET", "PUT"],
    },
    Resource {
        path: "/v1/contact/{contact_id}/tags",
        methods: &["POST", "DELETE"],
    },
];

/// The methods a resource supports, if it is one of ours.
pub fn methods(resource: &str) -> Option<&'static [&'static str]> {
    RESOURCES
        .iter()
        .find(|r| r.path == resource)
        .map(|r| r.methods)
}
