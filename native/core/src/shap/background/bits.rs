//! Bit sets over a block of rows, and the comparisons that fill them.
//!
//! A [`Set`] holds one bit per row of a block of [`BLOCK`] background rows. [`left_set`]
//! packs a node's decision for every row of a block; for the numeric split kinds it runs
//! vector comparisons whose masks are the bits (AVX-512: `VCMPPD`/`VCMPPS` into mask
//! registers; AVX2: compare and `MOVMSKPD`/`MOVMSKPS`), selected by the const parameter
//! `ISA` ([`BASE`], [`AVX2`], [`AVX512`]) of a caller compiled with those features. Every
//! variant decides exactly as [`Tree::goes_left`] (tested in `count`'s tests).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use crate::{SplitKind, Tree};

/// Rows per block (one bit each in a [`Set`]).
pub(crate) const BLOCK: usize = 512;
/// Words of a [`Set`].
pub(crate) const WORDS: usize = BLOCK / 64;
/// One bit per row of a block (bit `j` of word `w`: row `64 w + j`), aligned to a cache
/// line, so that one AVX-512 register holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Set(pub(crate) [u64; WORDS]);

impl Set {
    /// No rows.
    pub(crate) const EMPTY: Set = Set([0; WORDS]);
}

/// `ISA` of portable code.
pub(crate) const BASE: u8 = 0;
/// `ISA` of code compiled with AVX2 and POPCNT.
pub(crate) const AVX2: u8 = 1;
/// `ISA` of code compiled with AVX-512 (F, VL, DQ, BW, VPOPCNTDQ).
pub(crate) const AVX512: u8 = 2;

/// Bits 64·w + j of the result: whether row j of word w of block `b` goes left at `node`.
#[inline(always)]
pub(crate) fn left_set<'a, const ISA: u8>(
    tree: &Tree,
    node: usize,
    column: impl Fn(usize) -> &'a [f64; BLOCK],
) -> Set {
    let n = &tree.nodes[node];
    let xs = column(n.feature as usize);
    let dl = n.default_left;
    match n.kind {
        SplitKind::XgbNumeric => {
            // NaN compares false, then takes the default side
            let t = n.threshold as f32;
            match ISA {
                // SAFETY: the caller is compiled with the features `ISA` names.
                #[cfg(target_arch = "x86_64")]
                AVX512 => unsafe { lt_f32_avx512(xs, t, dl) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                AVX2 => unsafe { lt_f32_avx2(xs, t, dl) },
                _ => pack(xs, |x| ((x as f32) < t) | (x.is_nan() & dl)),
            }
        }
        SplitKind::LgbNumericNan => le_f64::<ISA>(xs, n.threshold, dl),
        // NaN is read as 0.0
        SplitKind::LgbNumericNone => le_f64::<ISA>(xs, n.threshold, 0.0 <= n.threshold),
        _ => pack(xs, |x| tree.goes_left(n, x)),
    }
}

/// Packs `f` of each value into bits, 64 to a word.
#[inline(always)]
fn pack(xs: &[f64; BLOCK], f: impl Fn(f64) -> bool) -> Set {
    let mut s = Set::EMPTY;
    for (w, out) in s.0.iter_mut().enumerate() {
        let mut bits = 0u64;
        for j in 0..64 {
            bits |= (f(xs[w * 64 + j]) as u64) << j;
        }
        *out = bits;
    }
    s
}

/// `!a`.
#[inline(always)]
pub(crate) fn not<const ISA: u8>(a: &Set) -> Set {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { x86::not512(a) },
        _ => Set(std::array::from_fn(|w| !a.0[w])),
    }
}

/// `a & b`.
#[inline(always)]
pub(crate) fn and<const ISA: u8>(a: &Set, b: &Set) -> Set {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { x86::and512(a, b) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        AVX2 => unsafe { x86::and256(a, b) },
        _ => Set(std::array::from_fn(|w| a.0[w] & b.0[w])),
    }
}

/// `a & !b`.
#[inline(always)]
pub(crate) fn and_not<const ISA: u8>(a: &Set, b: &Set) -> Set {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { x86::and_not512(a, b) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        AVX2 => unsafe { x86::and_not256(a, b) },
        _ => Set(std::array::from_fn(|w| a.0[w] & !b.0[w])),
    }
}

/// `a | (b & !c)`.
#[inline(always)]
pub(crate) fn or_and_not<const ISA: u8>(a: &Set, b: &Set, c: &Set) -> Set {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { x86::or_and_not512(a, b, c) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        AVX2 => unsafe { x86::or_and_not256(a, b, c) },
        _ => Set(std::array::from_fn(|w| a.0[w] | (b.0[w] & !c.0[w]))),
    }
}

/// Number of rows in `a`.
#[inline(always)]
pub(crate) fn pop<const ISA: u8>(a: &Set) -> u32 {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { x86::pop512(a) },
        _ => a.0.iter().map(|w| w.count_ones()).sum(),
    }
}

/// The set operations in AVX-512 and AVX2 registers: one set per operation (the
/// portable forms invite the compiler to vectorise across sets instead, with gathers).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Set;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn ld(a: &Set) -> __m512i {
        // SAFETY: a `Set` is 64 bytes, 64-byte aligned.
        unsafe { _mm512_load_si512(a.0.as_ptr().cast()) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn st(v: __m512i) -> Set {
        let mut o = Set::EMPTY;
        // SAFETY: as in `ld`.
        unsafe { _mm512_store_si512(o.0.as_mut_ptr().cast(), v) };
        o
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) unsafe fn not512(a: &Set) -> Set {
        unsafe { st(_mm512_xor_si512(ld(a), _mm512_set1_epi64(-1))) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) unsafe fn and512(a: &Set, b: &Set) -> Set {
        unsafe { st(_mm512_and_si512(ld(a), ld(b))) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) unsafe fn and_not512(a: &Set, b: &Set) -> Set {
        unsafe { st(_mm512_andnot_si512(ld(b), ld(a))) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) unsafe fn or_and_not512(a: &Set, b: &Set, c: &Set) -> Set {
        unsafe { st(_mm512_or_si512(ld(a), _mm512_andnot_si512(ld(c), ld(b)))) }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    #[inline]
    pub(super) unsafe fn pop512(a: &Set) -> u32 {
        unsafe { _mm512_reduce_add_epi64(_mm512_popcnt_epi64(ld(a))) as u32 }
    }

    /// The two 256-bit halves of a set.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn ld2(a: &Set) -> [__m256i; 2] {
        let p: *const __m256i = a.0.as_ptr().cast();
        // SAFETY: a `Set` is 64 bytes, 64-byte aligned.
        unsafe { [_mm256_load_si256(p), _mm256_load_si256(p.add(1))] }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn st2(v: [__m256i; 2]) -> Set {
        let mut o = Set::EMPTY;
        let p: *mut __m256i = o.0.as_mut_ptr().cast();
        // SAFETY: as in `ld2`.
        unsafe {
            _mm256_store_si256(p, v[0]);
            _mm256_store_si256(p.add(1), v[1]);
        }
        o
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn and256(a: &Set, b: &Set) -> Set {
        unsafe {
            let (a, b) = (ld2(a), ld2(b));
            st2([_mm256_and_si256(a[0], b[0]), _mm256_and_si256(a[1], b[1])])
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn and_not256(a: &Set, b: &Set) -> Set {
        unsafe {
            let (a, b) = (ld2(a), ld2(b));
            st2([
                _mm256_andnot_si256(b[0], a[0]),
                _mm256_andnot_si256(b[1], a[1]),
            ])
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn or_and_not256(a: &Set, b: &Set, c: &Set) -> Set {
        unsafe {
            let (a, b, c) = (ld2(a), ld2(b), ld2(c));
            st2([
                _mm256_or_si256(a[0], _mm256_andnot_si256(c[0], b[0])),
                _mm256_or_si256(a[1], _mm256_andnot_si256(c[1], b[1])),
            ])
        }
    }
}

/// Whether each value is `<= t` (NaN: `nan_left`).
#[inline(always)]
fn le_f64<const ISA: u8>(xs: &[f64; BLOCK], t: f64, nan_left: bool) -> Set {
    match ISA {
        // SAFETY: the caller is compiled with the features `ISA` names.
        #[cfg(target_arch = "x86_64")]
        AVX512 => unsafe { le_f64_avx512(xs, t, nan_left) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        AVX2 => unsafe { le_f64_avx2(xs, t, nan_left) },
        _ => pack(xs, |x| (x <= t) | (x.is_nan() & nan_left)),
    }
}

/// Bit `j` set when `(x[j] as f32) < t`, NaN to `nan_left`, for the 8 values at `x`, with
/// AVX-512: the conversion rounds to nearest like `as`, the comparison's mask register is
/// the bits.
///
/// # Safety
/// `x` must point to 8 readable values; the CPU must have the enabled features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
#[inline]
pub(crate) unsafe fn lt_f32_x8(x: *const f64, t: f32, nan_left: bool) -> u8 {
    let x = _mm512_loadu_pd(x);
    let lt = _mm256_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_cvtpd_ps(x), _mm256_set1_ps(t));
    let nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x);
    lt | (nan & if nan_left { 0xff } else { 0 })
}

/// Bit `j` set when `x[j] <= t`, NaN to `nan_left`, for the 8 values at `x`, with AVX-512.
///
/// # Safety
/// As [`lt_f32_x8`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
#[inline]
pub(crate) unsafe fn le_f64_x8(x: *const f64, t: f64, nan_left: bool) -> u8 {
    let x = _mm512_loadu_pd(x);
    let le = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(x, _mm512_set1_pd(t));
    let nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x);
    le | (nan & if nan_left { 0xff } else { 0 })
}

/// Bit `j` set when `(x[j] as f32) < t`, NaN to `nan_left`, for the 4 values at `x`, with
/// AVX2 (compare, then `MOVMSKPS`).
///
/// # Safety
/// `x` must point to 4 readable values; the CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn lt_f32_x4(x: *const f64, t: f32, nan_left: bool) -> u8 {
    let x = _mm256_loadu_pd(x);
    let lt = _mm_movemask_ps(_mm_cmp_ps::<_CMP_LT_OQ>(_mm256_cvtpd_ps(x), _mm_set1_ps(t)));
    let nan = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(x, x));
    (lt | (nan & if nan_left { 0xf } else { 0 })) as u8
}

/// Bit `j` set when `x[j] <= t`, NaN to `nan_left`, for the 4 values at `x`, with AVX2.
///
/// # Safety
/// As [`lt_f32_x4`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn le_f64_x4(x: *const f64, t: f64, nan_left: bool) -> u8 {
    let x = _mm256_loadu_pd(x);
    let le = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LE_OQ>(x, _mm256_set1_pd(t)));
    let nan = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(x, x));
    (le | (nan & if nan_left { 0xf } else { 0 })) as u8
}

/// A [`Set`] from `G` values at a time: `f(p)` gives the bits of the `G` values at `p`.
#[inline(always)]
fn pack_by<const G: usize>(xs: &[f64; BLOCK], f: impl Fn(*const f64) -> u8) -> Set {
    let mut s = Set::EMPTY;
    for (w, out) in s.0.iter_mut().enumerate() {
        let mut bits = 0u64;
        for g in 0..64 / G {
            bits |= (f(xs[w * 64 + g * G..].as_ptr()) as u64) << (g * G);
        }
        *out = bits;
    }
    s
}

/// [`pack`] of `(x as f32) < t`, NaN to `nan_left`, with AVX-512 ([`lt_f32_x8`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
#[inline]
unsafe fn lt_f32_avx512(xs: &[f64; BLOCK], t: f32, nan_left: bool) -> Set {
    // SAFETY: `pack_by` passes pointers to 8 values inside `xs`.
    pack_by::<8>(xs, |p| unsafe { lt_f32_x8(p, t, nan_left) })
}

/// [`lt_f32_avx512`] with AVX2 ([`lt_f32_x4`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn lt_f32_avx2(xs: &[f64; BLOCK], t: f32, nan_left: bool) -> Set {
    // SAFETY: `pack_by` passes pointers to 4 values inside `xs`.
    pack_by::<4>(xs, |p| unsafe { lt_f32_x4(p, t, nan_left) })
}

/// [`pack`] of `x <= t`, NaN to `nan_left`, with AVX-512 ([`le_f64_x8`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
#[inline]
unsafe fn le_f64_avx512(xs: &[f64; BLOCK], t: f64, nan_left: bool) -> Set {
    // SAFETY: `pack_by` passes pointers to 8 values inside `xs`.
    pack_by::<8>(xs, |p| unsafe { le_f64_x8(p, t, nan_left) })
}

/// [`le_f64_avx512`] with AVX2 ([`le_f64_x4`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn le_f64_avx2(xs: &[f64; BLOCK], t: f64, nan_left: bool) -> Set {
    // SAFETY: `pack_by` passes pointers to 4 values inside `xs`.
    pack_by::<4>(xs, |p| unsafe { le_f64_x4(p, t, nan_left) })
}
