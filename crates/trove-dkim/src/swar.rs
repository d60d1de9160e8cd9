//! Byte tests many bytes at a time, for the body and header canonicalisers and the `b=`
//! decoder: [`Lanes64`] gives a bit mask per 64 bytes (SSE2 compares on x86_64, through
//! `safe_arch`, which keeps this crate free of `unsafe`), built elsewhere from the word tests
//! below (SWAR: SIMD within a register).
//!
//! Each word test sets the high bit of every byte lane that matches, and only of those: there
//! is no borrow between lanes, so every set bit is a match (the classic `(v - 0x01..) & !v`
//! trick flags lanes above a match too).

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

/// Sixty-four bytes whose lanes are compared with one byte value at a time, each comparison
/// giving a 64-bit mask (bit `i` for byte `i`). On x86_64 this is SSE2 (part of every x86_64
/// CPU) through `safe_arch`: four loads, then four compares and four `pmovmskb` per value,
/// about half an instruction per byte, where the word tests above take about one and a half
/// and `memchr` a call per search. Elsewhere it is eight words of the tests above.
#[derive(Clone, Copy)]
pub(crate) struct Lanes64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    v: [safe_arch::m128i; 4],
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    v: [u64; 8],
}

impl Lanes64 {
    /// The lanes of `bytes`.
    #[inline(always)]
    pub(crate) fn new(bytes: &[u8; 64]) -> Lanes64 {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        let v = {
            let (quarters, _) = bytes.as_chunks::<16>();
            [0, 1, 2, 3].map(|i| safe_arch::m128i::from(quarters[i]))
        };
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        let v = words64(bytes);
        Lanes64 { v }
    }

    /// Bit `i` set where byte `i` equals `b`.
    #[inline(always)]
    pub(crate) fn eq(self, b: u8) -> u64 {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            use safe_arch::{cmp_eq_mask_i8_m128i, move_mask_i8_m128i, set_splat_i8_m128i};
            let splat = set_splat_i8_m128i(i8::from_ne_bytes([b]));
            let mut mask = 0u64;
            for (i, v) in self.v.into_iter().enumerate() {
                // 16 bits per quarter; the mask is never negative.
                #[allow(clippy::cast_sign_loss)]
                let quarter = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, splat)) as u64;
                mask |= quarter << (16 * i);
            }
            mask
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        eq64_words(self.v, b)
    }

    /// Bit `i` set where byte `i` is at most `b` (unsigned; `b` below `0x80`).
    #[inline(always)]
    pub(crate) fn at_most(self, b: u8) -> u64 {
        debug_assert!(b < 0x80);
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            use safe_arch::set_splat_i8_m128i;
            use safe_arch::{cmp_eq_mask_i8_m128i, max_u8_m128i, move_mask_i8_m128i};
            // x <= b exactly when max(x, b) == b.
            let splat = set_splat_i8_m128i(i8::from_ne_bytes([b]));
            let mut mask = 0u64;
            for (i, v) in self.v.into_iter().enumerate() {
                let le = cmp_eq_mask_i8_m128i(max_u8_m128i(v, splat), splat);
                #[allow(clippy::cast_sign_loss)]
                let quarter = move_mask_i8_m128i(le) as u64;
                mask |= quarter << (16 * i);
            }
            mask
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        at_most64_words(self.v, b)
    }

    /// [`relaxed_stops`] for 64 bytes: bit `i` set where relaxed header canonicalisation may
    /// change something at byte `i` (any byte below `!` except an SP whose next byte is `!`
    /// or above; an SP in the last lane always counts).
    #[inline(always)]
    pub(crate) fn relaxed_header_stops(self) -> u64 {
        let below = self.at_most(b' ');
        let sp = self.eq(b' ');
        (below & !sp) | (sp & ((below >> 1) | (1 << 63)))
    }

    /// Bit `i` set where relaxed body canonicalisation may change something at byte `i`: an
    /// LF, an HTAB, or an SP whose next byte is below `!` (an SP in the last lane always
    /// counts; the caller looks at the next byte).
    #[inline(always)]
    pub(crate) fn relaxed_body_stops(self) -> u64 {
        let below = self.at_most(b' ');
        let sp = self.eq(b' ');
        self.eq(b'\n') | self.eq(b'\t') | (sp & ((below >> 1) | (1 << 63)))
    }
}

/// The eight little-endian words of sixty-four bytes (the portable form of [`Lanes64`]).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn words64(bytes: &[u8; 64]) -> [u64; 8] {
    let (words, _) = bytes.as_chunks::<8>();
    [0, 1, 2, 3, 4, 5, 6, 7].map(|i| u64::from_le_bytes(words[i]))
}

/// [`Lanes64::at_most`] on eight words.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn at_most64_words(v: [u64; 8], b: u8) -> u64 {
    v.iter().enumerate().fold(0, |mask, (i, &w)| {
        mask | (gather(bytes_below(w, b + 1)) << (8 * i))
    })
}

/// The high bit of each lane of a lane mask, gathered into one bit per lane (lane `i` to
/// bit `i`): moved to bit 0 of each byte, then into the top byte by a multiply (each lane
/// lands on its own bit: no carries).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn gather(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// [`Lanes64::eq`] on eight words: the high bit of each matching lane, gathered into one bit
/// per lane.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn eq64_words(v: [u64; 8], b: u8) -> u64 {
    v.iter().enumerate().fold(0, |mask, (i, &w)| {
        mask | (gather(bytes_equal(w, b)) << (8 * i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_lane_masks_are_exact() {
        // Every byte value in every lane, next to neighbours that trip borrows; the portable
        // form is checked too (it is what other architectures run).
        for b in 0..=255u8 {
            for lane in 0..64 {
                for fill in [0u8, b'\n', b' ', b':', 0x7f, 0x80, 0xff, b.wrapping_add(1)] {
                    let mut bytes = [fill; 64];
                    bytes[lane] = b;
                    for probe in [b'\n', b':', 0, 0xff, b] {
                        let want: u64 =
                            (0..64).filter(|&i| bytes[i] == probe).map(|i| 1 << i).sum();
                        assert_eq!(Lanes64::new(&bytes).eq(probe), want, "{bytes:?} == {probe}");
                        assert_eq!(eq64_words(words64(&bytes), probe), want, "portable");
                    }
                    for n in [b' ', 0, 0x7f, b.min(0x7f)] {
                        let want: u64 = (0..64).filter(|&i| bytes[i] <= n).map(|i| 1 << i).sum();
                        assert_eq!(Lanes64::new(&bytes).at_most(n), want, "{bytes:?} <= {n}");
                        assert_eq!(at_most64_words(words64(&bytes), n), want, "portable");
                    }
                    let want: u64 = (0..64)
                        .filter(|&i| {
                            let next_below = i == 63 || bytes[i + 1] < b'!';
                            matches!(bytes[i], b'\n' | b'\t') || (bytes[i] == b' ' && next_below)
                        })
                        .map(|i| 1 << i)
                        .sum();
                    assert_eq!(Lanes64::new(&bytes).relaxed_body_stops(), want, "{bytes:?}");
                    let want: u64 = (0..64)
                        .filter(|&i| {
                            let next_below = i == 63 || bytes[i + 1] < b'!';
                            bytes[i] < b'!' && (bytes[i] != b' ' || next_below)
                        })
                        .map(|i| 1 << i)
                        .sum();
                    assert_eq!(
                        Lanes64::new(&bytes).relaxed_header_stops(),
                        want,
                        "{bytes:?}"
                    );
                }
            }
        }
    }

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
                }
            }
        }
    }
}
