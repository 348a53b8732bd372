//! The inverse mapping: from a request path to what it means on a pool (its [`Route`], the
//! discovery hop, the application id and the link it matched).

use super::{LinkDef, Paths, Route, LINKS};
use crate::config::Layout;

/// What a request path means on a pool.
#[derive(Debug, Clone)]
pub(crate) struct Classified {
    pub route: Route,
    /// Discovery only: `Some(k)` for redirect hop `k` (`/` is hop 0), `None` for the real root.
    pub hop: Option<u32>,
    /// UCWA resources under an application: its id.
    pub app_id: Option<String>,
    /// The link table entry the path matched, when it matched one exactly.
    pub link: Option<&'static LinkDef>,
    /// Under an application: the path after its id (lower case unless paths are strict).
    pub rest: String,
}

impl Classified {
    fn plain(route: Route) -> Classified {
        Classified {
            route,
            hop: None,
            app_id: None,
            link: None,
            rest: String::new(),
        }
    }
}

impl Paths {
    /// Maps a request path (without its query) to what it means on this pool. Unless paths are
    /// strict, the path is first normalized as IIS treats it: runs of `/` collapse (`root +
    /// href` with an absolute-path href gives `//ucwa/...`) and letters compare case-blind.
    pub(crate) fn classify(&self, path: &str) -> Classified {
        if !self.tolerant {
            return self.classify_exact(path);
        }
        let mut norm = String::with_capacity(path.len());
        for ch in path.chars() {
            if ch == '/' && norm.ends_with('/') {
                continue;
            }
            norm.push(ch.to_ascii_lowercase());
        }
        let lower = Paths {
            layout: self.layout,
            origin: self.origin.clone(),
            prefix: self.prefix.to_ascii_lowercase(),
            domain: self.domain.clone(),
            absolute: self.absolute,
            tolerant: true,
        };
        let mut found = lower.classify_exact(&norm);
        if found.route == Route::Other && found.app_id.is_some() {
            // Field clients POST `<application>/reportMyActivity` whatever the layout advertises.
            let id = found.app_id.clone().unwrap_or_default();
            if norm.ends_with(&format!("/{id}/reportmyactivity")) {
                found.route = Route::ReportMyActivity;
                found.link = LINKS.iter().find(|d| d.route == Route::ReportMyActivity);
            }
        }
        found
    }

    /// [`Paths::classify`] on an already normalized path; with `tolerant` set, every pattern
    /// is compared in lower case.
    fn classify_exact(&self, path: &str) -> Classified {
        let tolerant = self.tolerant;
        let fold = |p: String| if tolerant { p.to_ascii_lowercase() } else { p };
        if path == "/" {
            return Classified {
                hop: Some(0),
                ..Classified::plain(Route::Discovery)
            };
        }
        if path == fold(self.root_path()) {
            return Classified::plain(Route::Discovery);
        }
        if let Some(k) = self.parse_hop(path) {
            return Classified {
                hop: Some(k),
                ..Classified::plain(Route::Discovery)
            };
        }
        if path == fold(self.xframe_path()) {
            return Classified::plain(Route::Xframe);
        }
        if path == fold(self.user_path()) {
            return Classified::plain(Route::User);
        }
        if path == fold(self.redirect_path()) {
            return Classified::plain(Route::Redirect);
        }
        if path == fold(self.token_path()) {
            return Classified::plain(Route::Token);
        }
        let apps = fold(self.applications_path());
        if path == apps || path == format!("{apps}/") {
            return Classified::plain(Route::Applications);
        }
        let Some(rest) = path
            .strip_prefix(apps.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            return Classified::plain(Route::Other);
        };
        let (id, suffix) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let mut found = Classified {
            route: Route::Other,
            hop: None,
            app_id: Some(id.to_owned()),
            link: None,
            rest: suffix.to_owned(),
        };
        if suffix.is_empty() {
            found.route = Route::Application;
            found.link = Some(&LINKS[0]);
            return found;
        }
        let path_of = |def: &LinkDef| {
            let s = self.suffix(def);
            fold(s.split('?').next().unwrap_or(s).to_owned())
        };
        if let Some(def) = LINKS
            .iter()
            .find(|d| !self.suffix(d).is_empty() && path_of(d) == suffix)
        {
            found.route = def.route;
            found.link = Some(def);
            return found;
        }
        // Deeper paths below people/communication keep their parent's route name.
        for owner_route in [Route::People, Route::Communication] {
            if let Some(def) = LINKS.iter().find(|d| d.route == owner_route) {
                if suffix.starts_with(&format!("{}/", path_of(def))) {
                    found.route = owner_route;
                }
            }
        }
        found
    }

    fn parse_hop(&self, path: &str) -> Option<u32> {
        let (start, end) = if self.tolerant {
            ("/autodiscover/hop", "/autodiscoverservice.svc/root")
        } else {
            ("/Autodiscover/hop", "/AutodiscoverService.svc/root")
        };
        let k = match self.layout {
            Layout::Standard => path.strip_prefix(start)?.strip_suffix(end)?,
            Layout::Alt => path.strip_prefix(&self.alt("/discover/hop/"))?,
        };
        k.parse().ok().filter(|k| *k > 0)
    }
}
