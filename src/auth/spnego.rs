//! SPNEGO's verdict in a server's token (RFC 4178): whether the negotiation was rejected, read
//! from the DER of a `NegTokenResp` with every length checked against the input, so the
//! Windows grant stops at a reject instead of sending one more leg.

/// SPNEGO's `negState` that ends the negotiation (RFC 4178 §4.2.2): no further leg is sent.
pub(super) const NEG_STATE_REJECT: u8 = 2;

/// One DER element at the start of `input`: its tag, its contents and what follows. Lengths in
/// short form or long form of at most four bytes, each checked against the input.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, rest)
    };
    (len <= rest.len()).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The `negState` of a server's SPNEGO `NegTokenResp` (`[1] SEQUENCE { [0] ENUMERATED, … }`),
/// when the token is one and carries it. sspi reads the field only to see accept-completed, so
/// a reject would otherwise go on to the AUTHENTICATE message. Four elements are read at most.
pub(super) fn neg_state(token: &[u8]) -> Option<u8> {
    let (0xa1, resp, _) = der_element(token)? else {
        return None;
    };
    let (0x30, fields, _) = der_element(resp)? else {
        return None;
    };
    let (0xa0, state, _) = der_element(fields)? else {
        return None;
    };
    match der_element(state)? {
        (0x0a, [value], _) => Some(*value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_neg_state_of_a_neg_token_resp_is_read_and_anything_else_has_none() {
        // accept-completed alone, as Windows sends it: a1 07 30 05 a0 03 0a 01 00.
        let completed = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00];
        assert_eq!(neg_state(&completed), Some(0));
        let mut reject = completed;
        reject[8] = NEG_STATE_REJECT;
        assert_eq!(neg_state(&reject), Some(NEG_STATE_REJECT));
        // Long-form lengths around a large responseToken.
        let tlv = |tag: u8, value: &[u8]| {
            let n = value.len();
            let mut out = vec![tag, 0x82, (n >> 8) as u8, n as u8];
            out.extend_from_slice(value);
            out
        };
        let fields = [&reject[4..9], &tlv(0xa2, &tlv(0x04, &[0x4e; 300]))].concat();
        assert_eq!(
            neg_state(&tlv(0xa1, &tlv(0x30, &fields))),
            Some(NEG_STATE_REJECT)
        );
        // Raw NTLM under Negotiate, truncation, absurd lengths, no negState: none.
        for bad in [
            &b"NTLMSSP\0\x02\0\0\0"[..],
            &completed[..8],
            &[0xa1, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0xa1, 0x80],
            &[0xa1, 0x04, 0x30, 0x02, 0xa2, 0x00],
            &[],
        ] {
            assert_eq!(neg_state(bad), None, "{bad:?}");
        }
    }
}
