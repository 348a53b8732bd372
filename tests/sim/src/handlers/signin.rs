//! Sign-in resources: the discovery root (and its redirect hops), xframe, the pool-2 redirect
//! resource and the user resource.

use serde_json::json;

use super::{require, Outcome};
use crate::http::{href, Req, Resp};
use crate::state::{Pool, PoolKind, Shared};

pub(super) fn discovery(shared: &Shared, pool: &Pool, req: &Req, hop: Option<u32>) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    let total = shared.config.discovery_redirects;
    match hop {
        Some(k) if k < total && shared.config.bare_redirects => Resp::json_plain(
            200,
            &json!({ "_links": { "redirect": href(pool.paths.hop_url(k + 1, total)) } }),
        ),
        // A captured redirect root also carries `self` and `xframe`: a client must decide by
        // the presence of `user`, not by "only redirect".
        Some(k) if k < total => Resp::json_plain(
            200,
            &json!({ "_links": {
                "self": href(if k == 0 {
                    format!("{}/", pool.paths.origin())
                } else {
                    pool.paths.hop_url(k, total)
                }),
                "xframe": href(pool.paths.xframe_url()),
                "redirect": href(pool.paths.hop_url(k + 1, total)),
            }}),
        ),
        _ => Resp::json_plain(
            200,
            &json!({ "_links": {
                "self": href(pool.paths.root_url()),
                "user": href(pool.paths.user_url()),
                "xframe": href(pool.paths.xframe_url()),
            }}),
        ),
    }
}

pub(super) fn xframe(req: &Req) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    Resp::html(
        200,
        "<!DOCTYPE html><html><head><title>XFrame</title></head><body>\
         <script>/* ucwa-sim cross-domain frame */</script></body></html>",
    )
}

pub(super) fn redirect(pool: &Pool, req: &Req) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    Resp::json_plain(
        200,
        &json!({ "rel": "redirect", "_links": {
            "self": href(pool.paths.redirect_url()),
            "user": href(pool.paths.user_url()),
            "xframe": href(pool.paths.xframe_url()),
        }}),
    )
}

pub(super) fn user(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    if let Err(r) = require(req, &["GET"]) {
        return Outcome::anon(r);
    }
    let mut st = shared.lock();
    let key = match shared.authenticate(&mut st, pool, req) {
        Ok(k) => k,
        Err(r) => return Outcome::anon(r),
    };
    let name = st
        .users
        .get(&key)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    drop(st);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), href(pool.paths.user_url()));
    if pool.kind == PoolKind::Pool1 && shared.is_pool2_user(&key) {
        links.insert("redirect".into(), href(shared.pool2.paths.redirect_url()));
    } else {
        let apps = match &shared.foreign {
            Some(f) if pool.kind == PoolKind::Pool1 && shared.is_foreign_apps_user(&key) => {
                f.paths.applications_url()
            }
            _ if pool.kind == PoolKind::Pool1 && shared.is_pool2_apps_user(&key) => {
                shared.pool2.paths.applications_url()
            }
            _ => pool.paths.applications_url(),
        };
        links.insert("applications".into(), href(apps));
    }
    links.insert("xframe".into(), href(pool.paths.xframe_url()));
    Outcome::of(
        Resp::json_plain(200, &json!({ "rel": "user", "_links": links })),
        &name,
    )
}
