//! Creating a client, setting its options, the three ways to sign in (password or Windows
//! credentials, the current Windows user, host-supplied tokens) and the host's tokens.

use std::ffi::c_char;

use super::{require_out, ucwa_client, write_out};
use crate::ffi::handles::Handled;
use crate::ffi::strings::arg;
use crate::ffi::{ucwa_error, ucwa_status};
use crate::Client;

/// Creates a client. Nothing is sent to the network until ucwa_sign_in.
///
/// - server: a discovery URL ("https://lyncdiscover.contoso.com", "http://127.0.0.1:8080/")
///   or a bare SIP domain ("contoso.com": lyncdiscoverinternal.<d>, then lyncdiscover.<d>,
///   over https). Plain http is accepted only for loopback hosts (else UCWA_ERROR_INSECURE).
/// - out_client: receives the new handle on success; free it with ucwa_client_free.
///
/// Errors: INVALID_ARGUMENT (NULL, bad UTF-8, not a URL or domain), INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_client_new(
    server: *const c_char,
    out_client: *mut *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_status!(out_error, {
        let server = arg(server, "server")?;
        require_out(out_client, "out_client")?;
        let c = Client::new(server)?;
        write_out(out_client, c.into_handle());
        Ok(())
    })
}

/// Sets an option by key. Keys: user_agent, culture, endpoint_id, timeout_ms, ca_file,
/// modalities, keepalive_interval_s (0 = off), event_timeout_s, event_channel,
/// enforce_presence, allowed_hosts, retry_after_max_s, max_body_bytes (default 4 MiB: a longer
/// response body is PROTOCOL), min_token_lifetime_s (default 60: renewals never come faster),
/// subscription_refresh_s (default 300: how often the presence subscription is extended),
/// proxy (system (default: the environment as curl reads it, loopback always direct), none,
/// or http://[user:password@]host:port; https goes through CONNECT), grant (auto (default:
/// the password grant when the server offers it, else the Windows grant with the same
/// credentials), password, or windows (NTLM or Negotiate on the token request); a server that
/// offers no grant the call can use fails sign-in with AUTHENTICATION naming the offered
/// grants, and no password is sent), transcript (a file the client appends a redacted
/// transcript to: one JSON line per HTTP exchange, credentials removed, bodies cut at 16 KiB,
/// the file capped at 64 MiB; empty = none; without the option, the UCWA_TRANSCRIPT
/// environment variable names it; a file that cannot be opened is INVALID_ARGUMENT here, and a
/// later write error stops the transcript without failing a request) (see the README for
/// meanings and defaults). Options that shape the application
/// (user_agent, culture, endpoint_id, modalities) apply from the next sign-in or
/// makeMeAvailable; the others at once. Text that becomes a header (user_agent, culture,
/// endpoint_id, modalities, allowed_hosts) must hold no control characters. ca_file must be a
/// regular file of at most 1 MiB; it is read and parsed here, once, and never again.
///
/// - key, value: NUL-terminated UTF-8.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, unknown key, bad value; nothing changes).
#[no_mangle]
pub extern "C" fn ucwa_client_set_option(
    client: *mut ucwa_client,
    key: *const c_char,
    value: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_option(arg(key, "key")?, arg(value, "value")?)
    })
}

/// Signs in: discovery → OAuth challenge → token (the grant option decides which) → user
/// (redirects, pool changes) → POST applications, then parks the event channel. Blocks up to
/// 4 × timeout_ms.
///
/// - username: the SIP address (sip:user@contoso.com), a UPN (user@contoso.com), or
///   DOMAIN\user (for the Windows grant; the password grant sends it as given). With
///   DOMAIN\user there is no sign-in domain: credentials go only to the discovery host and
///   allowed_hosts.
///
/// The password grant sends the password in the token request. The Windows grant (NTLMv2,
/// or Negotiate wrapping NTLM) proves it without sending it, on one connection of its own.
/// The password is kept only while re-authentication may need it (until sign-out or free),
/// used only with token endpoints on the sign-in domain, the discovery domain or
/// allowed_hosts, and never logged or put into an error message.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT, INVALID_STATE (already signed in), NETWORK,
/// TIMEOUT, TLS, AUTHENTICATION (refused credentials, or no usable grant: the message names
/// the grants the server offered and those the call could use), SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in(
    client: *mut ucwa_client,
    username: *const c_char,
    password: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.sign_in(arg(username, "username")?, arg(password, "password")?)
    })
}

/// Signs in as the logged-on Windows user: the Windows grant (Negotiate, else NTLM) with the
/// credentials of the account the process runs as, through Windows' own SSPI, so the host
/// holds no password at all (a Windows service signing in as its own account). Blocks up to
/// 4 × timeout_ms. The grant option must be auto or windows.
///
/// On other systems it fails at once with UCWA_ERROR_AUTHENTICATION saying so; use
/// ucwa_sign_in with DOMAIN\user (or a UPN) and the password there.
///
/// Errors: INVALID_HANDLE, INVALID_STATE (already signed in), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION (not Windows, the server offers no Windows grant, or refused the
/// account), SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in_current_user(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.sign_in_current_user() })
}

/// Signs in with host-supplied tokens only (modern authentication: ADFS or Azure AD in front
/// of the pool; the host acquires tokens itself, e.g. with MSAL). Every origin that challenges
/// must have a token given with ucwa_client_set_token; no password is used or sent.
///
/// - username: the sign-in address (user@contoso.com or sip:user@contoso.com).
///
/// When an origin has no live token, or refuses the one given, the call fails with
/// UCWA_ERROR_AUTHENTICATION and the error tells what to acquire: ucwa_error_auth_resource
/// (the origin) and ucwa_error_authorization_uri (where the server says tokens come from);
/// give the token and call again. Once signed in, UCWA_EVENT_KIND_TOKEN_NEEDED comes ahead of
/// a token's expiry (five minutes, or half the lifetime of a shorter one) and when the server
/// refuses one; if no new token comes in time, the connection goes RECOVERING and LOST as for
/// any other failure, and recovers once one arrives. Sign-out forgets every token.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad UTF-8, not a sign-in address),
/// INVALID_STATE (already signed in), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL,
/// INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in_with_tokens(
    client: *mut ucwa_client,
    username: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let username = arg(username, "username")?;
        c.sign_in_with_tokens(username)
    })
}

/// Gives or replaces the bearer token for one resource, for ucwa_sign_in_with_tokens. May be
/// called before sign-in and at any time after, from any thread. The token is sent to that
/// origin only, and is never repeated in an error message.
///
/// - resource: the origin the token is for, "https://host[:port]" (plain http only to
///   loopback, for tests); nothing after the authority.
/// - access_token: the token as the identity provider issued it (at most 16 KiB of characters
///   a header can carry); sent as "Authorization: Bearer <access_token>".
/// - expires_in_s: its remaining lifetime in seconds, 1..604800.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad UTF-8, not an origin, an empty or
/// unsendable token, a lifetime out of range).
#[no_mangle]
pub extern "C" fn ucwa_client_set_token(
    client: *mut ucwa_client,
    resource: *const c_char,
    access_token: *const c_char,
    expires_in_s: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let resource = arg(resource, "resource")?;
        let token = arg(access_token, "access_token")?;
        c.set_token(resource, token, expires_in_s)
    })
}
