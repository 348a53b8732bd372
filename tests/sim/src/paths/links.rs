//! The one table of UCWA links per application: each link's rel, owner, route, when it is
//! present, and its path suffix in each layout.

use super::Route;

/// The embedded resource whose `_links` carry a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    App,
    Me,
    People,
    OnlineMeetings,
    Communication,
}

/// When a link is present: the `me` links change with makeMeAvailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Always,
    BeforeAvailable,
    AfterAvailable,
}

/// One link of an application's resource tree, with its path suffix (after the application's
/// own path) in each layout.
#[derive(Debug)]
pub(crate) struct LinkDef {
    pub rel: &'static str,
    pub owner: Owner,
    pub route: Route,
    pub when: When,
    pub(super) std: &'static str,
    pub(super) alt: &'static str,
}

const fn link(
    rel: &'static str,
    owner: Owner,
    route: Route,
    when: When,
    std: &'static str,
    alt: &'static str,
) -> LinkDef {
    LinkDef {
        rel,
        owner,
        route,
        when,
        std,
        alt,
    }
}

use Owner as O;
use Route as R;
use When as W;

/// Every link an application exposes. The alt column moves makeMeAvailable under
/// `communication` and reportMyActivity to the application level, as the docs show both.
pub(crate) const LINKS: &[LinkDef] = &[
    link("self", O::App, R::Application, W::Always, "", ""),
    link(
        "policies",
        O::App,
        R::Policies,
        W::Always,
        "/policies",
        "/rules",
    ),
    link("batch", O::App, R::Batch, W::Always, "/batch", "/multi"),
    link(
        "events",
        O::App,
        R::Events,
        W::Always,
        "/events",
        "/channel",
    ),
    link("self", O::Me, R::Me, W::Always, "/me", "/self"),
    link(
        "makeMeAvailable",
        O::Me,
        R::MakeMeAvailable,
        W::BeforeAvailable,
        "/me/makeMeAvailable",
        "/communication/makeMeAvailable",
    ),
    link(
        "note",
        O::Me,
        R::Note,
        W::AfterAvailable,
        "/me/note",
        "/self/personal-note",
    ),
    link(
        "presence",
        O::Me,
        R::Presence,
        W::AfterAvailable,
        "/me/presence",
        "/self/status",
    ),
    link(
        "location",
        O::Me,
        R::Location,
        W::AfterAvailable,
        "/me/location",
        "/self/whereabouts",
    ),
    link(
        "reportMyActivity",
        O::Me,
        R::ReportMyActivity,
        W::AfterAvailable,
        "/me/reportMyActivity",
        "/reportMyActivity",
    ),
    link(
        "callForwardingSettings",
        O::Me,
        R::Other,
        W::Always,
        "/me/callForwardingSettings",
        "/self/forwarding",
    ),
    link(
        "phones",
        O::Me,
        R::Other,
        W::Always,
        "/me/phones",
        "/self/phones",
    ),
    link(
        "photo",
        O::Me,
        R::Other,
        W::Always,
        "/photos/me",
        "/pictures/self",
    ),
    link(
        "self",
        O::People,
        R::People,
        W::Always,
        "/people",
        "/contacts-root",
    ),
    link(
        "presenceSubscriptions",
        O::People,
        R::People,
        W::Always,
        "/people/presenceSubscriptions",
        "/contacts-root/subscriptions",
    ),
    link(
        "myContacts",
        O::People,
        R::People,
        W::Always,
        "/people/contacts",
        "/contacts-root/mine",
    ),
    link(
        "myGroups",
        O::People,
        R::People,
        W::Always,
        "/people/groups",
        "/contacts-root/groups",
    ),
    link(
        "search",
        O::People,
        R::People,
        W::Always,
        "/people/search",
        "/contacts-root/find",
    ),
    link(
        "self",
        O::OnlineMeetings,
        R::Other,
        W::Always,
        "/onlineMeetings",
        "/meetings",
    ),
    link(
        "myOnlineMeetings",
        O::OnlineMeetings,
        R::Other,
        W::Always,
        "/onlineMeetings/myOnlineMeetings",
        "/meetings/mine",
    ),
    link(
        "self",
        O::Communication,
        R::Communication,
        W::Always,
        "/communication",
        "/communication",
    ),
    link(
        "conversations",
        O::Communication,
        R::Communication,
        W::Always,
        "/communication/conversations",
        "/communication/talks",
    ),
    link(
        "startMessaging",
        O::Communication,
        R::Communication,
        W::Always,
        "/communication/messagingInvitations",
        "/communication/im-invites",
    ),
    link(
        "startOnlineMeeting",
        O::Communication,
        R::Communication,
        W::Always,
        "/communication/onlineMeetingInvitations?onlineMeetingUri=adhoc",
        "/communication/meeting-invites?adhoc=true",
    ),
    link(
        "joinOnlineMeeting",
        O::Communication,
        R::Communication,
        W::Always,
        "/communication/onlineMeetingInvitations",
        "/communication/meeting-invites",
    ),
];
