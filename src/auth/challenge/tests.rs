//! The challenge parser's tests: rendered challenge lists parse back to what was rendered,
//! any bytes stay bounded, and the captures and variants seen in the wild read right.

use super::*;
use crate::auth::grant::tests::ON_PREM_GRANTS;
use proptest::prelude::*;
use reqwest::header::HeaderValue;

/// What a generated challenge carries after its scheme.
#[derive(Debug, Clone)]
enum Body {
    Nothing,
    Token68(String),
    Params(Vec<(String, String)>),
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}"
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![token(), "[ -~é€]{0,16}", Just(ON_PREM_GRANTS.join(","))]
}

fn challenge_list() -> impl Strategy<Value = Vec<(String, Body)>> {
    let body = prop_oneof![
        Just(Body::Nothing),
        "[A-Za-z0-9._~+/-]{1,12}={0,2}".prop_map(Body::Token68),
        proptest::collection::vec((token(), value()), 1..5).prop_map(Body::Params),
    ];
    proptest::collection::vec((token(), body), 0..6)
}

/// Random rendering choices, drawn in turn (and over again when used up).
struct Dice(Vec<u8>, usize);

impl Dice {
    fn roll(&mut self) -> u8 {
        self.1 += 1;
        self.0[self.1 % self.0.len()]
    }
    fn one_in(&mut self, n: u8) -> bool {
        self.roll().is_multiple_of(n)
    }
    fn ows(&mut self) -> &'static str {
        ["", "", " ", "\t", "  "][self.roll() as usize % 5]
    }
}

fn is_token(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(is_tchar)
}

/// A value as a server may write it: bare when it is a token and the dice say so, else a
/// quoted-string, sometimes escaping characters that need no escape.
fn render_value(v: &str, dice: &mut Dice) -> String {
    if is_token(v) && dice.one_in(2) {
        return v.to_string();
    }
    let escape_all = dice.one_in(4);
    let mut out = String::from("\"");
    for ch in v.chars() {
        if ch == '"' || ch == '\\' || (escape_all && ch.is_ascii()) {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

fn render_challenge(scheme: &str, body: &Body, dice: &mut Dice) -> String {
    let gap = [" ", "  ", "   "][dice.roll() as usize % 3];
    match body {
        Body::Nothing => scheme.to_string(),
        Body::Token68(t) => format!("{scheme}{gap}{t}"),
        Body::Params(params) => {
            let rendered: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    let (a, b) = (dice.ows(), dice.ows());
                    format!("{k}{a}={b}{}", render_value(v, dice))
                })
                .collect();
            let mut out = format!("{scheme}{gap}");
            for (i, p) in rendered.iter().enumerate() {
                if i > 0 {
                    out.push_str(&format!("{},{}", dice.ows(), dice.ows()));
                }
                out.push_str(p);
            }
            out
        }
    }
}

/// The list as one line or several, with optional whitespace and empty list elements.
fn render_lines(list: &[(String, Body)], dice: &mut Dice) -> Vec<String> {
    let mut lines = vec![String::new()];
    for (i, (scheme, body)) in list.iter().enumerate() {
        if i > 0 {
            if dice.one_in(3) {
                lines.push(String::new());
            } else {
                let sep = if dice.one_in(4) { ", ," } else { "," };
                let line = lines.last_mut().unwrap();
                line.push_str(&format!("{}{sep}{}", dice.ows(), dice.ows()));
            }
        }
        let text = render_challenge(scheme, body, dice);
        let line = lines.last_mut().unwrap();
        if line.is_empty() && dice.one_in(4) {
            line.push_str(", ");
        }
        line.push_str(&text);
    }
    lines
        .into_iter()
        .map(|l| format!("{}{l}{}", dice.ows(), if dice.one_in(5) { "," } else { "" }))
        .collect()
}

fn expected(list: &[(String, Body)]) -> Vec<AuthChallenge> {
    list.iter()
        .map(|(scheme, body)| AuthChallenge {
            scheme: scheme.clone(),
            token68: match body {
                Body::Token68(t) => Some(t.clone()),
                _ => None,
            },
            params: match body {
                Body::Params(p) => p
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}

proptest! {
    #[test]
    fn rendered_challenge_lists_parse_back_to_the_same_challenges(
        list in challenge_list(),
        dice in proptest::collection::vec(any::<u8>(), 1..32),
    ) {
        let lines = render_lines(&list, &mut Dice(dice, 0));
        let mut h = HeaderMap::new();
        for l in &lines {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_bytes(l.as_bytes()).unwrap());
        }
        prop_assert_eq!(challenges(&h), expected(&list), "lines: {:?}", lines);
    }

    #[test]
    fn any_bytes_on_a_line_never_panic_and_stay_bounded(
        line in proptest::collection::vec(any::<u8>(), 0..400),
        syntax in "[ \t,=\"\\\\a-zA-Z0-9/:]{0,300}",
    ) {
        for bytes in [&line[..], syntax.as_bytes()] {
            let mut out = Vec::new();
            parse_challenge_line(bytes, &mut out);
            prop_assert!(out.len() <= MAX_CHALLENGES);
            prop_assert!(out.iter().all(|c| c.params.len() <= MAX_PARAMS && !c.scheme.is_empty()));
        }
    }
}

proptest! {
    #[test]
    fn any_www_authenticate_bytes_parse_or_are_ignored(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4)) {
        let mut h = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                h.append(WWW_AUTHENTICATE, v);
            }
        }
        if let Some(c) = parse_challenge(&h).ms_rtc_oauth {
            prop_assert!(c.grant_types.iter().flatten().all(|g| !g.is_empty()));
            prop_assert!(!c.href.is_empty());
        }
    }

    #[test]
    fn challenge_like_text_never_panics(s in "(MsRtcOAuth|Bearer|msrtcoauth)?[ ,=\"a-z_:/.]{0,80}") {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&s) {
            h.append(WWW_AUTHENTICATE, v);
        }
        let _ = parse_challenge(&h);
    }
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn ms_rtc_oauth(values: &[&str]) -> Challenge {
    parse_challenge(&headers(values))
        .ms_rtc_oauth
        .expect("an MsRtcOAuth challenge")
}

#[test]
fn a_challenge_folded_by_a_reverse_proxy_is_found_after_the_bearer_one() {
    let folded = r#"Bearer trusted_issuers="", client_id="00000004-0000-0ff1-ce00-000000000000", MsRtcOAuth href="https://lyncweb.contoso.com/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#;
    let got = parse_challenge(&headers(&[folded]));
    assert_eq!(
        got.ms_rtc_oauth,
        Some(Challenge {
            href: "https://lyncweb.contoso.com/WebTicket/oauthtoken".into(),
            grant_types: Some(ON_PREM_GRANTS.map(String::from).to_vec()),
        })
    );
    assert_eq!(
        got.bearer,
        Some(BearerChallenge {
            authorization_uri: None,
        })
    );
    // The Bearer challenge's other parameters are read too, though nothing uses them.
    let all = challenges(&headers(&[folded]));
    let bearer = all.iter().find(|c| c.is("Bearer")).unwrap();
    assert_eq!(
        bearer.param("client_id"),
        Some("00000004-0000-0ff1-ce00-000000000000")
    );
    assert_eq!(bearer.param("trusted_issuers"), Some(""));
    // .NET shows the same merge without a space after the comma.
    let dotnet = folded.replace(r#"0000", MsRtcOAuth"#, r#"0000",MsRtcOAuth"#);
    assert_eq!(ms_rtc_oauth(&[&dotnet]), got.ms_rtc_oauth.unwrap());
}

#[test]
fn the_simulators_two_lines_and_its_modern_auth_variant_parse() {
    // As ucwa-sim sends them (tests/sim/src/state.rs), Bearer first.
    let sim = [
        r#"Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", client_id="00000004-0000-0ff1-ce00-000000000000""#,
        r#"MsRtcOAuth href="http://127.0.0.1:41234/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#,
    ];
    let c = ms_rtc_oauth(&sim);
    assert_eq!(c.href, "http://127.0.0.1:41234/WebTicket/oauthtoken");
    assert_eq!(c.grant_types.unwrap(), ON_PREM_GRANTS);
    let all = challenges(&headers(&sim));
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].param("TRUSTED_ISSUERS"),
        Some("00000002-0000-0ff1-ce00-000000000000@contoso.com")
    );
    // In either order.
    assert_eq!(ms_rtc_oauth(&[sim[1], sim[0]]).href, c.href);

    let modern = r#"Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", client_id="00000004-0000-0ff1-ce00-000000000000", authorization_uri="https://login.windows.net/common/oauth2/authorize""#;
    let got = parse_challenge(&headers(&[modern, sim[1]]));
    let bearer = got.bearer.unwrap();
    assert_eq!(
        bearer.authorization_uri.as_deref(),
        Some("https://login.windows.net/common/oauth2/authorize")
    );
    assert_eq!(
        challenges(&headers(&[modern]))[0].param("trusted_issuers"),
        Some("00000001-0000-0000-c000-000000000000@*")
    );
    assert!(got.ms_rtc_oauth.is_some());
    // Online without MsRtcOAuth: the Bearer challenge alone is still read.
    let only = parse_challenge(&headers(&[modern]));
    assert!(only.ms_rtc_oauth.is_none() && only.bearer.is_some());
}

#[test]
fn unquoted_hrefs_case_and_whitespace_variants_parse() {
    // Microsoft's documentation shows the href unquoted.
    let c = ms_rtc_oauth(&[
        r#"MsRtcOAuth href=https://contoso.com/WebTicket/oauthtoken,grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#,
    ]);
    assert_eq!(c.href, "https://contoso.com/WebTicket/oauthtoken");
    assert_eq!(c.grant_types.unwrap(), ON_PREM_GRANTS);

    let c = ms_rtc_oauth(&[
        "msrtcoauth HREF = https://contoso.com/WebTicket/oauthtoken ,\tGrant_Type=password",
    ]);
    assert_eq!(c.href, "https://contoso.com/WebTicket/oauthtoken");
    assert_eq!(c.grant_types.unwrap(), ["password"]);

    // Escapes inside quoted strings.
    let all = challenges(&headers(&[
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
    ]));
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].param("title"), Some(r#"Login to "apps""#));
    assert_eq!(all[0].param("type"), Some("1"));
    assert!(all[1].is("basic") && all[1].param("realm") == Some("simple"));
}

#[test]
fn token68_and_bare_schemes_are_challenges_of_their_own() {
    let all = challenges(&headers(&[
        "Negotiate, Basic YWxhZGRpbjpvcGVuc2VzYW1l==, NTLM",
        r#"MsRtcOAuth href="/WebTicket/oauthtoken""#,
    ]));
    let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Negotiate", "Basic", "NTLM", "MsRtcOAuth"]);
    assert_eq!(
        all[1].token68.as_deref(),
        Some("YWxhZGRpbjpvcGVuc2VzYW1l==")
    );
    assert!(all[0].params.is_empty() && all[0].token68.is_none());
    // No grant_type: nothing named, which is not the same as an empty list.
    assert_eq!(ms_rtc_oauth(&[r#"MsRtcOAuth href="/t""#]).grant_types, None);
    assert_eq!(
        ms_rtc_oauth(&[r#"MsRtcOAuth href="/t", grant_type="""#]).grant_types,
        Some(vec![])
    );
}

#[test]
fn malformed_elements_are_skipped_and_the_rest_still_count() {
    let c = ms_rtc_oauth(&[
        r#""junk", Bearer realm="x" trailing, MsRtcOAuth href="/t", orphan"x", grant_type=password"#,
    ]);
    assert_eq!(c.href, "/t");
    assert_eq!(c.grant_types.unwrap(), ["password"]);
    // A parameter never belongs to a challenge on another line.
    let c = ms_rtc_oauth(&[r#"MsRtcOAuth href="/t""#, "grant_type=password"]);
    assert_eq!(c.grant_types, None);
    // An unterminated quoted string takes nothing with it.
    assert!(parse_challenge(&headers(&[r#"MsRtcOAuth href="/t"#]))
        .ms_rtc_oauth
        .is_none());
    // No href, or an empty one: not a usable challenge; a later one is.
    assert!(
        parse_challenge(&headers(&["MsRtcOAuth grant_type=password"]))
            .ms_rtc_oauth
            .is_none()
    );
    assert_eq!(
        ms_rtc_oauth(&[r#"MsRtcOAuth href="", MsRtcOAuth href="/second""#]).href,
        "/second"
    );
    assert!(parse_challenge(&headers(&[r#"Bearer realm="x""#]))
        .ms_rtc_oauth
        .is_none());
}

#[test]
fn lines_challenges_and_params_are_bounded() {
    let pad = "x".repeat(MAX_CHALLENGE_LINE);
    let long = format!(r#"MsRtcOAuth href="/t", pad="{pad}""#);
    assert!(long.len() > MAX_CHALLENGE_LINE);
    assert!(parse_challenge(&headers(&[&long])).ms_rtc_oauth.is_none());

    let many: Vec<String> = (0..40).map(|i| format!("S{i} a=1")).collect();
    let all = challenges(&headers(&[&many.join(", "), r#"MsRtcOAuth href="/t""#]));
    assert_eq!(all.len(), MAX_CHALLENGES);
    assert_eq!(
        all[MAX_CHALLENGES - 1].scheme,
        format!("S{}", MAX_CHALLENGES - 1)
    );

    let params: Vec<String> = (0..100).map(|i| format!("p{i}={i}")).collect();
    let all = challenges(&headers(&[&format!("S {}", params.join(","))]));
    assert_eq!(all[0].params.len(), MAX_PARAMS);
    assert_eq!(all[0].param("p31"), Some("31"));
    assert_eq!(all[0].param("p32"), None);
}
