//! The little DER the SPNEGO tokens of the Windows grant need, by hand: reading one
//! tag-length-value at a time (single-byte tags, short and long length forms up to four length
//! bytes, every length checked against the input) and writing one with the shortest length.
//! Reading never panics: garbage, truncation and absurd lengths give `None`.

/// One DER element: its tag byte and its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads the element at the start of `input`; `Some((element, rest))`.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    // High tag numbers (low five bits all set) never occur in SPNEGO; refusing them keeps the
    // reader to single-byte tags.
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // 0x80 is BER's indefinite length, which DER forbids; more than four length bytes
        // cannot describe anything an HTTP header holds.
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if len > rest.len() {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((Tlv { tag, value }, rest))
}

/// Reads exactly one element filling `input`, with tag `tag`.
pub(crate) fn read_only(input: &[u8], tag: u8) -> Option<&[u8]> {
    match read(input)? {
        (t, []) if t.tag == tag => Some(t.value),
        _ => None,
    }
}

/// The elements of a constructed value, in order; `None` when any of them is malformed.
pub(crate) fn children(mut input: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (t, rest) = read(input)?;
        out.push(t);
        input = rest;
    }
    Some(out)
}

/// One element with the shortest length encoding.
pub(crate) fn write(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_and_long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let value = vec![7u8; len];
            let bytes = write(0x04, &value);
            let (t, rest) = read(&bytes).unwrap();
            assert_eq!((t.tag, t.value.len(), rest.len()), (0x04, len, 0));
        }
        assert_eq!(write(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        assert_eq!(&write(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&write(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn truncated_indefinite_and_oversized_lengths_are_refused() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[0x30]), None);
        assert_eq!(read(&[0x30, 0x05, 1, 2]), None);
        assert_eq!(read(&[0x30, 0x80, 0, 0]), None);
        assert_eq!(read(&[0x30, 0x82, 0x01]), None);
        assert_eq!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(read(&[0x1f, 0x00]), None);
        assert_eq!(read_only(&[0x04, 0x00, 0x00], 0x04), None, "trailing bytes");
        assert_eq!(read_only(&[0x04, 0x00], 0x30), None, "other tag");
        assert_eq!(children(&[0x02, 0x01, 0x05, 0x02]), None);
    }

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some((t, rest)) = read(&bytes) {
                prop_assert!(t.value.len() + rest.len() < bytes.len());
            }
            let _ = children(&bytes);
        }

        #[test]
        fn what_is_written_reads_back(tag in 0u8..0x1f, value in proptest::collection::vec(any::<u8>(), 0..600)) {
            let bytes = write(tag, &value);
            prop_assert_eq!(read_only(&bytes, tag), Some(&value[..]));
        }
    }
}
