//! The walk's use of the habit probes: the NTLM challenge's domain (with the grants), the
//! user-name forms (with the doctor's own token), and the P-GET hold (beside the library's
//! event channel), each printed and turned into what the profile says.

use crate::habits::{self, Form, Hold, HoldProbe};
use crate::observe::Trace;
use crate::probe;

use super::Doctor;

impl Doctor<'_> {
    /// The NetBIOS domain the NTLM challenge names (one token request without credentials).
    pub(super) fn ntlm_target(&mut self, token_href: &url::Url, schemes: &[String]) {
        let scheme = if schemes.iter().any(|s| s == "ntlm") {
            "NTLM"
        } else {
            "Negotiate"
        };
        match self
            .rt
            .block_on(habits::ntlm_domain(&self.http.trusted, token_href, scheme))
        {
            Ok(d) => {
                self.r.info(
                    "grant",
                    &format!("the NTLM challenge names the domain {d} (DOMAIN\\user names)"),
                );
                self.obs.domain = Some(d.clone());
                self.ntlm_domain = Some(d);
            }
            Err(e) => self
                .r
                .info("grant", &format!("the NTLM domain was not read: {e}")),
        }
    }

    /// Which forms of the user's name the token endpoint accepts: one password grant per form
    /// other than the one given (which the doctor's own token already proved).
    pub(super) fn name_forms(&mut self) {
        let Some((token_url, ..)) = self.raw.clone() else {
            self.r.info(
                "user names",
                "other forms not tried: they need the password grant",
            );
            return;
        };
        let server_domain = self.ntlm_domain.clone();
        let domain = habits::netbios_of(&self.a.user)
            .map(str::to_string)
            .or(self.a.domain.clone())
            .or(server_domain.clone());
        let mut seen = Vec::new();
        for (form, name) in habits::forms(&self.a.user, domain.as_deref()) {
            let accepted = if name.eq_ignore_ascii_case(self.a.user.trim()) {
                true
            } else {
                let g = self.rt.block_on(probe::password_grant(
                    &self.http.trusted,
                    &token_url,
                    &name,
                    self.pw,
                ));
                match g {
                    Ok(g) => {
                        if let Some(t) = &g.access_token {
                            self.r.add_secret(t);
                        }
                        g.status == 200 && g.access_token.is_some()
                    }
                    Err(e) => {
                        self.r
                            .info("user names", &format!("{name} not checked: {e}"));
                        continue;
                    }
                }
            };
            seen.push((form, name, accepted));
        }
        let listed: Vec<String> = seen
            .iter()
            .map(|(_, n, ok)| format!("{n} {}", if *ok { "accepted" } else { "refused" }))
            .collect();
        let listed = listed.join(", ");
        self.r
            .info("user names", &format!("at the token endpoint: {listed}"));
        let upn_ok = seen.iter().any(|(f, _, ok)| *f != Form::Down && *ok);
        let Some((_, name, ok)) = seen.iter().find(|(f, ..)| *f == Form::Down) else {
            return;
        };
        let dom = habits::netbios_of(name).unwrap_or_default();
        let the_servers = server_domain.is_some_and(|d| d.eq_ignore_ascii_case(dom))
            || habits::netbios_of(&self.a.user).is_some();
        if *ok {
            self.obs.upn_only = Some(false);
            self.obs.domain = Some(dom.to_string());
        } else if upn_ok && the_servers {
            self.obs.upn_only = Some(true);
        } else {
            self.r.info(
                "user names",
                &format!("{name} refused: either only user@domain is accepted or {dom} is not the pool's domain (not told apart: --upn-only and --domain not observed)"),
            );
        }
    }

    /// The hold probe for the user's pool, when the doctor has (or gets) a token there.
    pub(super) fn hold_job(&mut self) -> Option<HoldProbe> {
        let (token_url, token, ..) = self.raw.clone()?;
        let trace = Trace::read(&self.transcript);
        let (apps, ..) = trace.application_post()?;
        let token = if apps.origin() == token_url.origin() {
            token
        } else {
            // After a pool change: the user's pool takes only its own token.
            let url = trace
                .grants()
                .into_iter()
                .map(|(u, ..)| u)
                .find(|u| u.origin() == apps.origin())?;
            let g = self.rt.block_on(probe::password_grant(
                &self.http.trusted,
                &url,
                &self.a.user,
                self.pw,
            ));
            let t = g.ok()?.access_token?;
            self.r.add_secret(&t);
            t
        };
        Some(HoldProbe {
            ca_pem: self.ca_pem.clone(),
            timeout: self.a.timeout,
            apps,
            token,
            max_wait: self.a.max_wait,
        })
    }

    /// What the hold probe saw; the empty answer's shape when one came.
    pub(super) fn hold_seen(&mut self, seen: Option<(Hold, Option<u16>)>) -> Option<&'static str> {
        let Some((hold, deleted)) = seen else {
            self.r.info(
                "event channel",
                "the hold of a P-GET without timeout not checked: it needs the password grant (an application of the doctor's own)",
            );
            return None;
        };
        if let Some(s) = deleted.filter(|s| !(200..300).contains(s) && *s != 404) {
            self.r.info(
                "event channel",
                &format!(
                    "the probe application's DELETE got {s}: it expires by itself within minutes"
                ),
            );
        }
        match hold {
            Hold::Answered(secs, shape) => {
                self.r.info(
                    "event channel",
                    &format!("a P-GET without timeout was released after {secs} s without events ({shape})"),
                );
                self.obs.event_timeout = Some(secs);
                Some(shape)
            }
            Hold::Longer(n) => {
                self.r.info(
                    "event channel",
                    &format!("a P-GET without timeout was held longer than {n} s (not observed: raise --max-wait-s past the server's hold, 180 s on Skype for Business Server)"),
                );
                None
            }
            Hold::Failed(e) => {
                self.r.info(
                    "event channel",
                    &format!("the hold of a P-GET without timeout not checked: {e}"),
                );
                None
            }
        }
    }
}
