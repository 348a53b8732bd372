//! JSON representations of UCWA resources (application, me, people, communication, presence,
//! note, location, policies, events), built from state and the pool's layout so that every href
//! follows the layout in force.

use serde_json::{json, Map, Value};

use crate::http::href;
use crate::paths::{LinkDef, Owner, Route, When, LINKS};
use crate::state::{App, Pool, Presence, User};

/// The `_links` of one embedded resource, honouring the before/after-makeMeAvailable rule.
fn links(pool: &Pool, app: &App, owner: Owner) -> Map<String, Value> {
    let mut map = Map::new();
    for def in LINKS.iter().filter(|d| d.owner == owner) {
        let shown = match def.when {
            When::Always => true,
            When::BeforeAvailable => !app.made_available,
            When::AfterAvailable => app.made_available,
        };
        if !shown {
            continue;
        }
        let h = if def.route == Route::Events {
            // Point at the first unacknowledged set so a client re-reading the application
            // resumes where its channel is instead of meeting a resync.
            pool.paths.events_href(&app.id, app.channel.acked_below)
        } else {
            pool.paths.link(&app.id, def)
        };
        let mut link = href(h);
        if def.rel == "startMessaging" && pool.link_revisions {
            // SfB 2015+ marks this link with a revision, as a JSON string (captured).
            link["revision"] = Value::from("2");
        }
        map.insert(def.rel.to_owned(), link);
    }
    map
}

/// "alice@contoso.com" → "Alice".
fn display_name(name: &str) -> String {
    let local = name.split('@').next().unwrap_or(name);
    let mut chars = local.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn me(pool: &Pool, app: &App, user: &User) -> Value {
    json!({
        "rel": "me",
        "name": display_name(&user.name),
        "uri": format!("sip:{}", user.name),
        "emailAddresses": [user.name],
        "_links": links(pool, app, Owner::Me),
    })
}

pub(crate) fn people(pool: &Pool, app: &App) -> Value {
    json!({ "rel": "people", "_links": links(pool, app, Owner::People) })
}

pub(crate) fn online_meetings(pool: &Pool, app: &App) -> Value {
    json!({ "rel": "onlineMeetings", "_links": links(pool, app, Owner::OnlineMeetings) })
}

pub(crate) fn communication(pool: &Pool, app: &App) -> Value {
    let formats = if app.message_formats.is_empty() {
        vec!["Plain".to_owned()]
    } else {
        app.message_formats.clone()
    };
    let mut v = json!({
        "rel": "communication",
        "supportedModalities": app.modalities,
        "supportedMessageFormats": formats,
        "etag": (3_140_562_359u64 + app.comm_version).to_string(),
        "_links": links(pool, app, Owner::Communication),
    });
    v[app.comm_guid.as_str()] = Value::from("please pass this in a PUT request");
    v
}

pub(crate) fn application(pool: &Pool, app: &App, user: &User) -> Value {
    let mut v = json!({
        "rel": "application",
        "culture": app.culture,
        "userAgent": app.user_agent,
        "type": "Browser",
        "endpointId": app.endpoint_id,
        "id": app.id,
        "_links": links(pool, app, Owner::App),
        "_embedded": {
            "me": me(pool, app, user),
            "people": people(pool, app),
            "onlineMeetings": online_meetings(pool, app),
            "communication": communication(pool, app),
        },
    });
    if let Some(instance) = &app.instance_id {
        v["instanceId"] = Value::from(instance.as_str());
    }
    v
}

fn self_link(pool: &Pool, app_id: &str, route: Route) -> Value {
    json!({ "self": href(pool.paths.route_href(app_id, route)) })
}

pub(crate) fn presence(pool: &Pool, app_id: &str, p: &Presence) -> Value {
    let mut v = json!({
        "rel": "presence",
        "availability": p.availability,
        "_links": self_link(pool, app_id, Route::Presence),
    });
    if let Some(activity) = &p.activity {
        v["activity"] = Value::from(activity.as_str());
    }
    v
}

pub(crate) fn note(pool: &Pool, app_id: &str, message: Option<&str>) -> Value {
    json!({
        "rel": "note",
        "message": message.unwrap_or(""),
        "type": "Personal",
        "_links": self_link(pool, app_id, Route::Note),
    })
}

pub(crate) fn location(pool: &Pool, app_id: &str, location: Option<&str>) -> Value {
    json!({
        "rel": "location",
        "location": location.unwrap_or(""),
        "_links": self_link(pool, app_id, Route::Location),
    })
}

pub(crate) fn policies(pool: &Pool, app: &App, user: &User) -> Value {
    json!({
        "rel": "policies",
        "audioOnlyOnWifi": false,
        "callLogArchiving": "Disabled",
        "conversationHistory": "Disabled",
        "exchangeUnifiedMessaging": "Disabled",
        "voicemailUri": format!("sip:{};opaque=app:voicemail", user.name),
        "_links": { "self": href(pool.paths.route_href(&app.id, Route::Policies)) },
    })
}

/// A minimal resource for a link this simulator serves without behaviour (phones, photo,
/// myContacts, conversations…), so following any advertised link succeeds.
pub(crate) fn minimal(pool: &Pool, app: &App, def: &LinkDef) -> Value {
    let rel = if def.rel == "self" {
        match def.owner {
            Owner::App => "application",
            Owner::Me => "me",
            Owner::People => "people",
            Owner::OnlineMeetings => "onlineMeetings",
            Owner::Communication => "communication",
        }
    } else {
        def.rel
    };
    let mut v = json!({ "rel": rel, "_links": { "self": href(pool.paths.link(&app.id, def)) } });
    if def.rel == "myContacts" {
        v["_embedded"] = json!({ "contact": [] });
    }
    v
}

/// One event entry: `{link:{rel,href}, type, _embedded?}`.
pub(crate) fn event(
    pool: &Pool,
    app_id: &str,
    route: Route,
    rel: &str,
    kind: &str,
    embedded: Option<Value>,
) -> Value {
    let mut ev = json!({
        "link": { "rel": rel, "href": pool.paths.route_href(app_id, route) },
        "type": kind,
    });
    if let Some(body) = embedded {
        let mut e = Map::new();
        e.insert(rel.to_owned(), body);
        ev["_embedded"] = Value::Object(e);
    }
    ev
}

/// The href of contact `key` (a lower-case e-mail address) plus `tail` (`""`, `/presence`…),
/// keyed by e-mail below `people` as real servers key contacts.
pub(crate) fn contact_href(pool: &Pool, app_id: &str, key: &str, tail: &str) -> String {
    let people = pool.paths.suffix_of(Owner::People, "self");
    pool.paths
        .app_href(app_id, &format!("{people}/{key}{tail}"))
}

/// A contact: a configured user seen from another user's application.
pub(crate) fn contact(pool: &Pool, app_id: &str, key: &str, user: &User) -> Value {
    let link = |tail: &str| href(contact_href(pool, app_id, key, tail));
    json!({
        "uri": format!("sip:{key}"),
        "emailAddresses": [user.name],
        "type": "User",
        "name": display_name(&user.name),
        "_links": {
            "self": link(""),
            "contactPresence": link("/presence"),
            "contactNote": link("/note"),
            "contactLocation": link("/location"),
        },
        "rel": "contact",
    })
}

pub(crate) fn contact_presence(pool: &Pool, app_id: &str, key: &str, p: &Presence) -> Value {
    let mut v = json!({
        "availability": p.availability,
        "_links": { "self": href(contact_href(pool, app_id, key, "/presence")) },
        "rel": "contactPresence",
    });
    if let Some(activity) = &p.activity {
        v["activity"] = Value::from(activity.as_str());
    }
    v
}

pub(crate) fn contact_note(pool: &Pool, app_id: &str, key: &str, note: Option<&str>) -> Value {
    json!({
        "message": note.unwrap_or(""),
        "type": "Personal",
        "_links": { "self": href(contact_href(pool, app_id, key, "/note")) },
        "rel": "contactNote",
    })
}

pub(crate) fn contact_location(pool: &Pool, app_id: &str, key: &str, loc: Option<&str>) -> Value {
    json!({
        "location": loc.unwrap_or(""),
        "_links": { "self": href(contact_href(pool, app_id, key, "/location")) },
        "rel": "contactLocation",
    })
}
