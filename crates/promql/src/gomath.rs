//! Go's `math` routines whose exact bits Prometheus returns: `Pow`, `Mod`, `Atan2` for `^`, `%`
//! and `atan2`, and `Exp`, `Log`, `Atan`, `Frexp` that the math functions build on.
//!
//! Go computes `Pow` by repeated squaring (plus `Exp(yf*Log(x))` for a fractional exponent), which
//! is not the correctly rounded `pow` of C's libm, so integer powers can differ in the last bits.

/// Go's `math.Mod`: the remainder of `x / y` with the sign of `x`.
///
/// Go subtracts shifted copies of `|y|`, which is exact, so the result equals C's `fmod` (Rust's `%`),
/// special cases included: NaN for `y == 0`, infinite `x` or a NaN; `x` for infinite `y`.
pub(crate) fn go_mod(x: f64, y: f64) -> f64 {
    if y == 0.0 || x.is_infinite() || x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    x % y
}

const SHIFT: u32 = 52;
const MASK: u64 = 0x7ff;
const BIAS: i64 = 1023;
const SMALLEST_NORMAL: f64 = 2.2250738585072014e-308;

/// Go's `normalize`: a normal number and exponent with `x == y * 2**exp`.
fn normalize(x: f64) -> (f64, i64) {
    if x.abs() < SMALLEST_NORMAL {
        return (x * (1u64 << 52) as f64, -52);
    }
    (x, 0)
}

/// Go's `math.Frexp`: `f == frac * 2**exp` with `|frac|` in `[0.5, 1)`.
pub(crate) fn frexp(f: f64) -> (f64, i64) {
    if f == 0.0 || f.is_infinite() || f.is_nan() {
        return (f, 0);
    }
    let (f, mut exp) = normalize(f);
    let mut x = f.to_bits();
    exp += ((x >> SHIFT) & MASK) as i64 - BIAS + 1;
    x &= !(MASK << SHIFT);
    x |= ((-1 + BIAS) as u64) << SHIFT;
    (f64::from_bits(x), exp)
}

/// Go's `math.Ldexp`: `frac * 2**exp`, rounding once when the result is subnormal.
pub(crate) fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || frac.is_infinite() || frac.is_nan() {
        return frac;
    }
    let (frac, e) = normalize(frac);
    let mut exp = exp.saturating_add(e);
    let mut x = frac.to_bits();
    exp = exp.saturating_add(((x >> SHIFT) & MASK) as i64 - BIAS);
    if exp < -1075 {
        return 0.0f64.copysign(frac);
    }
    if exp > 1023 {
        return if frac < 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    x &= !(MASK << SHIFT);
    x |= ((exp + BIAS) as u64) << SHIFT;
    m * f64::from_bits(x)
}

/// Go's `isOddInt` (on amd64, where converting a float above 2^63 to int64 gives an even number).
fn is_odd_int(x: f64) -> bool {
    let xi = x.trunc();
    let xf = x - xi;
    xf == 0.0 && xi.abs() < 9_223_372_036_854_775_808.0 && (xi as i64) & 1 == 1
}

/// Go's `math.Pow`.
pub(crate) fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 {
        if y < 0.0 {
            if is_odd_int(y) {
                return f64::INFINITY.copysign(x);
            }
            return f64::INFINITY;
        }
        if y > 0.0 {
            if is_odd_int(y) {
                return x;
            }
            return 0.0;
        }
    }
    if y.is_infinite() {
        if x == -1.0 {
            return 1.0;
        }
        if (x.abs() < 1.0) == (y == f64::INFINITY) {
            return 0.0;
        }
        return f64::INFINITY;
    }
    if x.is_infinite() {
        if x == f64::NEG_INFINITY {
            return go_pow(1.0 / x, -y);
        }
        if y < 0.0 {
            return 0.0;
        }
        if y > 0.0 {
            return f64::INFINITY;
        }
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }

    let ya = y.abs();
    let mut yi = ya.trunc();
    let mut yf = ya - yi;
    if yf != 0.0 && x < 0.0 {
        return f64::NAN;
    }
    if yi >= 9_223_372_036_854_775_808.0 {
        if x == -1.0 {
            return 1.0;
        }
        if (x.abs() < 1.0) == (y > 0.0) {
            return 0.0;
        }
        return f64::INFINITY;
    }

    let mut a1 = 1.0;
    let mut ae: i64 = 0;
    if yf != 0.0 {
        if yf > 0.5 {
            yf -= 1.0;
            yi += 1.0;
        }
        a1 = go_exp(yf * go_log(x));
    }

    let (mut x1, mut xe) = frexp(x);
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }

    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// Go's `math.Exp` on amd64 (`exp_amd64.s`, after Shibata's SLEEF method), including its
/// fused-multiply-add variant, which Go picks when the CPU has AVX2 and FMA.
#[allow(clippy::excessive_precision)]
pub(crate) fn go_exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2U: f64 = 0.69314718055966295651160180568695068359375;
    const LN2L: f64 = 0.28235290563031577122588448175013436025525412068e-12;
    const OVERFLOW: f64 = 7.09782712893384e+02;
    const C: [f64; 7] = [
        2.4801587301587301587e-5,
        1.9841269841269841270e-4,
        1.3888888888888888889e-3,
        8.3333333333333333333e-3,
        4.1666666666666666667e-2,
        1.6666666666666666667e-1,
        0.5,
    ];
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL: round to nearest even; out of range gives i32::MIN.
    let kf = (LOG2E * x).round_ties_even();
    let k: i32 = if (-2_147_483_648.0..2_147_483_648.0).contains(&kf) { kf as i32 } else { i32::MIN };
    let kd = f64::from(k);
    let mut r;
    if use_fma() {
        r = (-kd).mul_add(LN2U, x);
        r = (-kd).mul_add(LN2L, r);
        r *= 0.0625;
        let mut p = C[0];
        for c in &C[1..] {
            p = p.mul_add(r, *c);
        }
        p = p.mul_add(r, 1.0);
        r *= p;
        for _ in 0..3 {
            r *= r + 2.0;
        }
        r = r.mul_add(r + 2.0, 1.0);
    } else {
        r = x - kd * LN2U;
        r -= kd * LN2L;
        r *= 0.0625;
        let mut p = C[0];
        for c in &C[1..] {
            p = p * r + c;
        }
        p = p * r + 1.0;
        r *= p;
        for _ in 0..4 {
            r *= r + 2.0;
        }
        r += 1.0;
    }
    let e = i64::from(k) + 0x3ff;
    if e <= 0 {
        return 0.0;
    }
    if e >= 0x7ff {
        return f64::INFINITY;
    }
    r * f64::from_bits((e as u64) << 52)
}

/// Whether Go's runtime would use the FMA variant of `Exp` (`cpu.X86.HasAVX2 && cpu.X86.HasFMA`).
fn use_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Go's `math.Log` on amd64 (`log_amd64.s`, FreeBSD's `e_log.c` algorithm).
#[allow(clippy::excessive_precision)]
pub(crate) fn go_log(x: f64) -> f64 {
    const HSQRT2: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const LN2HI: f64 = 6.93147180369123816490e-01;
    const LN2LO: f64 = 1.90821492927058770002e-10;
    const L1: f64 = 6.666666666666735130e-01;
    const L2: f64 = 3.999999999940941908e-01;
    const L3: f64 = 2.857142874366239149e-01;
    const L4: f64 = 2.222219843214978396e-01;
    const L5: f64 = 1.818357216161805012e-01;
    const L6: f64 = 1.531383769920937332e-01;
    const L7: f64 = 1.479819860511658591e-01;
    let bits = x.to_bits();
    if bits & !(1u64 << 63) == 0 {
        return f64::NEG_INFINITY;
    }
    if (bits as i64) < 0 {
        return f64::from_bits(0x7ff8_0000_0000_0001);
    }
    if bits >= 0x7ff0_0000_0000_0000 {
        return x;
    }
    // Frexp straight from the bits (subnormals are not normalized, as in the assembly).
    let mut f1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3fe0_0000_0000_0000);
    let mut k = f64::from(((bits >> 52) & 0x7ff) as i32 - 0x3fe);
    // The assembly's `cmpnlt`: f1 is never NaN here, so this is `!(HSQRT2 < f1)`.
    if f1 <= HSQRT2 {
        k -= 1.0;
        f1 *= 2.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (((L7 * s4 + L5) * s4 + L3) * s4 + L1);
    let t2 = s4 * ((L6 * s4 + L4) * s4 + L2);
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2HI - ((hfsq - (s * (hfsq + r) + k * LN2LO)) - f)
}

/// Go's `xatan`: the Cephes series for arctangent on `[0, 0.66]`.
#[allow(clippy::excessive_precision)]
fn xatan(x: f64) -> f64 {
    const P0: f64 = -8.750608600031904122785e-01;
    const P1: f64 = -1.615753718733365076637e+01;
    const P2: f64 = -7.500855792314704667340e+01;
    const P3: f64 = -1.228866684490136173410e+02;
    const P4: f64 = -6.485021904942025371773e+01;
    const Q0: f64 = 2.485846490142306297962e+01;
    const Q1: f64 = 1.650270098316988542046e+02;
    const Q2: f64 = 4.328810604912902668951e+02;
    const Q3: f64 = 4.853903996359136964868e+02;
    const Q4: f64 = 1.945506571482613964425e+02;
    let z = x * x;
    let z = z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4)
        / (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
    x * z + x
}

/// Go's `satan`: reduces a positive argument to `[0, 0.66]`.
#[allow(clippy::excessive_precision)]
pub(crate) fn satan(x: f64) -> f64 {
    const MOREBITS: f64 = 6.123233995736765886130e-17;
    const TAN3PIO8: f64 = 2.41421356237309504880;
    if x <= 0.66 {
        return xatan(x);
    }
    if x > TAN3PIO8 {
        return std::f64::consts::FRAC_PI_2 - xatan(1.0 / x) + MOREBITS;
    }
    std::f64::consts::FRAC_PI_4 + xatan((x - 1.0) / (x + 1.0)) + 0.5 * MOREBITS
}

/// Go's `math.Atan`.
pub(crate) fn go_atan(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    if x > 0.0 { satan(x) } else { -satan(-x) }
}

/// Go's `math.Atan2` (pure Go on amd64, not libm's correctly rounded one).
pub(crate) fn go_atan2(y: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    /// 3π/4 rounded once, as Go's constant expression `3*Pi/4` is.
    const THREE_PI_4: f64 = 2.356_194_490_192_345;
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if y == 0.0 {
        if x >= 0.0 && !x.is_sign_negative() {
            return 0.0f64.copysign(y);
        }
        return PI.copysign(y);
    }
    if x == 0.0 {
        return FRAC_PI_2.copysign(y);
    }
    if x.is_infinite() {
        if x == f64::INFINITY {
            return if y.is_infinite() { FRAC_PI_4.copysign(y) } else { 0.0f64.copysign(y) };
        }
        return if y.is_infinite() { THREE_PI_4.copysign(y) } else { PI.copysign(y) };
    }
    if y.is_infinite() {
        return FRAC_PI_2.copysign(y);
    }
    let q = go_atan(y / x);
    if x < 0.0 {
        if q <= 0.0 {
            return q + PI;
        }
        return q - PI;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_matches_go() {
        assert_eq!(go_mod(1000.0, 3.0), 1.0);
        assert_eq!(go_mod(-7.0, 3.0), -1.0);
        assert_eq!(go_mod(7.0, -3.0), 1.0);
        assert!(go_mod(1.0, 0.0).is_nan());
        assert!(go_mod(f64::INFINITY, 2.0).is_nan());
        assert_eq!(go_mod(5.0, f64::INFINITY), 5.0);
        assert_eq!(go_mod(-0.0, 2.0).to_bits(), (-0.0f64).to_bits());
        // 1000 % 0.3 is not exactly 0.1: Go prints 0.09999999999997611.
        assert_eq!(go_mod(1000.0, 0.3), 1000.0f64 % 0.3);
    }

    #[test]
    fn frexp_ldexp_roundtrip() {
        for v in [1.0, 0.75, 3.0, -12345.678, 5e-324, 1e300, 2.2250738585072014e-308] {
            let (f, e) = frexp(v);
            assert!((0.5..1.0).contains(&f.abs()), "{v}");
            assert_eq!(ldexp(f, e), v);
        }
        assert_eq!(ldexp(1.0, 2000), f64::INFINITY);
        assert_eq!(ldexp(-1.0, -2000).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn atan2_like_go() {
        assert_eq!(go_atan2(10.0, 20.0), 0.4636476090008061);
        assert!(go_atan2(10.0, f64::NAN).is_nan());
        assert_eq!(go_atan2(-0.0, 1.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(go_atan2(0.0, -1.0), std::f64::consts::PI);
        assert_eq!(go_atan2(f64::INFINITY, f64::NEG_INFINITY), 3.0 * std::f64::consts::FRAC_PI_4);
        assert_eq!(go_atan2(-1.0, f64::INFINITY).to_bits(), (-0.0f64).to_bits());
        // Values checked against Prometheus 2.42 (`x atan2 0.3`), one ulp off libm's atan2.
        assert_eq!(go_atan2(1.9, 0.3).to_bits(), 4609047784769853627);
        assert_eq!(go_atan2(0.999, 0.3).to_bits(), 4608439211552647243);
        assert_eq!(go_atan2(0.3, 7.77).to_bits(), 4585722351519914024);
    }

    #[test]
    fn pow_special_cases() {
        assert_eq!(go_pow(2.0, 10.0), 1024.0);
        assert_eq!(go_pow(-2.0, 3.0), -8.0);
        assert_eq!(go_pow(2.0, -1.0), 0.5);
        assert_eq!(go_pow(f64::NAN, 0.0), 1.0);
        assert_eq!(go_pow(1.0, f64::NAN), 1.0);
        assert!(go_pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(go_pow(0.0, -1.0), f64::INFINITY);
        assert_eq!(go_pow(-0.0, -1.0), f64::NEG_INFINITY);
        assert_eq!(go_pow(-0.0, 3.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(go_pow(-0.0, 2.0), 0.0);
        assert_eq!(go_pow(-1.0, f64::INFINITY), 1.0);
        assert_eq!(go_pow(0.5, f64::INFINITY), 0.0);
        assert_eq!(go_pow(2.0, f64::NEG_INFINITY), 0.0);
        assert_eq!(go_pow(f64::NEG_INFINITY, 3.0), f64::NEG_INFINITY);
        assert_eq!(go_pow(f64::NEG_INFINITY, -3.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(go_pow(f64::NEG_INFINITY, 2.0), f64::INFINITY);
        assert_eq!(go_pow(4.0, 0.5), 2.0);
        assert_eq!(go_pow(10.0, 400.0), f64::INFINITY);
        assert_eq!(go_pow(10.0, -400.0), 0.0);
        assert_eq!(go_pow(2.0, 1e19), f64::INFINITY);
        assert_eq!(go_pow(-1.0, 1e19), 1.0);
        assert_eq!(go_pow(2600.0, 2.0), 6_760_000.0);
        assert_eq!(go_pow(4.0, 4.0), 256.0);
    }

    #[test]
    fn pow_matches_prometheus_bits() {
        // Answers of Prometheus 2.42 (go1.19.8, on a CPU with FMA) to `pw ^ 13` and `pw ^ 1.7`.
        assert_eq!(go_pow(1.1, 13.0), 3.452271214393103);
        assert_eq!(go_pow(12345.678, 13.0), 1.5477267602318138e53);
        assert_eq!(go_pow(0.7, 13.0), 0.00968890104069999);
        assert_eq!(go_pow(1.1, 1.7), 1.1758923494079665);
        assert_eq!(go_pow(12345.678, 1.7), 9027664.428945446);
        assert_eq!(go_pow(2.5e-3, 1.7), 0.000037713602103407276);
        assert_eq!(go_pow(7.77, 1.7), 32.63741336126018);
    }

    #[test]
    fn exp_and_log_special_cases() {
        assert_eq!(go_exp(0.0), 1.0);
        assert_eq!(go_exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(go_exp(710.0), f64::INFINITY);
        assert_eq!(go_exp(-740.0), 0.0);
        assert!(go_exp(f64::NAN).is_nan());
        assert_eq!(go_log(1.0), 0.0);
        assert_eq!(go_log(0.0), f64::NEG_INFINITY);
        assert!(go_log(-1.0).is_nan());
        assert_eq!(go_log(f64::INFINITY), f64::INFINITY);
        assert!((go_log(std::f64::consts::E) - 1.0).abs() < 1e-15);
    }
}
