//! The checks of [`SimConfig::validate`], one per group of fields, each with the message
//! that names the field and the value it refused.

use super::SimConfig;

/// Durations are built from these; a NaN, negative or absurd value would panic there.
pub(super) fn times(c: &SimConfig) -> Result<(), String> {
    let times = [
        ("token_lifetime_s", c.token_lifetime_s),
        ("inactive_s", c.inactive_s),
        ("away_s", c.away_s),
        ("app_expiry_s", c.app_expiry_s),
        ("subscription_minute_s", c.subscription_minute_s),
        ("event_timeout_s", c.event_timeout_s),
        ("event_timeout_min_s", c.event_timeout_min_s),
        ("event_hold_s", c.event_hold_s),
    ];
    for (name, value) in times {
        if !value.is_finite() || !(0.0..=1.0e9).contains(&value) {
            return Err(format!(
                "{name} must be a number of seconds in [0, 1e9], got {value}"
            ));
        }
    }
    Ok(())
}

/// The statuses that have two documented forms.
pub(super) fn statuses(c: &SimConfig) -> Result<(), String> {
    if c.foreign_token_status != 401 && c.foreign_token_status != 500 {
        return Err(format!(
            "foreign_token_status must be 401 or 500, got {}",
            c.foreign_token_status
        ));
    }
    if c.invalid_token_status != 401 && c.invalid_token_status != 403 {
        return Err(format!(
            "invalid_token_status must be 401 or 403, got {}",
            c.invalid_token_status
        ));
    }
    if c.repost_status != 200 && c.repost_status != 201 {
        return Err(format!(
            "repost_status must be 200 or 201, got {}",
            c.repost_status
        ));
    }
    Ok(())
}

pub(super) fn netbios_domain(c: &SimConfig) -> Result<(), String> {
    if c.netbios_domain.is_empty() || c.netbios_domain.contains('\\') {
        return Err(format!(
            "netbios_domain {:?} must be non-empty and contain no backslash",
            c.netbios_domain
        ));
    }
    Ok(())
}

pub(super) fn grants(c: &SimConfig) -> Result<(), String> {
    if c.grants.is_empty() {
        return Err("grants must name at least one grant_type".to_owned());
    }
    for grant in &c.grants {
        // Each name goes inside the quoted, comma-separated grant_type value.
        if grant.is_empty()
            || grant.contains(|c: char| {
                c == ',' || c == '"' || c == '\\' || c.is_whitespace() || c.is_control()
            })
        {
            return Err(format!(
                "grant {grant:?} must be non-empty, without commas, quotes, backslashes or whitespace"
            ));
        }
    }
    Ok(())
}

pub(super) fn windows_auth(c: &SimConfig) -> Result<(), String> {
    if c.windows_auth.is_empty() {
        return Err("windows_auth must name at least one scheme (negotiate, ntlm)".to_owned());
    }
    for (i, scheme) in c.windows_auth.iter().enumerate() {
        if c.windows_auth[..i].contains(scheme) {
            return Err(format!("windows_auth lists {scheme} twice"));
        }
    }
    Ok(())
}

pub(super) fn users(c: &SimConfig) -> Result<(), String> {
    if c.users.is_empty() {
        return Err("at least one user is needed".to_owned());
    }
    for (name, _) in &c.users {
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "user name {name:?} must be non-empty and contain no '/'"
            ));
        }
    }
    Ok(())
}

pub(super) fn offwork(c: &SimConfig) -> Result<(), String> {
    if c.offwork_reads_as.0.is_empty() {
        return Err("offwork_reads_as needs an availability".to_owned());
    }
    Ok(())
}
