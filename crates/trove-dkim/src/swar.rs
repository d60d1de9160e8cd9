//! Byte tests eight bytes at a time (SWAR: SIMD within a register), shared by the body and
//! header canonicalisers and the header split.
//!
//! Each test sets the high bit of every byte lane that matches, and only of those: there is
//! no borrow between lanes, so every set bit is a match (the classic `(v - 0x01..) & !v`
//! trick flags lanes above a match too). `trailing_zeros() / 8` is then the first match.

/// `0x01` in every byte lane.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte lane.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `v` equal to `b`.
#[inline(always)]
pub(crate) fn bytes_equal(v: u64, b: u8) -> u64 {
    let x = v ^ (ONES * u64::from(b));
    !(((x & !HIGH).wrapping_add(!HIGH)) | x) & HIGH
}

/// High bit set in each byte of `v` below `n` (`n` at most `0x80`; bytes of `0x80` and more
/// are never below).
#[inline(always)]
pub(crate) fn bytes_below(v: u64, n: u8) -> u64 {
    debug_assert!(n <= 0x80);
    !(((v & !HIGH).wrapping_add(ONES * (0x80 - u64::from(n)))) | v) & HIGH
}

/// Where relaxed canonicalisation (of a body line or a header value) may change something,
/// as a lane mask of the word `v`: any byte below `!` except an SP whose next byte is `!` or
/// above. The next byte of the last lane is not looked at, so an SP there always counts; a
/// caller treats an SP that turns out to be alone (or a control byte that is not whitespace)
/// as nothing to do.
#[inline(always)]
pub(crate) fn relaxed_stops(v: u64) -> u64 {
    let below = bytes_below(v, b'!');
    let sp = bytes_equal(v, b' ');
    (below & !sp) | (sp & ((below >> 8) | (1 << 63)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_tests_are_exact() {
        // Every byte value in every lane, next to neighbours that trip the classic trick.
        for b in 0..=255u8 {
            for lane in 0..8 {
                for fill in [0u8, 1, b' ', b'\n', 0x7f, 0x80, 0xff, b.wrapping_add(1)] {
                    let mut bytes = [fill; 8];
                    bytes[lane] = b;
                    let v = u64::from_le_bytes(bytes);
                    for probe in [b'\n', b' ', b'\t', 0, 0xff] {
                        let want: u64 = (0..8)
                            .filter(|&i| bytes[i] == probe)
                            .map(|i| 0x80 << (8 * i))
                            .sum();
                        assert_eq!(bytes_equal(v, probe), want, "{bytes:?} == {probe}");
                    }
                    for n in [b'!', 0x0b, 0x80, 1] {
                        let want: u64 = (0..8)
                            .filter(|&i| bytes[i] < n)
                            .map(|i| 0x80 << (8 * i))
                            .sum();
                        assert_eq!(bytes_below(v, n), want, "{bytes:?} < {n}");
                    }
                    let want: u64 = (0..8)
                        .filter(|&i| {
                            let next_below = i == 7 || bytes[i + 1] < b'!';
                            bytes[i] < b'!' && (bytes[i] != b' ' || next_below)
                        })
                        .map(|i| 0x80 << (8 * i))
                        .sum();
                    assert_eq!(relaxed_stops(v), want, "{bytes:?} stops");
                }
            }
        }
    }
}
