//! The `ANY` routes: a known path with a method it does not support gets 405 and an
//! `Allow` header (before any authentication); anything else routed here gets 404.

use contacts_shared::{http, routes, ApiError};
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Error, Request, RequestExt};

fn refusal(request: &Request) -> ApiError {
    let resource = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.as_deref(),
        _ => None,
    };
    match resource.and_then(routes::methods) {
        Some(methods) => ApiError::MethodNotAllowed(methods.to_vec()),
        None => ApiError::RouteNotFound,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    lambda_http::run(service_fn(|request: Request| async move {
        Ok::<_, Error>(http::error_response(&refusal(&request)))
    }))
    .await
}
