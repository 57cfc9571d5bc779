//! The typed loops of the elementwise ops. Each function matches on the
//! scalar op once, outside the loop, and runs one tight loop over slices
//! (an operand may also be a single broadcast value), so the compiler
//! inlines the scalar function and vectorizes where it can.

use crate::error::{Error, Result};
use crate::ops::elemwise::ScalarOp;
use crate::ops::scalar::{Prim, convert};
use crate::ops::scalar_math::Float;

/// One operand of a kernel: a run of values, or one value broadcast.
#[derive(Clone, Copy, Debug)]
pub enum Src<'a, T> {
    Slice(&'a [T]),
    Scalar(T),
}

/// How a loop reads an operand at position `i`.
trait Access<T: Copy>: Copy {
    /// The operand cut to `n` values (lets the compiler drop bounds checks).
    fn fit(self, n: usize) -> Self;
    fn at(self, i: usize) -> T;
}

impl<T: Copy> Access<T> for &[T] {
    #[inline(always)]
    fn fit(self, n: usize) -> Self {
        &self[..n]
    }
    #[inline(always)]
    fn at(self, i: usize) -> T {
        self[i]
    }
}

#[derive(Clone, Copy)]
struct Splat<T>(T);

impl<T: Copy> Access<T> for Splat<T> {
    #[inline(always)]
    fn fit(self, _: usize) -> Self {
        self
    }
    #[inline(always)]
    fn at(self, _: usize) -> T {
        self.0
    }
}

#[inline(always)]
fn run1<T: Copy, O>(a: &[T], out: &mut [O], f: impl Fn(T) -> O) {
    let a = &a[..out.len()];
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
}

#[inline(always)]
fn run2<A: Copy, B: Copy, O>(
    a: impl Access<A>,
    b: impl Access<B>,
    out: &mut [O],
    f: impl Fn(A, B) -> O,
) {
    let n = out.len();
    let (a, b) = (a.fit(n), b.fit(n));
    for (i, o) in out.iter_mut().enumerate() {
        *o = f(a.at(i), b.at(i));
    }
}

#[inline(always)]
fn run3<A: Copy, B: Copy, C: Copy, O>(
    a: impl Access<A>,
    b: impl Access<B>,
    c: impl Access<C>,
    out: &mut [O],
    f: impl Fn(A, B, C) -> O,
) {
    let n = out.len();
    let (a, b, c) = (a.fit(n), b.fit(n), c.fit(n));
    for (i, o) in out.iter_mut().enumerate() {
        *o = f(a.at(i), b.at(i), c.at(i));
    }
}

/// `out[i] = f(a[i])`.
#[inline(always)]
pub fn map1<A: Copy, O: Copy>(a: Src<A>, out: &mut [O], f: impl Fn(A) -> O) {
    match a {
        Src::Slice(a) => run1(a, out, f),
        Src::Scalar(x) => out.fill(f(x)),
    }
}

/// `out[i] = f(a[i], b[i])`.
#[inline(always)]
pub fn map2<A: Copy, B: Copy, O: Copy>(a: Src<A>, b: Src<B>, out: &mut [O], f: impl Fn(A, B) -> O) {
    use Src::*;
    match (a, b) {
        (Slice(a), Slice(b)) => run2(a, b, out, f),
        (Slice(a), Scalar(y)) => run2(a, Splat(y), out, f),
        (Scalar(x), Slice(b)) => run2(Splat(x), b, out, f),
        (Scalar(x), Scalar(y)) => out.fill(f(x, y)),
    }
}

/// `out[i] = f(a[i], b[i], c[i])`.
#[inline(always)]
pub fn map3<A: Copy, B: Copy, C: Copy, O: Copy>(
    a: Src<A>,
    b: Src<B>,
    c: Src<C>,
    out: &mut [O],
    f: impl Fn(A, B, C) -> O,
) {
    use Src::*;
    match (a, b, c) {
        (Slice(a), Slice(b), Slice(c)) => run3(a, b, c, out, f),
        (Slice(a), Slice(b), Scalar(z)) => run3(a, b, Splat(z), out, f),
        (Slice(a), Scalar(y), Slice(c)) => run3(a, Splat(y), c, out, f),
        (Slice(a), Scalar(y), Scalar(z)) => run3(a, Splat(y), Splat(z), out, f),
        (Scalar(x), Slice(b), Slice(c)) => run3(Splat(x), b, c, out, f),
        (Scalar(x), Slice(b), Scalar(z)) => run3(Splat(x), b, Splat(z), out, f),
        (Scalar(x), Scalar(y), Slice(c)) => run3(Splat(x), Splat(y), c, out, f),
        (Scalar(x), Scalar(y), Scalar(z)) => out.fill(f(x, y, z)),
    }
}

fn not_of_kind(op: ScalarOp, kind: &str) -> Error {
    Error::Runtime(format!(
        "internal error: {} is not {kind} kernel",
        op.name()
    ))
}

/// The instruction sets of this CPU, detected once.
pub(crate) fn arch() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(pulp::Arch::new)
}

/// A float kernel call, run through `pulp`'s dispatch so that its loops are
/// compiled (and vectorized) for the widest instruction set the CPU has.
struct FloatUnary<'a, F> {
    op: ScalarOp,
    a: Src<'a, F>,
    out: &'a mut [F],
}

impl<F: Float> pulp::WithSimd for FloatUnary<'_, F> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Result<()> {
        float_unary_loops(self.op, self.a, self.out)
    }
}

/// Float functions of one float.
pub fn float_unary<F: Float>(op: ScalarOp, a: Src<F>, out: &mut [F]) -> Result<()> {
    arch().dispatch(FloatUnary { op, a, out })
}

/// Recomputes with `f` the elements whose argument is beyond the range of
/// the vectorizable trigonometric functions.
#[inline(always)]
fn fix_large_arguments<F: Float>(a: Src<F>, out: &mut [F], f: fn(F) -> F) {
    if F::TRIG_BULK_LIMIT.is_infinite() {
        return;
    }
    let big = |x: F| x.to_f64().abs() > F::TRIG_BULK_LIMIT;
    match a {
        Src::Slice(s) => {
            // A vectorizable test first: such arguments are rare.
            if !s.iter().fold(false, |any, &x| any | big(x)) {
                return;
            }
            for (o, &x) in out.iter_mut().zip(s) {
                if big(x) {
                    *o = f(x);
                }
            }
        }
        Src::Scalar(x) => {
            if big(x) {
                out.fill(f(x));
            }
        }
    }
}

#[inline(always)]
fn float_unary_loops<F: Float>(op: ScalarOp, a: Src<F>, out: &mut [F]) -> Result<()> {
    use ScalarOp::*;
    match op {
        Sin => {
            map1(a, out, F::sin_bulk);
            fix_large_arguments(a, out, F::sin);
        }
        Cos => {
            map1(a, out, F::cos_bulk);
            fix_large_arguments(a, out, F::cos);
        }
        Sqrt => map1(a, out, F::sqrt),
        Exp => map1(a, out, F::exp),
        Exp2 => map1(a, out, F::exp2),
        Expm1 => map1(a, out, F::exp_m1),
        Log => map1(a, out, F::ln),
        Log2 => map1(a, out, F::log2),
        Log10 => map1(a, out, F::log10),
        Log1p => map1(a, out, F::ln_1p),
        Tan => map1(a, out, F::tan),
        ArcSin => map1(a, out, F::asin),
        ArcCos => map1(a, out, F::acos),
        ArcTan => map1(a, out, F::atan),
        Sinh => map1(a, out, F::sinh),
        Cosh => map1(a, out, F::cosh),
        Tanh => map1(a, out, F::tanh),
        ArcSinh => map1(a, out, F::asinh),
        ArcCosh => map1(a, out, F::acosh),
        ArcTanh => map1(a, out, F::atanh),
        Erf => map1(a, out, F::erf),
        Erfc => map1(a, out, F::erfc),
        Erfinv => map1(a, out, F::erfinv),
        Gamma => map1(a, out, F::gamma),
        GammaLn => map1(a, out, F::gammaln),
        Psi => map1(a, out, F::psi),
        TriGamma => map1(a, out, F::tri_gamma),
        TetraGamma => map1(a, out, F::tetra_gamma),
        Floor => map1(a, out, F::floor),
        Ceil => map1(a, out, F::ceil),
        Trunc => map1(a, out, F::trunc),
        RoundHalfToEven => map1(a, out, F::round_half_to_even),
        RoundHalfAwayFromZero => map1(a, out, F::round_half_away_from_zero),
        Deg2Rad => map1(a, out, F::to_radians),
        Rad2Deg => map1(a, out, F::to_degrees),
        Inv => map1(a, out, |x| F::one().div(x)),
        Sigmoid => map1(a, out, F::sigmoid),
        Softplus => map1(a, out, F::softplus),
        _ => return Err(not_of_kind(op, "a float unary")),
    }
    Ok(())
}

#[inline(always)]
fn sgn<T: Prim>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        T::zero().sub(T::one())
    } else {
        // zero, or NaN
        x
    }
}

/// `T -> T` ops on any real dtype; `is_bool` when `T` holds bools.
pub fn unary<T: Prim>(op: ScalarOp, is_bool: bool, a: Src<T>, out: &mut [T]) -> Result<()> {
    arch().dispatch(Unary {
        op,
        is_bool,
        a,
        out,
    })
}

/// A [`unary`] call through `pulp`'s dispatch, so that its loops are
/// vectorized for the widest instruction set the CPU has.
struct Unary<'a, T> {
    op: ScalarOp,
    is_bool: bool,
    a: Src<'a, T>,
    out: &'a mut [T],
}

impl<T: Prim> pulp::WithSimd for Unary<'_, T> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Result<()> {
        unary_loops(self.op, self.is_bool, self.a, self.out)
    }
}

#[inline(always)]
fn unary_loops<T: Prim>(op: ScalarOp, is_bool: bool, a: Src<T>, out: &mut [T]) -> Result<()> {
    use ScalarOp::*;
    match op {
        Neg => map1(a, out, T::neg),
        Abs => map1(a, out, T::abs),
        Sqr => map1(a, out, |x| x.mul(x)),
        Sgn => map1(a, out, sgn::<T>),
        Invert if is_bool => map1(
            a,
            out,
            |x| {
                if x == T::zero() { T::one() } else { T::zero() }
            },
        ),
        Invert => map1(a, out, |x| T::from_i128(!x.to_i128())),
        _ => return Err(not_of_kind(op, "a unary")),
    }
    Ok(())
}

/// `T -> bool` tests.
pub fn predicate<T: Prim>(op: ScalarOp, a: Src<T>, out: &mut [u8]) -> Result<()> {
    match op {
        ScalarOp::IsNan => map1(a, out, |x| x.is_nan() as u8),
        ScalarOp::IsInf => map1(a, out, |x| (T::IS_FLOAT && x.to_f64().is_infinite()) as u8),
        _ => return Err(not_of_kind(op, "a predicate")),
    }
    Ok(())
}

/// `(T, T) -> T` ops; `is_bool` when `T` holds bools (`add` is `or` there).
pub fn binary<T: Prim>(
    op: ScalarOp,
    is_bool: bool,
    a: Src<T>,
    b: Src<T>,
    out: &mut [T],
) -> Result<()> {
    arch().dispatch(Binary {
        op,
        is_bool,
        a,
        b,
        out,
    })
}

/// A [`binary`] call through `pulp`'s dispatch (see [`Unary`]).
struct Binary<'a, T> {
    op: ScalarOp,
    is_bool: bool,
    a: Src<'a, T>,
    b: Src<'a, T>,
    out: &'a mut [T],
}

impl<T: Prim> pulp::WithSimd for Binary<'_, T> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Result<()> {
        binary_loops(self.op, self.is_bool, self.a, self.b, self.out)
    }
}

#[inline(always)]
fn binary_loops<T: Prim>(
    op: ScalarOp,
    is_bool: bool,
    a: Src<T>,
    b: Src<T>,
    out: &mut [T],
) -> Result<()> {
    use ScalarOp::*;
    match op {
        Add if is_bool => map2(a, b, out, |x, y| {
            if x != T::zero() || y != T::zero() {
                T::one()
            } else {
                T::zero()
            }
        }),
        Add => map2(a, b, out, T::add),
        Sub => map2(a, b, out, T::sub),
        Mul => map2(a, b, out, T::mul),
        TrueDiv => map2(a, b, out, T::div),
        IntDiv => map2(a, b, out, T::floor_div),
        Mod => map2(a, b, out, T::modulo),
        Pow => map2(a, b, out, T::pow),
        // NaN in either operand gives NaN, like NumPy.
        Maximum => map2(a, b, out, |x, y| if x.is_nan() || x >= y { x } else { y }),
        Minimum => map2(a, b, out, |x, y| if x.is_nan() || x <= y { x } else { y }),
        And => map2(a, b, out, |x, y| T::from_i128(x.to_i128() & y.to_i128())),
        Or => map2(a, b, out, |x, y| T::from_i128(x.to_i128() | y.to_i128())),
        Xor => map2(a, b, out, |x, y| T::from_i128(x.to_i128() ^ y.to_i128())),
        Second => map2(a, b, out, |_, y| y),
        _ => return Err(not_of_kind(op, "a binary")),
    }
    Ok(())
}

/// `(F, F) -> F` float functions.
pub fn float_binary<F: Float>(op: ScalarOp, a: Src<F>, b: Src<F>, out: &mut [F]) -> Result<()> {
    match op {
        ScalarOp::ArcTan2 => map2(a, b, out, F::atan2),
        _ => return Err(not_of_kind(op, "a float binary")),
    }
    Ok(())
}

/// `(T, T) -> bool` comparisons.
pub fn compare<T: Prim>(op: ScalarOp, a: Src<T>, b: Src<T>, out: &mut [u8]) -> Result<()> {
    use ScalarOp::*;
    match op {
        Eq => map2(a, b, out, |x, y| (x == y) as u8),
        Neq => map2(a, b, out, |x, y| (x != y) as u8),
        Lt => map2(a, b, out, |x, y| (x < y) as u8),
        Le => map2(a, b, out, |x, y| (x <= y) as u8),
        Gt => map2(a, b, out, |x, y| (x > y) as u8),
        Ge => map2(a, b, out, |x, y| (x >= y) as u8),
        _ => return Err(not_of_kind(op, "a comparison")),
    }
    Ok(())
}

/// `switch(cond, a, b)` with a bool condition.
pub fn switch<T: Prim>(cond: Src<u8>, a: Src<T>, b: Src<T>, out: &mut [T]) {
    map3(cond, a, b, out, |c, x, y| if c != 0 { x } else { y });
}

/// `clip(x, lo, hi)` with Theano's order of tests.
pub fn clip<T: Prim>(x: Src<T>, lo: Src<T>, hi: Src<T>, out: &mut [T]) {
    map3(x, lo, hi, out, |x, lo, hi| {
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    });
}

/// Conversion between element types (NumPy's `astype`).
pub fn cast<A: Prim, B: Prim>(a: Src<A>, out: &mut [B], to_bool: bool) {
    if to_bool {
        map1(
            a,
            out,
            |x| if x == A::zero() { B::zero() } else { B::one() },
        );
    } else {
        map1(a, out, |x| convert::<A, B>(x, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_operands_read_one_value() {
        let a = [1.0f64, 2.0, 3.0];
        let mut out = [0.0; 3];
        binary(
            ScalarOp::Sub,
            false,
            Src::Scalar(10.0),
            Src::Slice(&a),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [9.0, 8.0, 7.0]);
        let mut b = [0u8; 3];
        compare(ScalarOp::Lt, Src::Slice(&a), Src::Scalar(2.5), &mut b).unwrap();
        assert_eq!(b, [1, 1, 0]);
    }

    #[test]
    fn bool_addition_is_logical_or() {
        let mut out = [0u8; 4];
        binary(
            ScalarOp::Add,
            true,
            Src::Slice(&[0, 1, 0, 1]),
            Src::Slice(&[0, 0, 1, 1]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0, 1, 1, 1]);
    }

    #[test]
    fn clip_follows_theano_when_bounds_cross() {
        let mut out = [0i32; 3];
        clip(
            Src::Slice(&[-5, 5, 50]),
            Src::Scalar(10),
            Src::Scalar(0),
            &mut out,
        );
        assert_eq!(out, [10, 10, 0]);
    }
}
