//! UCWA's HAL-like resources parsed once: properties, `_links` (resolved against the URL the
//! resource came from) and `_embedded`. Links are followed, never built.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Step};

#[derive(Debug, Clone, Deserialize)]
struct RawLink {
    href: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawLinks {
    One(RawLink),
    Many(Vec<RawLink>),
}

#[derive(Debug, Clone, Deserialize)]
struct RawResource {
    #[serde(rename = "_links", default)]
    links: HashMap<String, RawLinks>,
    #[serde(rename = "_embedded", default)]
    embedded: HashMap<String, Value>,
    #[serde(flatten)]
    props: Map<String, Value>,
}

/// The error for a body that is not JSON, or (when serde read it as JSON of the wrong shape)
/// not a UCWA resource. serde's syntax errors name only a position, never the server's text;
/// of a shape error (which quotes the offending value) only the kind of problem is kept.
pub fn json_error(step: Step, base: &Url, e: &serde_json::Error) -> Error {
    if e.is_data() {
        return shape_error(step, base);
    }
    Error::Protocol {
        step,
        detail: format!(
            "response is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        http_status: None,
        path: base.path().to_string(),
    }
}

/// The error for JSON that is not a UCWA resource.
pub fn shape_error(step: Step, base: &Url) -> Error {
    Error::Protocol {
        step,
        detail:
            "response is not a UCWA resource (an object with well-formed `_links` and `_embedded`)"
                .into(),
        http_status: None,
        path: base.path().to_string(),
    }
}

/// A parsed resource and the URL its relative hrefs resolve against.
#[derive(Debug, Clone)]
pub struct Resource {
    base: Url,
    links: HashMap<String, RawLinks>,
    embedded: HashMap<String, Value>,
    props: Map<String, Value>,
}

impl Resource {
    /// Parses a JSON body; anything not UCWA-shaped is a protocol error naming the step.
    pub fn parse(step: Step, base: &Url, body: &[u8]) -> Result<Resource, Error> {
        let value: Value = serde_json::from_slice(body).map_err(|e| json_error(step, base, &e))?;
        Self::from_value(step, base, value)
    }

    /// Builds a resource from JSON that is already parsed.
    pub fn from_value(step: Step, base: &Url, value: Value) -> Result<Resource, Error> {
        let raw: RawResource =
            serde_json::from_value(value).map_err(|_| shape_error(step, base))?;
        Ok(Resource {
            base: base.clone(),
            links: raw.links,
            embedded: raw.embedded,
            props: raw.props,
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The href of a single link, resolved against this resource's URL.
    pub fn link(&self, rel: &str) -> Option<Url> {
        let raw = self
            .links
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(rel))
            .map(|(_, v)| v)?;
        let href = match raw {
            RawLinks::One(l) => &l.href,
            RawLinks::Many(v) => &v.first()?.href,
        };
        self.base.join(href).ok()
    }

    /// A link that must be there for the protocol to go on.
    pub fn require_link(&self, step: Step, rel: &str) -> Result<Url, Error> {
        self.link(rel).ok_or_else(|| Error::Protocol {
            step,
            detail: format!("the server's resource has no `{rel}` link"),
            http_status: None,
            path: self.base.path().to_string(),
        })
    }

    /// An embedded resource; its hrefs resolve against the same base.
    pub fn embedded(&self, rel: &str) -> Option<Resource> {
        let value = self
            .embedded
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(rel))
            .map(|(_, v)| v.clone())?;
        Self::from_value(Step::Application, &self.base, value).ok()
    }

    /// The embedded resources under `rel` when it holds a list (a single one is a list of
    /// one); entries that are not resources are skipped.
    pub fn embedded_list(&self, rel: &str) -> Vec<Resource> {
        let Some((_, value)) = self
            .embedded
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(rel))
        else {
            return Vec::new();
        };
        let items = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        items
            .into_iter()
            .filter_map(|v| Self::from_value(Step::Application, &self.base, v).ok())
            .collect()
    }

    /// A string property, matched case-insensitively (both casings appear in Microsoft's docs).
    pub fn str_prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_like() -> impl Strategy<Value = String> {
        "[{}\\[\\]\":,_a-z0-9 ]{0,120}".prop_map(|s| s)
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_resource_or_a_protocol_error(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let base = Url::parse("http://127.0.0.1/ucwa/").unwrap();
            if let Err(e) = Resource::parse(Step::Events, &base, &body) {
                prop_assert_eq!(e.status(), crate::error::Status::Protocol);
            }
        }

        #[test]
        fn json_shaped_text_never_panics_and_links_resolve_or_vanish(body in json_like(), rel in "[a-z]{1,8}") {
            let base = Url::parse("http://127.0.0.1/ucwa/").unwrap();
            if let Ok(r) = Resource::parse(Step::Events, &base, body.as_bytes()) {
                let _ = r.link(&rel);
                let _ = r.embedded(&rel);
                let _ = r.str_prop(&rel);
            }
        }
    }

    #[test]
    fn links_resolve_against_their_base_and_keep_server_query() {
        let base = Url::parse("https://lyncweb.contoso.com/ucwa/oauth/v1/applications").unwrap();
        let body = br#"{"rel":"application","Culture":"en-US","_links":{"self":{"href":"/ucwa/oauth/v1/applications/105"},
            "events":{"href":"/ucwa/oauth/v1/applications/105/events?ack=1"}},
            "_embedded":{"me":{"rel":"me","_links":{"makeMeAvailable":{"href":"/ucwa/oauth/v1/applications/105/me/makeMeAvailable"}}}}}"#;
        let r = Resource::parse(Step::Application, &base, body).unwrap();
        assert_eq!(
            r.link("events").unwrap().as_str(),
            "https://lyncweb.contoso.com/ucwa/oauth/v1/applications/105/events?ack=1"
        );
        assert_eq!(r.str_prop("culture"), Some("en-US"));
        let me = r.embedded("me").unwrap();
        assert!(me.link("makemeavailable").is_some());
        assert!(me.link("presence").is_none());
        assert!(r.require_link(Step::Application, "batch").is_err());
    }

    #[test]
    fn html_or_non_object_bodies_are_protocol_errors() {
        let base = Url::parse("http://127.0.0.1/").unwrap();
        for body in [&b"<html>nope</html>"[..], b"[1,2]", b"{\"_links\":5}"] {
            let e = Resource::parse(Step::User, &base, body).unwrap_err();
            assert_eq!(e.status(), crate::error::Status::Protocol);
        }
    }
}
