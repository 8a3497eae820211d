//! Varints with Go's `encoding/binary` semantics: LEB128, at most 10 bytes, zig-zag for signed.

use super::DecodeError;

/// Appends `v` as an unsigned varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as a zig-zag signed varint.
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Number of bytes `put_uvarint` writes for `v`.
pub fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads an unsigned varint; returns the value and the bytes consumed.
#[inline]
pub fn read_uvarint(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut x: u64 = 0;
    let mut shift: u32 = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 {
            return Err(DecodeError::VarintOverflow);
        }
        if b < 0x80 {
            // Go rejects a 10th byte carrying more than the top bit.
            if i == 9 && b > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            return Ok((x | (u64::from(b) << shift), i + 1));
        }
        x |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    if buf.len() >= 10 { Err(DecodeError::VarintOverflow) } else { Err(DecodeError::Truncated) }
}

/// Reads a zig-zag signed varint; returns the value and the bytes consumed.
#[inline]
pub fn read_varint(buf: &[u8]) -> Result<(i64, usize), DecodeError> {
    let (ux, n) = read_uvarint(buf)?;
    let x = (ux >> 1) as i64;
    Ok((if ux & 1 != 0 { !x } else { x }, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        put_varint(&mut b, -1);
        assert_eq!(b, [0x01]);
        b.clear();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
        assert_eq!(read_uvarint(&b), Ok((u64::MAX, 10)));
    }

    #[test]
    fn overflow_and_truncation() {
        assert_eq!(read_uvarint(&[0x80; 11]), Err(DecodeError::VarintOverflow));
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(read_uvarint(&too_big), Err(DecodeError::VarintOverflow));
        assert_eq!(read_uvarint(&[0x80, 0x80]), Err(DecodeError::Truncated));
        assert_eq!(read_uvarint(&[]), Err(DecodeError::Truncated));
    }

    proptest! {
        #[test]
        fn uvarint_round_trip(v: u64) {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            prop_assert_eq!(b.len(), uvarint_len(v));
            prop_assert_eq!(read_uvarint(&b), Ok((v, b.len())));
        }

        #[test]
        fn varint_round_trip(v: i64) {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            prop_assert_eq!(read_varint(&b), Ok((v, b.len())));
        }

        #[test]
        fn random_bytes_never_panic(bytes: Vec<u8>) {
            let _ = read_uvarint(&bytes);
            let _ = read_varint(&bytes);
        }
    }
}
