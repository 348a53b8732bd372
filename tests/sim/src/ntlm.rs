//! NTLM (MS-NLMP) as the server side of the Windows grant needs it: reading the client's
//! NEGOTIATE_MESSAGE (type 1) and AUTHENTICATE_MESSAGE (type 3), writing the CHALLENGE_MESSAGE
//! (type 2) a Windows server sends, and checking an NTLMv2 response against a password.
//! Reading never panics: every offset and length is checked against the message.

use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;

pub(crate) const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub(crate) const NEGOTIATE_OEM: u32 = 0x0000_0002;
pub(crate) const REQUEST_TARGET: u32 = 0x0000_0004;
pub(crate) const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub(crate) const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub(crate) const NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
pub(crate) const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub(crate) const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub(crate) const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub(crate) const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub(crate) const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub(crate) const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub(crate) const NEGOTIATE_128: u32 = 0x2000_0000;
pub(crate) const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub(crate) const NEGOTIATE_56: u32 = 0x8000_0000;

/// The client flags a Windows server echoes when asked (MS-NLMP 3.2.5.1.1).
const ECHOED: u32 = REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Windows Server 2019 (10.0 build 17763), NTLMSSP revision 15: the pool's front end.
const VERSION: [u8; 8] = [10, 0, 0x63, 0x45, 0, 0, 0, 0x0f];
/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_OFFSET_S: u64 = 11_644_473_600;

/// The message type of an NTLM message (1, 2 or 3), if `bytes` is one.
pub(crate) fn message_type(bytes: &[u8]) -> Option<u32> {
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    u32_at(bytes, 8)
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The flags of a NEGOTIATE_MESSAGE.
pub(crate) fn negotiate_flags(bytes: &[u8]) -> Option<u32> {
    if message_type(bytes)? != 1 {
        return None;
    }
    u32_at(bytes, 12)
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Who the server says it is in its CHALLENGE_MESSAGE.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    /// NetBIOS domain: the target name and `MsvAvNbDomainName`.
    pub nb_domain: &'a str,
    pub nb_computer: &'a str,
    pub dns_domain: &'a str,
    pub dns_computer: &'a str,
}

/// The current time as a FILETIME (100 ns units since 1601).
pub(crate) fn filetime_now() -> u64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since_unix.as_secs() + FILETIME_UNIX_OFFSET_S) * 10_000_000
        + u64::from(since_unix.subsec_nanos() / 100)
}

/// The flags a server answers a client's NEGOTIATE flags with: the echoable ones it asked for,
/// Unicode unless it asked for OEM only, and always NTLM, a domain target and target info.
pub(crate) fn challenge_flags(client: u32) -> u32 {
    let mut flags = (client & ECHOED)
        | NEGOTIATE_NTLM
        | TARGET_TYPE_DOMAIN
        | NEGOTIATE_TARGET_INFO
        | REQUEST_TARGET;
    flags |= if client & NEGOTIATE_UNICODE != 0 || client & NEGOTIATE_OEM == 0 {
        NEGOTIATE_UNICODE
    } else {
        NEGOTIATE_OEM
    };
    // LM_KEY only without extended session security, which wins when both are asked.
    if client & NEGOTIATE_LM_KEY != 0 && client & NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
        flags |= NEGOTIATE_LM_KEY;
    }
    flags
}

/// A CHALLENGE_MESSAGE for `flags` (see [`challenge_flags`]).
pub(crate) fn challenge_message(
    flags: u32,
    server_challenge: &[u8; 8],
    target: &Target<'_>,
    timestamp: u64,
) -> Vec<u8> {
    let text = |s: &str| {
        if flags & NEGOTIATE_UNICODE != 0 {
            utf16le(s)
        } else {
            s.bytes().collect()
        }
    };
    let mut info = Vec::new();
    let mut av = |id: u16, value: &[u8]| {
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(value.len() as u16).to_le_bytes());
        info.extend_from_slice(value);
    };
    // AV pairs are always UTF-16LE, whatever the negotiated character set.
    av(2, &utf16le(target.nb_domain));
    av(1, &utf16le(target.nb_computer));
    av(4, &utf16le(target.dns_domain));
    av(3, &utf16le(target.dns_computer));
    av(7, &timestamp.to_le_bytes());
    av(0, &[]);
    let name = text(target.nb_domain);
    // Fixed header of 56 bytes: the Version field is present (zero unless negotiated).
    let name_at = 56u32;
    let info_at = name_at + name.len() as u32;
    let mut m = Vec::with_capacity(56 + name.len() + info.len());
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&name_at.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(server_challenge);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&info_at.to_le_bytes());
    if flags & NEGOTIATE_VERSION != 0 {
        m.extend_from_slice(&VERSION);
    } else {
        m.extend_from_slice(&[0; 8]);
    }
    m.extend_from_slice(&name);
    m.extend_from_slice(&info);
    m
}

/// The parts of an AUTHENTICATE_MESSAGE the server checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authenticate {
    pub lm_response: Vec<u8>,
    pub nt_response: Vec<u8>,
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub flags: u32,
}

/// Reads an AUTHENTICATE_MESSAGE; `None` when it is not one or a field lies outside it.
pub(crate) fn parse_authenticate(m: &[u8]) -> Option<Authenticate> {
    if message_type(m)? != 3 {
        return None;
    }
    let field = |at: usize| -> Option<&[u8]> {
        let len = u16_at(m, at)?;
        let offset = usize::try_from(u32_at(m, at + 4)?).ok()?;
        m.get(offset..offset.checked_add(len)?)
    };
    let flags = u32_at(m, 60)?;
    let text = |bytes: &[u8]| -> Option<String> {
        if flags & NEGOTIATE_UNICODE != 0 {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        } else {
            // OEM: read as Latin-1, which is what an ASCII name is in any code page.
            Some(bytes.iter().map(|b| char::from(*b)).collect())
        }
    };
    Some(Authenticate {
        lm_response: field(12)?.to_vec(),
        nt_response: field(20)?.to_vec(),
        domain: text(field(28)?)?,
        user: text(field(36)?)?,
        workstation: text(field(44)?)?,
        flags,
    })
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Upper case as Windows applies it to a user name: code unit by code unit, so a character
/// whose upper case is longer (ß) stays as it is.
fn upcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// NTOWFv2 = HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPERCASE(user) + domain)).
pub(crate) fn ntowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt_hash = Md4::digest(utf16le(password));
    hmac_md5(&nt_hash, &[&utf16le(&format!("{}{domain}", upcase(user)))])
}

/// Smallest NTLMv2 blob: RespType, HiRespType, six reserved bytes, time, client challenge and
/// four reserved bytes (the AV pairs may be empty).
const MIN_BLOB: usize = 28;

/// How an NT challenge response falls short of NTLMv2, or that it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NtResponse {
    V2,
    /// 24 bytes: an NTLMv1 (or NTLM2 session) response.
    V1,
    /// No NT response at all: LM only.
    LmOnly,
    Malformed,
}

/// What kind of NT response `nt` is.
pub(crate) fn classify(nt: &[u8]) -> NtResponse {
    match nt.len() {
        0 => NtResponse::LmOnly,
        24 => NtResponse::V1,
        n if n >= 16 + MIN_BLOB && nt[16..18] == [1, 1] => NtResponse::V2,
        _ => NtResponse::Malformed,
    }
}

/// Whether an NTLMv2 `nt` response (NTProofStr + blob) proves knowledge of `ntowfv2` for this
/// server challenge.
pub(crate) fn verify_v2(ntowfv2: &[u8; 16], server_challenge: &[u8; 8], nt: &[u8]) -> bool {
    if classify(nt) != NtResponse::V2 {
        return false;
    }
    let (proof, blob) = nt.split_at(16);
    let Ok(mut mac) = <Hmac<Md5> as KeyInit>::new_from_slice(ntowfv2) else {
        return false;
    };
    mac.update(server_challenge);
    mac.update(blob);
    // Constant time, as a real verifier compares.
    mac.verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// MS-NLMP 4.2.4: user "User", domain "Domain", password "Password", server challenge
    /// 0123456789abcdef, client challenge aa×8, time 0, and the server's TargetInfo
    /// (MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL).
    fn spec_blob() -> Vec<u8> {
        let mut info = vec![0x02, 0x00, 0x0c, 0x00];
        info.extend(utf16le("Domain"));
        info.extend([0x01, 0x00, 0x0c, 0x00]);
        info.extend(utf16le("Server"));
        info.extend([0, 0, 0, 0]);
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        blob.extend([0; 8]);
        blob.extend([0xaa; 8]);
        blob.extend([0; 4]);
        blob.extend(info);
        blob.extend([0; 4]);
        blob
    }

    #[test]
    fn ntowfv2_and_the_proof_match_the_ms_nlmp_4_2_4_test_vector() {
        let key = ntowfv2("Password", "User", "Domain");
        assert_eq!(key.to_vec(), hex("0c868a403bfd7a93a3001ef22ef02e3f"));
        let challenge: [u8; 8] = hex("0123456789abcdef").try_into().unwrap();
        let blob = spec_blob();
        let proof = hmac_md5(&key, &[&challenge, &blob]);
        assert_eq!(proof.to_vec(), hex("68cd0ab851e51c96aabc927bebef6a1c"));

        let mut nt = proof.to_vec();
        nt.extend(&blob);
        assert!(verify_v2(&key, &challenge, &nt));
        let mut other = challenge;
        other[0] ^= 1;
        assert!(!verify_v2(&key, &other, &nt), "another server challenge");
        assert!(!verify_v2(
            &ntowfv2("password", "User", "Domain"),
            &challenge,
            &nt
        ));
        assert!(!verify_v2(
            &ntowfv2("Password", "User", "DOMAIN"),
            &challenge,
            &nt
        ));
        // The user name is upper-cased, so its case does not matter.
        assert!(verify_v2(
            &ntowfv2("Password", "user", "Domain"),
            &challenge,
            &nt
        ));
        let mut tampered = nt.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(!verify_v2(&key, &challenge, &tampered));
    }

    fn authenticate(domain: &str, user: &str, nt: &[u8], flags: u32) -> Vec<u8> {
        let fields: [Vec<u8>; 6] = [
            vec![0; 24],
            nt.to_vec(),
            utf16le(domain),
            utf16le(user),
            utf16le("COMPUTER"),
            Vec::new(),
        ];
        let mut m = SIGNATURE.to_vec();
        m.extend(3u32.to_le_bytes());
        let mut at = 64 + 8 + 16;
        for f in &fields {
            m.extend((f.len() as u16).to_le_bytes());
            m.extend((f.len() as u16).to_le_bytes());
            m.extend((at as u32).to_le_bytes());
            at += f.len();
        }
        m.extend(flags.to_le_bytes());
        m.extend([0; 8 + 16]);
        for f in &fields {
            m.extend(f);
        }
        m
    }

    #[test]
    fn an_authenticate_message_reads_back_its_names_and_responses() {
        let m = authenticate("Domain", "User", &[7; 60], NEGOTIATE_UNICODE);
        let a = parse_authenticate(&m).unwrap();
        assert_eq!((a.domain.as_str(), a.user.as_str()), ("Domain", "User"));
        assert_eq!(a.workstation, "COMPUTER");
        assert_eq!((a.lm_response.len(), a.nt_response), (24, vec![7; 60]));
        for cut in 0..m.len() {
            assert_eq!(parse_authenticate(&m[..cut]), None, "cut at {cut}");
        }
        let mut odd = m.clone();
        odd[36] = 7; // an odd UTF-16 length for the user name
        assert_eq!(parse_authenticate(&odd), None);
    }

    #[test]
    fn nt_responses_are_classified_v2_v1_lm_only_or_malformed() {
        let mut v2 = vec![0; 16];
        v2.extend(spec_blob());
        assert_eq!(classify(&v2), NtResponse::V2);
        assert_eq!(classify(&[0; 24]), NtResponse::V1);
        assert_eq!(classify(&[]), NtResponse::LmOnly);
        assert_eq!(classify(&[0; 30]), NtResponse::Malformed);
        v2[16] = 2;
        assert_eq!(classify(&v2), NtResponse::Malformed);
    }

    #[test]
    fn the_challenge_echoes_the_supported_flags_and_names_the_domain() {
        let asked = NEGOTIATE_UNICODE
            | NEGOTIATE_OEM
            | REQUEST_TARGET
            | NEGOTIATE_NTLM
            | NEGOTIATE_ALWAYS_SIGN
            | NEGOTIATE_EXTENDED_SESSIONSECURITY
            | NEGOTIATE_LM_KEY
            | NEGOTIATE_VERSION
            | NEGOTIATE_128
            | NEGOTIATE_56
            | NEGOTIATE_KEY_EXCH
            | NEGOTIATE_SIGN
            | NEGOTIATE_SEAL;
        let flags = challenge_flags(asked);
        assert_eq!(flags & NEGOTIATE_OEM, 0);
        assert_eq!(flags & NEGOTIATE_LM_KEY, 0);
        for f in [
            NEGOTIATE_UNICODE,
            NEGOTIATE_NTLM,
            NEGOTIATE_EXTENDED_SESSIONSECURITY,
            NEGOTIATE_TARGET_INFO,
            REQUEST_TARGET,
            NEGOTIATE_ALWAYS_SIGN,
            NEGOTIATE_128,
            NEGOTIATE_56,
            NEGOTIATE_KEY_EXCH,
            NEGOTIATE_SIGN,
            NEGOTIATE_SEAL,
            NEGOTIATE_VERSION,
            TARGET_TYPE_DOMAIN,
        ] {
            assert_ne!(flags & f, 0, "{f:#x}");
        }
        assert_eq!(challenge_flags(NEGOTIATE_UNICODE) & NEGOTIATE_128, 0);

        let target = Target {
            nb_domain: "CONTOSO",
            nb_computer: "LYNC-SE1",
            dns_domain: "contoso.com",
            dns_computer: "lync-se1.contoso.com",
        };
        let m = challenge_message(flags, &[1, 2, 3, 4, 5, 6, 7, 8], &target, 42);
        assert_eq!(message_type(&m), Some(2));
        assert_eq!(u32_at(&m, 20), Some(flags));
        assert_eq!(&m[24..32], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&m[48..56], &VERSION);
        let name_len = u16_at(&m, 12).unwrap();
        assert_eq!(&m[56..56 + name_len], &utf16le("CONTOSO")[..]);
        let info_at = u32_at(&m, 44).unwrap() as usize;
        let info_len = u16_at(&m, 40).unwrap();
        assert_eq!(info_at + info_len, m.len());
        let info = &m[info_at..];
        assert_eq!(&info[..4], &[2, 0, 14, 0]);
        assert!(info.ends_with(&[7, 0, 8, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    }

    proptest! {
        #[test]
        fn reading_arbitrary_messages_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..120)) {
            for kind in [1u32, 3] {
                let mut m = SIGNATURE.to_vec();
                m.extend(kind.to_le_bytes());
                m.extend(&tail);
                let _ = negotiate_flags(&m);
                let _ = parse_authenticate(&m);
            }
            let _ = parse_authenticate(&tail);
            let _ = classify(&tail);
        }
    }
}
