//! SPNEGO (RFC 4178) as the Windows grant's `Negotiate` scheme carries NTLM: reading the
//! client's `NegTokenInit` (inside the GSS-API `0x60` wrapper) and `NegTokenResp`, and writing
//! the server's `NegTokenResp`. Only what IIS exchanges with an NTLM client is understood;
//! everything else reads as `None`, never a panic.

use crate::der;

/// DER of OID 1.3.6.1.5.5.2 (SPNEGO), contents only.
const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER of OID 1.3.6.1.4.1.311.2.2.10 (NTLMSSP), contents only.
pub(crate) const NTLMSSP_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// `negState` values of a `NegTokenResp`.
pub(crate) const ACCEPT_COMPLETED: u8 = 0;
pub(crate) const ACCEPT_INCOMPLETE: u8 = 1;

/// What a client's SPNEGO token said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// The first leg: the mechanisms offered (OID contents) and the optimistic token.
    Init {
        mech_types: Vec<&'a [u8]>,
        mech_token: Option<&'a [u8]>,
    },
    /// A later leg: the mechanism's token (the NTLM AUTHENTICATE_MESSAGE), if any.
    Resp { response_token: Option<&'a [u8]> },
}

/// Reads a client token: `0x60` GSS-API wrapper around `[0] NegTokenInit`, a bare
/// `[0] NegTokenInit`, or `[1] NegTokenResp`.
pub(crate) fn parse(input: &[u8]) -> Option<Token<'_>> {
    let (outer, rest) = der::read(input)?;
    if !rest.is_empty() {
        return None;
    }
    match outer.tag {
        0x60 => {
            let (oid, inner) = der::read(outer.value)?;
            if oid.tag != 0x06 || oid.value != SPNEGO_OID {
                return None;
            }
            neg_token_init(der::read_only(inner, 0xa0)?)
        }
        0xa0 => neg_token_init(outer.value),
        0xa1 => {
            let mut response_token = None;
            for field in der::children(der::read_only(outer.value, 0x30)?)? {
                if field.tag == 0xa2 {
                    response_token = Some(der::read_only(field.value, 0x04)?);
                }
                // negState [0], supportedMech [1] and mechListMIC [3] are not needed: the MIC
                // is accepted unchecked, as the simulator keeps no session keys.
            }
            Some(Token::Resp { response_token })
        }
        _ => None,
    }
}

fn neg_token_init(value: &[u8]) -> Option<Token<'_>> {
    let mut mech_types = Vec::new();
    let mut mech_token = None;
    for field in der::children(der::read_only(value, 0x30)?)? {
        match field.tag {
            0xa0 => {
                for oid in der::children(der::read_only(field.value, 0x30)?)? {
                    if oid.tag != 0x06 {
                        return None;
                    }
                    mech_types.push(oid.value);
                }
            }
            0xa2 => mech_token = Some(der::read_only(field.value, 0x04)?),
            // reqFlags [1] and mechListMIC [3] change nothing here.
            _ => {}
        }
    }
    Some(Token::Init {
        mech_types,
        mech_token,
    })
}

/// The server's `[1] NegTokenResp`: `negState`, `supportedMech` NTLMSSP when `with_mech`,
/// and the `responseToken` when given.
pub(crate) fn response(neg_state: u8, with_mech: bool, token: Option<&[u8]>) -> Vec<u8> {
    let mut fields = der::write(0xa0, &der::write(0x0a, &[neg_state]));
    if with_mech {
        fields.extend(der::write(0xa1, &der::write(0x06, NTLMSSP_OID)));
    }
    if let Some(t) = token {
        fields.extend(der::write(0xa2, &der::write(0x04, t)));
    }
    der::write(0xa1, &der::write(0x30, &fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn init(mechs: &[&[u8]], token: &[u8]) -> Vec<u8> {
        let oids: Vec<u8> = mechs.iter().flat_map(|m| der::write(0x06, m)).collect();
        let mut fields = der::write(0xa0, &der::write(0x30, &oids));
        fields.extend(der::write(0xa2, &der::write(0x04, token)));
        let body = der::write(0xa0, &der::write(0x30, &fields));
        let mut inner = der::write(0x06, SPNEGO_OID);
        inner.extend(body);
        der::write(0x60, &inner)
    }

    #[test]
    fn a_gss_wrapped_neg_token_init_yields_its_mechanisms_and_token() {
        let bytes = init(&[NTLMSSP_OID], b"NTLMSSP\0\x01");
        assert_eq!(
            parse(&bytes),
            Some(Token::Init {
                mech_types: vec![NTLMSSP_OID],
                mech_token: Some(b"NTLMSSP\0\x01"),
            })
        );
        // Without the GSS-API wrapper, as some stacks send it.
        let bare = der::read_only(&bytes, 0x60).unwrap();
        let (_, after_oid) = der::read(bare).unwrap();
        assert!(matches!(parse(after_oid), Some(Token::Init { .. })));
    }

    #[test]
    fn a_neg_token_resp_yields_its_response_token_and_ignores_the_mic() {
        let mut fields = der::write(0xa2, &der::write(0x04, b"type3"));
        fields.extend(der::write(0xa3, &der::write(0x04, &[9; 16])));
        let bytes = der::write(0xa1, &der::write(0x30, &fields));
        assert_eq!(
            parse(&bytes),
            Some(Token::Resp {
                response_token: Some(b"type3")
            })
        );
    }

    #[test]
    fn the_server_response_is_the_der_windows_sends() {
        // accept-completed alone: a1 07 30 05 a0 03 0a 01 00.
        assert_eq!(
            response(ACCEPT_COMPLETED, false, None),
            [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00]
        );
        let r = response(ACCEPT_INCOMPLETE, true, Some(&[0x4e; 300]));
        assert_eq!(&r[..2], &[0xa1, 0x82]);
        let seq = der::children(der::read_only(der::read_only(&r, 0xa1).unwrap(), 0x30).unwrap())
            .unwrap();
        assert_eq!(seq[0].value, [0x0a, 0x01, 0x01]);
        assert_eq!(der::read_only(seq[1].value, 0x06), Some(NTLMSSP_OID));
        assert_eq!(
            der::read_only(seq[2].value, 0x04).map(<[u8]>::len),
            Some(300)
        );
    }

    #[test]
    fn garbage_and_truncated_tokens_read_as_nothing() {
        let good = init(&[NTLMSSP_OID], b"NTLMSSP\0\x01\0\0\0");
        for cut in 0..good.len() {
            assert_eq!(parse(&good[..cut]), None, "cut at {cut}");
        }
        let mut other_oid = good.clone();
        other_oid[4] ^= 1;
        assert_eq!(parse(&other_oid), None);
        assert_eq!(parse(b"NTLMSSP\0"), None);
        assert_eq!(parse(&[0xa1, 0x02, 0x04, 0x00]), None);
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let _ = parse(&bytes);
            let mut wrapped = vec![0x60, bytes.len().min(127) as u8];
            wrapped.extend_from_slice(&bytes);
            let _ = parse(&wrapped);
        }
    }
}
