//! Element-wise math on instant vectors: `abs`, `ceil`, …, trigonometry, `clamp*`, `round`,
//! `sgn`, `deg`, `rad`, `pi` (2.42's `simpleFunc` family). All drop `__name__`.
//!
//! Go's `math` package (pure-Go on amd64 for the trigonometric and hyperbolic functions,
//! `Log2`, `Log10`) does not always round like the platform libm, so those are reimplemented
//! after Go 1.19's algorithms, operation by operation, as are `math.Log` (FreeBSD's algorithm,
//! which Go's amd64 assembly follows), `math.Log1p` and `math.Exp` (Go's amd64 assembly, whose
//! FMA path is taken on CPUs with AVX2 and FMA, as Go's runtime does). Checked bit for bit
//! against Prometheus 2.42 (Go 1.19.8, amd64).

// The constants are Go's, digit for digit.
#![allow(clippy::excessive_precision)]

use std::f64::consts::{FRAC_2_PI, FRAC_PI_2, FRAC_PI_4, LN_2, LOG2_E, LOG10_E, PI};

use super::{FunctionArgs, go_max, go_min, single};
use crate::error::Result;
use crate::gomath::{frexp, go_atan, go_exp, go_log, satan};
use crate::name_drop::dropping_names;
use crate::value::{Sample, Vector};

/// 2.42's `simpleFunc`: applies `f` to every sample, dropping `__name__`.
fn simple(name: &str, args: &FunctionArgs<'_>, f: impl Fn(f64) -> f64) -> Result<Vector> {
    let vec = args.vector(name, 0)?;
    Ok(dropping_names(|names| {
        vec.iter()
            .enumerate()
            .map(|(i, s)| Sample { labels: names.drop(i, &s.labels), t: args.step_time, v: f(s.v) })
            .collect()
    }))
}

macro_rules! simple_fns {
    ($($(#[$doc:meta])* $name:ident => $f:expr;)*) => {
        $(
            $(#[$doc])*
            pub(super) fn $name(args: &FunctionArgs<'_>) -> Result<Vector> {
                simple(stringify!($name), args, $f)
            }
        )*
    };
}

simple_fns! {
    /// `abs(v)`.
    abs => f64::abs;
    /// `ceil(v)`.
    ceil => f64::ceil;
    /// `floor(v)`.
    floor => f64::floor;
    /// `exp(v)`, as Go's amd64 `math.Exp`.
    exp => go_exp;
    /// `sqrt(v)`.
    sqrt => f64::sqrt;
    /// `ln(v)`, as Go's `math.Log`.
    ln => go_log;
    /// `log2(v)`, as Go's `math.Log2`.
    log2 => go_log2;
    /// `log10(v)`, as Go's `math.Log10`: `Log(x) * (1/Ln10)`.
    log10 => |v: f64| go_log(v) * LOG10_E;
    /// `sin(v)`.
    sin => go_sin;
    /// `cos(v)`.
    cos => go_cos;
    /// `tan(v)`.
    tan => go_tan;
    /// `asin(v)`.
    asin => go_asin;
    /// `acos(v)`: Go's `Pi/2 - Asin(x)`.
    acos => |v: f64| FRAC_PI_2 - go_asin(v);
    /// `atan(v)`.
    atan => go_atan;
    /// `sinh(v)`.
    sinh => go_sinh;
    /// `cosh(v)`.
    cosh => go_cosh;
    /// `tanh(v)`.
    tanh => go_tanh;
    /// `asinh(v)`.
    asinh => go_asinh;
    /// `acosh(v)`.
    acosh => go_acosh;
    /// `atanh(v)`.
    atanh => go_atanh;
    /// `rad(v)`: `v * Pi / 180`.
    rad => |v: f64| v * PI / 180.0;
    /// `deg(v)`: `v * 180 / Pi`.
    deg => |v: f64| v * 180.0 / PI;
    /// `sgn(v)`: -1, 1, or the value itself for zeros and NaN.
    sgn => |v: f64| if v < 0.0 { -1.0 } else if v > 0.0 { 1.0 } else { v };
}

/// `pi()`.
pub(super) fn pi(args: &FunctionArgs<'_>) -> Result<Vector> {
    Ok(single(args.step_time, PI))
}

/// `clamp(v, min, max)`: empty when `max < min`; NaN bounds give NaN (Go's `math.Max/Min`).
pub(super) fn clamp(args: &FunctionArgs<'_>) -> Result<Vector> {
    let min = args.scalar("clamp", 1)?;
    let max = args.scalar("clamp", 2)?;
    if max < min {
        return Ok(Vec::new());
    }
    simple("clamp", args, |v| go_max(min, go_min(max, v)))
}

/// `clamp_max(v, max)`.
pub(super) fn clamp_max(args: &FunctionArgs<'_>) -> Result<Vector> {
    let max = args.scalar("clamp_max", 1)?;
    simple("clamp_max", args, |v| go_min(max, v))
}

/// `clamp_min(v, min)`.
pub(super) fn clamp_min(args: &FunctionArgs<'_>) -> Result<Vector> {
    let min = args.scalar("clamp_min", 1)?;
    simple("clamp_min", args, |v| go_max(min, v))
}

/// `round(v, to_nearest=1)`: `floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)`; ties round up.
pub(super) fn round(args: &FunctionArgs<'_>) -> Result<Vector> {
    let to_nearest = if args.values.len() >= 2 { args.scalar("round", 1)? } else { 1.0 };
    let inverse = 1.0 / to_nearest;
    simple("round", args, |v| (v * inverse + 0.5).floor() / inverse)
}

// ---------------------------------------------------------------------------------------------
// Go 1.19 `math` reimplementations.

/// Go's `math.Log2`: exact for powers of two, else `Log(frac)*(1/Ln2) + exp`.
fn go_log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    go_log(frac) * LOG2_E + exp as f64
}

// Pi/4 split into three parts, for Cody-Waite reduction.
const PI4A: f64 = 7.853_981_256_484_985_351_56e-1;
const PI4B: f64 = 3.774_894_707_930_798_176_68e-8;
const PI4C: f64 = 2.695_151_429_079_059_526_45e-15;
/// Go's `reduceThreshold`: from here on, Payne-Hanek reduction.
const REDUCE_THRESHOLD: f64 = (1u64 << 29) as f64;

const SIN: [f64; 6] = [
    1.589_623_015_765_465_680_60e-10,
    -2.505_074_776_285_780_728_66e-8,
    2.755_731_362_138_572_452_13e-6,
    -1.984_126_982_958_953_859_96e-4,
    8.333_333_333_322_118_588_78e-3,
    -1.666_666_666_666_663_072_95e-1,
];
const COS: [f64; 6] = [
    -1.135_853_652_138_768_173_00e-11,
    2.087_570_084_197_473_167_78e-9,
    -2.755_731_417_929_673_881_12e-7,
    2.480_158_728_885_170_453_48e-5,
    -1.388_888_888_887_305_641_16e-3,
    4.166_666_666_666_659_292_18e-2,
];

/// Go's `math.Log1p` (FreeBSD's `s_log1p.c`).
fn go_log1p(x: f64) -> f64 {
    const SQRT2M1: f64 = 4.142_135_623_730_950_488_017e-1;
    const SQRT2HALFM1: f64 = -2.928_932_188_134_524_755_992e-1;
    const SMALL: f64 = 1.0 / (1u64 << 29) as f64;
    const TINY: f64 = 1.0 / (1u64 << 54) as f64;
    const TWO53: f64 = (1u64 << 53) as f64;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LP: [f64; 7] = [
        6.666_666_666_666_735_130e-1,
        3.999_999_999_940_941_908e-1,
        2.857_142_874_366_239_149e-1,
        2.222_219_843_214_978_396e-1,
        1.818_357_216_161_805_012e-1,
        1.531_383_769_920_937_332e-1,
        1.479_819_860_511_658_591e-1,
    ];
    if x < -1.0 || x.is_nan() {
        return f64::NAN;
    }
    if x == -1.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    let absx = x.abs();
    let mut f = 0.0f64;
    let mut iu: u64 = 0;
    let mut k: i64 = 1;
    if absx < SQRT2M1 {
        if absx < SMALL {
            if absx < TINY {
                return x;
            }
            return x - x * x * 0.5;
        }
        if x > SQRT2HALFM1 {
            k = 0;
            f = x;
            iu = 1;
        }
    }
    let mut c = 0.0f64;
    if k != 0 {
        let mut u;
        if absx < TWO53 {
            u = 1.0 + x;
            iu = u.to_bits();
            k = (iu >> 52) as i64 - 1023;
            c = if k > 0 { 1.0 - (u - x) } else { x - (u - 1.0) };
            c /= u;
        } else {
            u = x;
            iu = u.to_bits();
            k = (iu >> 52) as i64 - 1023;
            c = 0.0;
        }
        iu &= 0x000f_ffff_ffff_ffff;
        if iu < 0x0006_a09e_667f_3bcd {
            u = f64::from_bits(iu | 0x3ff0_0000_0000_0000);
        } else {
            k += 1;
            u = f64::from_bits(iu | 0x3fe0_0000_0000_0000);
            iu = (0x0010_0000_0000_0000 - iu) >> 2;
        }
        f = u - 1.0;
    }
    let hfsq = 0.5 * f * f;
    let kf = k as f64;
    if iu == 0 {
        if f == 0.0 {
            if k == 0 {
                return 0.0;
            }
            c += kf * LN2_LO;
            return kf * LN2_HI + c;
        }
        let r = hfsq * (1.0 - 0.666_666_666_666_666_66 * f);
        if k == 0 {
            return f - r;
        }
        return kf * LN2_HI - ((r - (kf * LN2_LO + c)) - f);
    }
    let s = f / (2.0 + f);
    let z = s * s;
    let r = z * (LP[0] + z * (LP[1] + z * (LP[2] + z * (LP[3] + z * (LP[4] + z * (LP[5] + z * LP[6]))))));
    if k == 0 {
        return f - (hfsq - s * (hfsq + r));
    }
    kf * LN2_HI - ((hfsq - (s * (hfsq + r) + (kf * LN2_LO + c))) - f)
}

/// Go's `mPi4`: the binary digits of 4/pi.
const M_PI4: [u64; 20] = [
    0x0000_0000_0000_0001,
    0x45f3_06dc_9c88_2a53,
    0xf84e_afa3_ea69_bb81,
    0xb6c5_2b32_7887_2083,
    0xfca2_c757_bd77_8ac3,
    0x6e48_dc74_849b_a5c0,
    0x0c92_5dd4_13a3_2439,
    0xfc3b_d639_6253_4e7d,
    0xd104_6bea_5d76_8909,
    0xd338_e04d_68be_fc82,
    0x7323_ac73_06a6_73e9,
    0x3908_bf17_7bf2_5076,
    0x3ff1_2fff_bc0b_301f,
    0xde5e_2316_b414_da3e,
    0xda6c_fd9e_4f96_136e,
    0x9e8c_7ecd_3cbf_d45a,
    0xea4f_758f_d7cb_e2f6,
    0x7a0e_73ef_14a5_25d4,
    0xd7f6_bf62_3f1a_ba10,
    0xac06_608d_f8f6_d757,
];

/// Go's `trigReduce`: Payne-Hanek reduction by Pi/4 for large positive `x`; returns the octant
/// (mod 8, zeros mapped to the origin) and the reduced argument.
fn trig_reduce(x: f64) -> (u64, f64) {
    if x < FRAC_PI_4 {
        return (0, x);
    }
    let shr = |v: u64, n: u32| v.checked_shr(n).unwrap_or(0);
    let mut ix = x.to_bits();
    let exp = ((ix >> 52) & 0x7ff) as i64 - 1023 - 52;
    ix &= !(0x7ffu64 << 52);
    ix |= 1 << 52;
    let digit = ((exp + 61) / 64) as usize;
    let bitshift = ((exp + 61) % 64) as u32;
    let z0 = (M_PI4[digit] << bitshift) | shr(M_PI4[digit + 1], 64 - bitshift);
    let z1 = (M_PI4[digit + 1] << bitshift) | shr(M_PI4[digit + 2], 64 - bitshift);
    let z2 = (M_PI4[digit + 2] << bitshift) | shr(M_PI4[digit + 3], 64 - bitshift);
    let z2hi = ((u128::from(z2) * u128::from(ix)) >> 64) as u64;
    let z1full = u128::from(z1) * u128::from(ix);
    let (z1hi, z1lo) = ((z1full >> 64) as u64, z1full as u64);
    let z0lo = z0.wrapping_mul(ix);
    let (lo, carry) = z1lo.overflowing_add(z2hi);
    let hi = z0lo.wrapping_add(z1hi).wrapping_add(u64::from(carry));
    let mut j = hi >> 61;
    let hi = (hi << 3) | (lo >> 61);
    let lz = hi.leading_zeros();
    let e = (1023 - (u64::from(lz) + 1)) & 0x7ff;
    let mut hi = shl(hi, lz + 1) | shr(lo, 64 - (lz + 1));
    hi >>= 64 - 52;
    hi |= e << 52;
    let mut z = f64::from_bits(hi);
    if j & 1 == 1 {
        j += 1;
        j &= 7;
        z -= 1.0;
    }
    (j, z * FRAC_PI_4)
}

/// `v << n` with Go's semantics (0 for shifts of 64 or more).
fn shl(v: u64, n: u32) -> u64 {
    v.checked_shl(n).unwrap_or(0)
}

/// Octant and reduced argument for non-negative `x < REDUCE_THRESHOLD` (Go's inline reduction).
fn reduce(x: f64) -> (u64, f64) {
    let mut j = (x * (FRAC_2_PI * 2.0)) as u64;
    let mut y = j as f64;
    if j & 1 == 1 {
        j += 1;
        y += 1.0;
    }
    let z = ((x - y * PI4A) - y * PI4B) - y * PI4C;
    (j, z)
}

fn sin_poly(z: f64, zz: f64) -> f64 {
    z + z * zz * (((((SIN[0] * zz + SIN[1]) * zz + SIN[2]) * zz + SIN[3]) * zz + SIN[4]) * zz + SIN[5])
}

fn cos_poly(zz: f64) -> f64 {
    1.0 - 0.5 * zz
        + zz * zz * (((((COS[0] * zz + COS[1]) * zz + COS[2]) * zz + COS[3]) * zz + COS[4]) * zz + COS[5])
}

fn go_sin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    let (j, z) = if x >= REDUCE_THRESHOLD { trig_reduce(x) } else { reduce(x) };
    let mut j = j & 7;
    if j > 3 {
        sign = !sign;
        j -= 4;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 { cos_poly(zz) } else { sin_poly(z, zz) };
    if sign { -y } else { y }
}

fn go_cos(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        return f64::NAN;
    }
    let x = x.abs();
    let (j, z) = if x >= REDUCE_THRESHOLD { trig_reduce(x) } else { reduce(x) };
    let mut j = j & 7;
    let mut sign = false;
    if j > 3 {
        j -= 4;
        sign = !sign;
    }
    if j > 1 {
        sign = !sign;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 { sin_poly(z, zz) } else { cos_poly(zz) };
    if sign { -y } else { y }
}

fn go_tan(x: f64) -> f64 {
    const P: [f64; 3] =
        [-1.309_369_391_813_837_776_46e4, 1.153_516_648_385_874_161_40e6, -1.795_652_519_764_848_779_88e7];
    const Q: [f64; 5] = [
        1.0,
        1.368_129_634_706_929_546_78e4,
        -1.320_892_344_402_109_674_47e6,
        2.500_838_018_233_579_158_39e7,
        -5.386_957_559_294_546_298_81e7,
    ];
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    let (j, z) = if x >= REDUCE_THRESHOLD { trig_reduce(x) } else { reduce(x) };
    let zz = z * z;
    let mut y = if zz > 1e-14 {
        z + z
            * (zz * ((P[0] * zz + P[1]) * zz + P[2]) / ((((zz + Q[1]) * zz + Q[2]) * zz + Q[3]) * zz + Q[4]))
    } else {
        z
    };
    if j & 2 == 2 {
        y = -1.0 / y;
    }
    if sign {
        y = -y;
    }
    y
}

fn go_asin(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    if x > 1.0 {
        return f64::NAN;
    }
    let mut temp = (1.0 - x * x).sqrt();
    temp = if x > 0.7 { FRAC_PI_2 - satan(temp / x) } else { satan(x / temp) };
    if sign { -temp } else { temp }
}

fn go_sinh(x: f64) -> f64 {
    const P0: f64 = -0.630_767_364_049_771_699_118_478_725_1e6;
    const P1: f64 = -0.899_127_202_203_950_935_539_801_351_1e5;
    const P2: f64 = -0.289_421_135_598_956_380_728_466_036_6e4;
    const P3: f64 = -0.263_056_321_339_749_706_281_948_9e2;
    const Q0: f64 = -0.630_767_364_049_771_699_121_207_727_7e6;
    const Q1: f64 = 0.152_151_737_879_001_907_069_648_517_6e5;
    const Q2: f64 = -0.173_678_953_558_233_699_533_450_911e3;
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    let temp = if x > 21.0 {
        go_exp(x) * 0.5
    } else if x > 0.5 {
        {
            let ex = go_exp(x);
            (ex - 1.0 / ex) * 0.5
        }
    } else {
        let sq = x * x;
        let t = (((P3 * sq + P2) * sq + P1) * sq + P0) * x;
        t / (((sq + Q2) * sq + Q1) * sq + Q0)
    };
    if sign { -temp } else { temp }
}

fn go_cosh(x: f64) -> f64 {
    let x = x.abs();
    if x > 21.0 {
        return go_exp(x) * 0.5;
    }
    let ex = go_exp(x);
    (ex + 1.0 / ex) * 0.5
}

fn go_tanh(x: f64) -> f64 {
    const P: [f64; 3] =
        [-9.643_991_794_250_522_386_28e-1, -9.928_772_310_019_185_865_64e1, -1.614_687_684_417_084_479_52e3];
    const Q: [f64; 3] =
        [1.128_116_784_916_329_314_02e2, 2.235_488_390_601_004_485_83e3, 4.844_063_053_251_254_860_48e3];
    const MAXLOG: f64 = 8.802_969_193_111_305_429_598_8e1;
    let z = x.abs();
    if z > 0.5 * MAXLOG {
        return if x < 0.0 { -1.0 } else { 1.0 };
    }
    if z >= 0.625 {
        let s = go_exp(2.0 * z);
        let z = 1.0 - 2.0 / (s + 1.0);
        return if x < 0.0 { -z } else { z };
    }
    if x == 0.0 {
        return x;
    }
    let s = x * x;
    x + x * s * ((P[0] * s + P[1]) * s + P[2]) / (((s + Q[0]) * s + Q[1]) * s + Q[2])
}

const NEAR_ZERO: f64 = 1.0 / (1u64 << 28) as f64;
const LARGE: f64 = (1u64 << 28) as f64;

fn go_asinh(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        return x;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    let temp = if x > LARGE {
        go_log(x) + LN_2
    } else if x > 2.0 {
        go_log(2.0 * x + 1.0 / ((x * x + 1.0).sqrt() + x))
    } else if x < NEAR_ZERO {
        x
    } else {
        go_log1p(x + x * x / (1.0 + (1.0 + x * x).sqrt()))
    };
    if sign { -temp } else { temp }
}

fn go_acosh(x: f64) -> f64 {
    if x < 1.0 || x.is_nan() {
        return f64::NAN;
    }
    if x == 1.0 {
        return 0.0;
    }
    if x >= LARGE {
        return go_log(x) + LN_2;
    }
    if x > 2.0 {
        return go_log(2.0 * x - 1.0 / (x + (x * x - 1.0).sqrt()));
    }
    let t = x - 1.0;
    go_log1p(t + (2.0 * t + t * t).sqrt())
}

fn go_atanh(x: f64) -> f64 {
    if !(-1.0..=1.0).contains(&x) {
        return f64::NAN; // also NaN
    }
    if x == 1.0 {
        return f64::INFINITY;
    }
    if x == -1.0 {
        return f64::NEG_INFINITY;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    let temp = if x < NEAR_ZERO {
        x
    } else if x < 0.5 {
        let t = x + x;
        0.5 * go_log1p(t + t * x / (1.0 - x))
    } else {
        0.5 * go_log1p((x + x) / (1.0 - x))
    };
    if sign { -temp } else { temp }
}

#[cfg(test)]
#[allow(clippy::approx_constant)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn apply(name: &str, v: f64) -> f64 {
        let input = vec![sample(&[("__name__", "m"), ("l", "x")], v)];
        let out = call(name, &[arg_vec(&input)], 10_000).expect("call");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].labels, labels(&[("l", "x")]), "{name} drops __name__");
        assert_eq!(out[0].t, 10_000);
        out[0].v
    }

    #[test]
    fn trig_like_go() {
        // Expectations from 2.42's trig_functions.test (approximate there: sinh(10) is listed
        // as cosh(10)).
        assert_close(apply("sin", 10.0), -0.5440211108893699);
        assert_close(apply("sin", 20.0), 0.9129452507276277);
        assert_close(apply("cos", 10.0), -0.8390715290764524);
        assert_close(apply("cos", 20.0), 0.40808206181339196);
        assert_close(apply("tan", 10.0), 0.6483608274590867);
        assert_close(apply("tan", 20.0), 2.2371609442247427);
        assert_close(apply("asin", 10.0 - 10.1), -0.10016742116155944);
        assert_close(apply("acos", 10.0 - 10.1), 1.670963747956456);
        assert_close(apply("atan", 10.0), 1.4711276743037345);
        assert_close(apply("atan", 20.0), 1.5208379310729538);
        assert_close(apply("sinh", 10.0), 11013.232874703393);
        assert_close(apply("sinh", 20.0), 2.4258259770489514e+08);
        assert_close(apply("cosh", 10.0), 11013.232920103324);
        assert_close(apply("tanh", 10.0), 0.9999999958776927);
        assert_close(apply("tanh", 20.0), 1.0);
        assert_close(apply("asinh", 10.0), 2.99822295029797);
        assert_close(apply("asinh", 20.0), 3.6895038689889055);
        assert_close(apply("acosh", 10.0), 2.993222846126381);
        assert_close(apply("acosh", 20.0), 3.6882538673612966);
        assert_close(apply("atanh", 10.0 - 10.1), -0.10033534773107522);
        assert_close(apply("rad", 10.0), 0.17453292519943295);
        assert_close(apply("deg", 10.0), 572.9577951308232);
        assert_close(apply("deg", 20.0), 1145.9155902616465);
        for f in ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh"] {
            assert!(apply(f, f64::NAN).is_nan(), "{f}(NaN)");
        }
        assert!(apply("asin", 1.5).is_nan());
        assert!(apply("atanh", 1.5).is_nan());
        assert!(apply("acosh", 0.5).is_nan());
        assert!(apply("sin", f64::INFINITY).is_nan());
    }

    #[test]
    fn exp_and_logs() {
        assert_eq!(apply("exp", 10.0), 22026.465794806718);
        assert_eq!(apply("exp", 20.0), 485165195.4097903);
        assert_eq!(apply("exp", -10.0), 4.5399929762484854e-05);
        assert_eq!(apply("ln", 10.0), 2.302585092994046);
        assert_eq!(apply("ln", 0.0), f64::NEG_INFINITY);
        assert!(apply("ln", -10.0).is_nan());
        assert_eq!(apply("sqrt", 10.0), 3.1622776601683795);
        assert_close(apply("log2", 10.0), 3.3219280948873626);
        // Go: Log(0.625) * (1/Ln2) + 4.
        assert_eq!(apply("log2", 10.0), go_log(0.625) * LOG2_E + 4.0);
        assert_close(apply("log2", 20.0), 4.321928094887363);
        assert_eq!(apply("log2", 8.0), 3.0);
        assert_eq!(apply("log2", 0.0), f64::NEG_INFINITY);
        assert!(apply("log2", -10.0).is_nan());
        assert_eq!(apply("log10", 10.0), 1.0);
        assert_close(apply("log10", 20.0), 1.301029995663981);
        // Go's Log10 is Log(x) * (1/Ln10) with 1/Ln10 rounded once.
        assert_eq!(apply("log10", 1000.0), 3.0);
        assert_eq!(apply("log10", 1e-5), go_log(1e-5) * LOG10_E);
        assert_eq!(apply("log10", 0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn frexp_like_go() {
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
    }

    #[test]
    fn sgn_abs_round() {
        assert_eq!(apply("sgn", f64::NEG_INFINITY), -1.0);
        assert_eq!(apply("sgn", 100.0), 1.0);
        assert_eq!(apply("sgn", 0.0), 0.0);
        assert!(apply("sgn", f64::NAN).is_nan());
        assert_eq!(apply("abs", -2.5), 2.5);
        assert_eq!(apply("ceil", 2.1), 3.0);
        assert_eq!(apply("floor", -2.1), -3.0);
        assert_eq!(apply("round", 2.5), 3.0);
        assert_eq!(apply("round", -2.5), -2.0);
        let input = vec![sample(&[("l", "x")], 12.345)];
        let out = call("round", &[arg_vec(&input), Scalar(0.1)], 0).expect("round");
        assert_eq!(out[0].v, (12.345f64 * 10.0 + 0.5).floor() / 10.0);
        let out = call("round", &[arg_vec(&input), Scalar(5.0)], 0).expect("round");
        assert_eq!(out[0].v, 10.0);
    }

    #[test]
    fn clamps() {
        let input = vec![
            sample(&[("__name__", "m"), ("src", "a")], -50.0),
            sample(&[("src", "b")], 0.0),
            sample(&[("src", "c")], 100.0),
        ];
        let vals = |out: Vector| -> Vec<f64> { out.into_iter().map(|s| s.v).collect::<Vec<_>>() };
        let out = call("clamp_max", &[arg_vec(&input), Scalar(75.0)], 0).expect("call");
        assert_eq!(vals(out), vec![-50.0, 0.0, 75.0]);
        let out = call("clamp_min", &[arg_vec(&input), Scalar(-25.0)], 0).expect("call");
        assert_eq!(vals(out), vec![-25.0, 0.0, 100.0]);
        let out = call("clamp", &[arg_vec(&input), Scalar(-25.0), Scalar(75.0)], 0).expect("call");
        assert_eq!(out[0].labels, labels(&[("src", "a")]));
        assert_eq!(vals(out), vec![-25.0, 0.0, 75.0]);
        let out = call("clamp", &[arg_vec(&input), Scalar(0.0), Scalar(f64::NAN)], 0).expect("call");
        assert!(out.iter().all(|s| s.v.is_nan()) && out.len() == 3);
        let out = call("clamp", &[arg_vec(&input), Scalar(5.0), Scalar(-5.0)], 0).expect("call");
        assert!(out.is_empty());
    }

    #[test]
    fn pi_is_scalar() {
        let out = call("pi", &[], 5).expect("pi");
        assert_eq!(out, single(5, PI));
    }
}
