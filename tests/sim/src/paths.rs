//! URL layouts: the one table of UCWA links per application (`links`), how each layout spells
//! them, and the inverse mapping from a request path to a logical [`Route`] (`classify`). Keeping both directions in one
//! place is what guarantees that every href the simulator hands out is also a path it serves.

use crate::config::Layout;

mod classify;
mod links;

pub(crate) use classify::Classified;
pub(crate) use links::{LinkDef, Owner, When, LINKS};

/// Logical route names, identical in both layouts; used by the request log and fault matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Discovery,
    Xframe,
    User,
    Redirect,
    Token,
    Applications,
    Application,
    Me,
    MakeMeAvailable,
    Presence,
    Note,
    Location,
    ReportMyActivity,
    Events,
    Batch,
    Policies,
    People,
    Communication,
    Other,
}

impl Route {
    /// The name used in `LogEntry::route` and `Fault::route`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Route::Discovery => "discovery",
            Route::Xframe => "xframe",
            Route::User => "user",
            Route::Redirect => "redirect",
            Route::Token => "token",
            Route::Applications => "applications",
            Route::Application => "application",
            Route::Me => "me",
            Route::MakeMeAvailable => "makeMeAvailable",
            Route::Presence => "presence",
            Route::Note => "note",
            Route::Location => "location",
            Route::ReportMyActivity => "reportMyActivity",
            Route::Events => "events",
            Route::Batch => "batch",
            Route::Policies => "policies",
            Route::People => "people",
            Route::Communication => "communication",
            Route::Other => "other",
        }
    }
}

/// The paths of one pool in one layout.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    layout: Layout,
    origin: String,
    /// Alt layout: `/lync/<random>`, different per pool so no path can be guessed from another.
    prefix: String,
    domain: String,
    /// Hrefs inside resources are absolute (`--absolute-hrefs`).
    absolute: bool,
    /// Paths are matched as IIS does: doubled slashes collapse, case is ignored, and
    /// `<application>/reportMyActivity` is served in every layout (off with `--strict-paths`).
    tolerant: bool,
}

const STD_ROOT: &str = "/Autodiscover/AutodiscoverService.svc/root";

impl Paths {
    pub(crate) fn new(layout: Layout, origin: String, domain: String) -> Paths {
        let prefix = match layout {
            Layout::Standard => String::new(),
            Layout::Alt => format!("/lync/{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
        };
        Paths {
            layout,
            origin,
            prefix,
            domain,
            absolute: false,
            tolerant: true,
        }
    }

    /// Sets how hrefs are written and how strictly paths are matched.
    pub(crate) fn with_options(mut self, absolute_hrefs: bool, strict_paths: bool) -> Paths {
        self.absolute = absolute_hrefs;
        self.tolerant = !strict_paths;
        self
    }

    /// `scheme://host:port`, no trailing slash.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn abs(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    /// A UCWA resource href: host-relative as in every capture, absolute with
    /// `--absolute-hrefs`.
    pub(crate) fn href(&self, path: &str) -> String {
        if self.absolute {
            self.abs(path)
        } else {
            path.to_owned()
        }
    }

    fn alt(&self, rest: &str) -> String {
        format!("{}{}", self.prefix, rest)
    }

    pub(crate) fn root_path(&self) -> String {
        match self.layout {
            Layout::Standard => STD_ROOT.to_owned(),
            Layout::Alt => self.alt("/discover/root"),
        }
    }

    fn hop_path(&self, k: u32) -> String {
        match self.layout {
            Layout::Standard => format!("/Autodiscover/hop{k}/AutodiscoverService.svc/root"),
            Layout::Alt => self.alt(&format!("/discover/hop/{k}")),
        }
    }

    fn domain_query(&self) -> String {
        match self.layout {
            Layout::Standard => format!("?originalDomain={}", self.domain),
            Layout::Alt => format!("?domain={}", self.domain),
        }
    }

    /// The real root's self link.
    pub(crate) fn root_url(&self) -> String {
        format!("{}{}", self.abs(&self.root_path()), self.domain_query())
    }

    /// Where redirect hop `k` (1-based) lives; hop `total` is the real root.
    pub(crate) fn hop_url(&self, k: u32, total: u32) -> String {
        if k >= total {
            self.abs(&self.root_path())
        } else {
            self.abs(&self.hop_path(k))
        }
    }

    fn user_path(&self) -> String {
        match self.layout {
            Layout::Standard => format!("{STD_ROOT}/oauth/user"),
            Layout::Alt => self.alt("/discover/identity"),
        }
    }

    pub(crate) fn user_url(&self) -> String {
        format!("{}{}", self.abs(&self.user_path()), self.domain_query())
    }

    fn redirect_path(&self) -> String {
        match self.layout {
            Layout::Standard => format!("{STD_ROOT}/oauth/redirect"),
            Layout::Alt => self.alt("/discover/moved"),
        }
    }

    pub(crate) fn redirect_url(&self) -> String {
        format!("{}{}", self.abs(&self.redirect_path()), self.domain_query())
    }

    fn xframe_path(&self) -> String {
        match self.layout {
            Layout::Standard => "/Autodiscover/XFrame/XFrame.html".to_owned(),
            Layout::Alt => self.alt("/discover/frame.html"),
        }
    }

    pub(crate) fn xframe_url(&self) -> String {
        self.abs(&self.xframe_path())
    }

    fn token_path(&self) -> String {
        match self.layout {
            Layout::Standard => "/WebTicket/oauthtoken".to_owned(),
            Layout::Alt => self.alt("/auth/issue-ticket"),
        }
    }

    pub(crate) fn token_url(&self) -> String {
        self.abs(&self.token_path())
    }

    fn applications_path(&self) -> String {
        match self.layout {
            Layout::Standard => "/ucwa/oauth/v1/applications".to_owned(),
            Layout::Alt => self.alt("/apps"),
        }
    }

    pub(crate) fn applications_url(&self) -> String {
        self.abs(&self.applications_path())
    }

    fn app_path(&self, id: &str) -> String {
        format!("{}/{}", self.applications_path(), id)
    }

    fn suffix<'a>(&self, def: &'a LinkDef) -> &'a str {
        match self.layout {
            Layout::Standard => def.std,
            Layout::Alt => def.alt,
        }
    }

    /// The href of `def` for application `id`.
    pub(crate) fn link(&self, id: &str, def: &LinkDef) -> String {
        self.href(&format!("{}{}", self.app_path(id), self.suffix(def)))
    }

    /// The href of the first link that leads to `route` (e.g. the presence resource).
    pub(crate) fn route_href(&self, id: &str, route: Route) -> String {
        let def = LINKS.iter().find(|d| d.route == route).unwrap_or(&LINKS[0]);
        self.link(id, def)
    }

    /// The path suffix (after the application, without query) of link `rel` owned by `owner`.
    pub(crate) fn suffix_of(&self, owner: Owner, rel: &str) -> String {
        LINKS
            .iter()
            .find(|d| d.owner == owner && d.rel == rel)
            .map(|d| {
                let s = self.suffix(d);
                s.split('?').next().unwrap_or(s).to_owned()
            })
            .unwrap_or_default()
    }

    /// An href below application `id`: its path plus `suffix`.
    pub(crate) fn app_href(&self, id: &str, suffix: &str) -> String {
        self.href(&format!("{}{}", self.app_path(id), suffix))
    }

    /// Whether paths are matched case-blind (then [`Classified::rest`] is lower case).
    pub(crate) fn tolerant(&self) -> bool {
        self.tolerant
    }

    /// The event channel href for `ack`.
    pub(crate) fn events_href(&self, id: &str, ack: u64) -> String {
        format!("{}?ack={ack}", self.route_href(id, Route::Events))
    }

    /// The cookie path of the photo cookie (`cwt_ucwa`).
    pub(crate) fn photos_path(&self, id: &str) -> String {
        match self.layout {
            Layout::Standard => format!("{}/photos", self.app_path(id)),
            Layout::Alt => format!("{}/pictures", self.app_path(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_link_href_classifies_back(layout: Layout) {
        let paths = Paths::new(layout, "http://127.0.0.1:1".into(), "contoso.com".into());
        for def in LINKS {
            let href = paths.link("abc", def);
            let path = href
                .strip_prefix("http://127.0.0.1:1")
                .unwrap_or(&href)
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let c = paths.classify(&path);
            assert_eq!(c.route, def.route, "{layout} {}: {path}", def.rel);
            assert_eq!(c.app_id.as_deref(), Some("abc"));
        }
    }

    #[test]
    fn standard_links_classify_to_their_routes() {
        every_link_href_classifies_back(Layout::Standard);
    }

    #[test]
    fn alt_links_classify_to_their_routes() {
        every_link_href_classifies_back(Layout::Alt);
    }

    #[test]
    fn discovery_hops_and_fixed_resources_classify() {
        for layout in [Layout::Standard, Layout::Alt] {
            let p = Paths::new(layout, "http://h".into(), "contoso.com".into());
            assert_eq!(p.classify("/").hop, Some(0));
            let hop = p.hop_url(2, 3);
            assert_eq!(p.classify(&hop["http://h".len()..]).hop, Some(2));
            let root = p.hop_url(3, 3);
            let c = p.classify(&root["http://h".len()..]);
            assert_eq!((c.route, c.hop), (Route::Discovery, None));
            for (url, route) in [
                (p.token_url(), Route::Token),
                (p.applications_url(), Route::Applications),
                (p.xframe_url(), Route::Xframe),
            ] {
                assert_eq!(p.classify(&url["http://h".len()..]).route, route);
            }
            let user = p.user_url();
            let user_path = user["http://h".len()..].split('?').next().unwrap();
            assert_eq!(p.classify(user_path).route, Route::User);
        }
    }

    #[test]
    fn standard_layout_uses_documented_paths() {
        let p = Paths::new(Layout::Standard, "http://h".into(), "contoso.com".into());
        assert_eq!(
            p.route_href("105", Route::MakeMeAvailable),
            "/ucwa/oauth/v1/applications/105/me/makeMeAvailable"
        );
        assert_eq!(
            p.events_href("105", 1),
            "/ucwa/oauth/v1/applications/105/events?ack=1"
        );
        assert_eq!(
            p.user_url(),
            "http://h/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"
        );
        assert_eq!(p.token_url(), "http://h/WebTicket/oauthtoken");
    }
}
