//! Bit tricks of the coalition tables: a hasher for support masks, software `pext`/`pdep`.

use super::*;

/// A multiplicative hasher for `u64` keys (the supports).
#[derive(Default)]
pub(super) struct MaskHasher(u64);
impl Hasher for MaskHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}
pub(super) type MaskMap = HashMap<u64, u32, BuildHasherDefault<MaskHasher>>;

/// The bits of `x` at the positions of `mask`'s set bits, packed (software `pext`).
#[inline(always)]
pub(super) fn pext(x: u64, mut mask: u64) -> usize {
    let mut r = 0usize;
    let mut i = 0;
    while mask != 0 {
        let low = mask & mask.wrapping_neg();
        r |= ((x & low != 0) as usize) << i;
        i += 1;
        mask ^= low;
    }
    r
}

/// The inverse of [`pext`]: the low bits of `x` spread onto `mask`'s set bits.
#[inline]
pub(super) fn pdep(mut x: u64, mut mask: u64) -> u64 {
    let mut r = 0u64;
    while mask != 0 {
        let low = mask & mask.wrapping_neg();
        if x & 1 != 0 {
            r |= low;
        }
        x >>= 1;
        mask ^= low;
    }
    r
}
