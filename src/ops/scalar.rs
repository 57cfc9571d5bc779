//! Scalar arithmetic over every numeric dtype, dtype dispatch, casts, and
//! the strided loops that elementwise kernels and reductions run on.

use half::f16;
use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Element, Shape, Tensor, for_each_offset};

/// A numeric element type with Theano's scalar semantics.
pub trait Prim: Element + PartialOrd + PartialEq + std::fmt::Debug {
    const IS_FLOAT: bool;
    const IS_SIGNED: bool;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_i128(self) -> i128;
    /// Wrapping conversion from a wide integer (C semantics).
    fn from_i128(v: i128) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// True division for floats; floor division for integers.
    fn div(self, o: Self) -> Self;
    /// Floor division (`//`), Python's sign rule.
    fn floor_div(self, o: Self) -> Self;
    /// Modulo (`%`), Python's sign rule.
    fn modulo(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! prim_int {
    ($t:ty, $signed:expr) => {
        impl Prim for $t {
            const IS_FLOAT: bool = false;
            const IS_SIGNED: bool = $signed;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_i128(v: i128) -> Self {
                v as $t
            }
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Self {
                self.floor_div(o)
            }
            #[allow(unused_comparisons)]
            fn floor_div(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if (self % o != 0) && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[allow(unused_comparisons)]
            fn modulo(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                if r != 0 && ((r < 0) != (o < 0)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[allow(unused_comparisons)]
            fn pow(self, o: Self) -> Self {
                if o < 0 {
                    // C's pow then a cast: only 1 and -1 keep a non-zero value.
                    return match self as i128 {
                        1 => 1,
                        -1 if (o as i128) % 2 != 0 => (0 as $t).wrapping_sub(1),
                        -1 => 1,
                        _ => 0,
                    };
                }
                self.wrapping_pow(o as u32)
            }
            fn neg(self) -> Self {
                (0 as $t).wrapping_sub(self)
            }
            #[allow(unused_comparisons)]
            fn abs(self) -> Self {
                if self < 0 { self.neg() } else { self }
            }
            fn is_nan(self) -> bool {
                false
            }
        }
    };
}
prim_int!(i8, true);
prim_int!(i16, true);
prim_int!(i32, true);
prim_int!(i64, true);
prim_int!(u8, false);
prim_int!(u16, false);
prim_int!(u32, false);
prim_int!(u64, false);

macro_rules! prim_float {
    ($t:ty) => {
        impl Prim for $t {
            const IS_FLOAT: bool = true;
            const IS_SIGNED: bool = true;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_i128(v: i128) -> Self {
                v as $t
            }
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn floor_div(self, o: Self) -> Self {
                (self / o).floor()
            }
            fn modulo(self, o: Self) -> Self {
                if o == 0.0 {
                    return <$t>::NAN;
                }
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) {
                    r + o
                } else {
                    r
                }
            }
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            fn neg(self) -> Self {
                -self
            }
            fn abs(self) -> Self {
                self.abs()
            }
            fn is_nan(self) -> bool {
                self.is_nan()
            }
        }
    };
}
prim_float!(f32);
prim_float!(f64);

impl Prim for f16 {
    const IS_FLOAT: bool = true;
    const IS_SIGNED: bool = true;
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
    fn to_i128(self) -> i128 {
        self.to_f64() as i128
    }
    fn from_i128(v: i128) -> Self {
        f16::from_f64(v as f64)
    }
    fn zero() -> Self {
        f16::ZERO
    }
    fn one() -> Self {
        f16::ONE
    }
    fn add(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() + o.to_f32())
    }
    fn sub(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() - o.to_f32())
    }
    fn mul(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() * o.to_f32())
    }
    fn div(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() / o.to_f32())
    }
    fn floor_div(self, o: Self) -> Self {
        f16::from_f32(self.to_f32().floor_div(o.to_f32()))
    }
    fn modulo(self, o: Self) -> Self {
        f16::from_f32(self.to_f32().modulo(o.to_f32()))
    }
    fn pow(self, o: Self) -> Self {
        f16::from_f32(self.to_f32().powf(o.to_f32()))
    }
    fn neg(self) -> Self {
        -self
    }
    fn abs(self) -> Self {
        f16::from_f32(self.to_f32().abs())
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

/// Runs `$body` with `$T` bound to the Rust type of a numeric dtype
/// (bool is stored and computed as `u8` 0/1). Complex dtypes are an error.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        $crate::with_real_dtype!($dtype, $T => $body, other => match other {
            $crate::dtype::DType::Float16 => {
                type $T = half::f16;
                $body
            }
            _ => {
                return Err($crate::error::Error::NotImplemented(format!(
                    "complex dtype {} is not supported by this operation",
                    other
                )));
            }
        })
    };
}

/// Runs `$body` with `$T` bound to the Rust type of a real dtype the
/// kernels compute in (bool as `u8`); any other dtype (float16, complex)
/// matches `$other` and gives `$fallback`.
#[macro_export]
macro_rules! with_real_dtype {
    ($dtype:expr, $T:ident => $body:expr, $other:pat => $fallback:expr) => {{
        use $crate::dtype::DType as __D;
        match $dtype {
            __D::Bool | __D::UInt8 => {
                type $T = u8;
                $body
            }
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::UInt16 => {
                type $T = u16;
                $body
            }
            __D::UInt32 => {
                type $T = u32;
                $body
            }
            __D::UInt64 => {
                type $T = u64;
                $body
            }
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            $other => $fallback,
        }
    }};
}

/// Converts one value between element types with NumPy's `astype` rules
/// (float to int truncates toward zero; to bool is "non-zero").
pub fn convert<A: Prim, B: Prim>(a: A, to_bool: bool) -> B {
    if to_bool {
        return if a == A::zero() { B::zero() } else { B::one() };
    }
    if B::IS_FLOAT || A::IS_FLOAT {
        B::from_f64(a.to_f64())
    } else {
        B::from_i128(a.to_i128())
    }
}

/// A C-contiguous copy of `t` in dtype `to`.
pub fn cast_tensor(t: &Tensor, to: DType) -> Result<Tensor> {
    if t.dtype == to {
        return Ok(t.clone());
    }
    let to_bool = to == DType::Bool;
    with_dtype!(t.dtype, A => with_dtype!(to, B => {
        let values = read_all::<A>(t)?;
        let out: Vec<B> = values.iter().map(|&a| convert::<A, B>(a, to_bool)).collect();
        Tensor::from_slice(to, &t.shape, &out)
    }))
}

/// All elements of `t` in C order.
pub fn read_all<T: Prim>(t: &Tensor) -> Result<Vec<T>> {
    if let Some(s) = t.contiguous_slice::<T>() {
        return Ok(s.to_vec());
    }
    let (data, strides, offset) = t.elements::<T>()?;
    let mut out = Vec::with_capacity(t.size());
    for_each_offset(&t.shape, &strides, offset as isize, |o| {
        out.push(data[o as usize])
    });
    Ok(out)
}

/// The single element of a one-element tensor, as f64.
pub fn scalar_f64(t: &Tensor) -> Result<f64> {
    with_dtype!(t.dtype, T => {
        let v = read_all::<T>(t)?;
        v.first().map(|x| x.to_f64()).ok_or_else(|| Error::Value("expected a scalar, got an empty array".into()))
    })
}

/// The single element of a one-element integer tensor, as i64.
pub fn scalar_i64(t: &Tensor) -> Result<i64> {
    with_dtype!(t.dtype, T => {
        let v = read_all::<T>(t)?;
        v.first().map(|x| x.to_i128() as i64).ok_or_else(|| Error::Value("expected a scalar, got an empty array".into()))
    })
}

/// Element strides (in elements) of `t` broadcast to `out_shape` (right-aligned).
pub fn broadcast_strides(
    t_shape: &[usize],
    t_strides: &[isize],
    out_shape: &[usize],
) -> SmallVec<[isize; 6]> {
    let pad = out_shape.len() - t_shape.len();
    (0..out_shape.len())
        .map(|d| {
            if d < pad {
                0
            } else {
                let n = t_shape[d - pad];
                if n == 1 && out_shape[d] != 1 {
                    0
                } else {
                    t_strides[d - pad]
                }
            }
        })
        .collect()
}

/// The broadcast shape of several shapes, or Theano's mis-match error.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Shape> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out: Shape = SmallVec::from_elem(1, nd);
    for d in 0..nd {
        let mut chosen: Option<(usize, usize)> = None; // (input index, length)
        for (i, s) in shapes.iter().enumerate() {
            let pad = nd - s.len();
            if d < pad {
                continue;
            }
            let n = s[d - pad];
            if n == 1 {
                continue;
            }
            match chosen {
                None => chosen = Some((i, n)),
                Some((j, m)) if m != n => {
                    return Err(Error::Value(format!(
                        "Input dimension mis-match. (input[{j}].shape[{d}] = {m}, input[{i}].shape[{d}] = {n})"
                    )));
                }
                _ => {}
            }
        }
        out[d] = chosen.map(|(_, n)| n).unwrap_or(1);
    }
    Ok(out)
}

/// `out[i] = f(a[i])` over `out_shape`.
pub fn map1<A: Prim, O: Prim>(a: &Tensor, out_dtype: DType, f: impl Fn(A) -> O) -> Result<Tensor> {
    let mut out = Tensor::zeros(out_dtype, &a.shape)?;
    let dst = out.data_mut::<O>()?;
    if let Some(src) = a.contiguous_slice::<A>() {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f(s);
        }
        return Ok(out);
    }
    let (data, strides, offset) = a.elements::<A>()?;
    let mut k = 0;
    for_each_offset(&a.shape, &strides, offset as isize, |o| {
        dst[k] = f(data[o as usize]);
        k += 1;
    });
    Ok(out)
}

/// `out[i] = f(a[i], b[i])` with broadcasting.
pub fn map2<A: Prim, O: Prim>(
    a: &Tensor,
    b: &Tensor,
    out_dtype: DType,
    f: impl Fn(A, A) -> O,
) -> Result<Tensor> {
    let shape = broadcast_shapes(&[&a.shape, &b.shape])?;
    let mut out = Tensor::zeros(out_dtype, &shape)?;
    let dst = out.data_mut::<O>()?;
    if a.shape == shape
        && b.shape == shape
        && let (Some(x), Some(y)) = (a.contiguous_slice::<A>(), b.contiguous_slice::<A>())
    {
        for ((d, &p), &q) in dst.iter_mut().zip(x).zip(y) {
            *d = f(p, q);
        }
        return Ok(out);
    }
    if b.size() == 1
        && a.shape == shape
        && let Some(x) = a.contiguous_slice::<A>()
    {
        let q = read_all::<A>(b)?[0];
        for (d, &p) in dst.iter_mut().zip(x) {
            *d = f(p, q);
        }
        return Ok(out);
    }
    if a.size() == 1
        && b.shape == shape
        && let Some(y) = b.contiguous_slice::<A>()
    {
        let p = read_all::<A>(a)?[0];
        for (d, &q) in dst.iter_mut().zip(y) {
            *d = f(p, q);
        }
        return Ok(out);
    }
    let (da, sa, oa) = a.elements::<A>()?;
    let (db, sb, ob) = b.elements::<A>()?;
    let sa = broadcast_strides(&a.shape, &sa, &shape);
    let sb = broadcast_strides(&b.shape, &sb, &shape);
    let mut k = 0;
    for_each_offset2(&shape, &sa, &sb, oa as isize, ob as isize, |x, y| {
        dst[k] = f(da[x as usize], db[y as usize]);
        k += 1;
    });
    Ok(out)
}

/// Like `for_each_offset`, tracking two operands' offsets at once.
pub fn for_each_offset2(
    shape: &[usize],
    sa: &[isize],
    sb: &[isize],
    a0: isize,
    b0: isize,
    mut f: impl FnMut(isize, isize),
) {
    let nd = shape.len();
    if shape.contains(&0) {
        return;
    }
    if nd == 0 {
        f(a0, b0);
        return;
    }
    let mut index: SmallVec<[usize; 6]> = SmallVec::from_elem(0, nd);
    let (mut ba, mut bb) = (a0, b0);
    let last = nd - 1;
    loop {
        let (mut x, mut y) = (ba, bb);
        for _ in 0..shape[last] {
            f(x, y);
            x += sa[last];
            y += sb[last];
        }
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            ba += sa[d];
            bb += sb[d];
            if index[d] < shape[d] {
                break;
            }
            ba -= sa[d] * shape[d] as isize;
            bb -= sb[d] * shape[d] as isize;
            index[d] = 0;
        }
    }
}

/// `out[i] = f(a[i], b[i], c[i])` with broadcasting (general path only).
pub fn map3<A: Prim, O: Prim>(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    out_dtype: DType,
    f: impl Fn(A, A, A) -> O,
) -> Result<Tensor> {
    let shape = broadcast_shapes(&[&a.shape, &b.shape, &c.shape])?;
    let xs = [a, b, c].map(|t| broadcast_copy::<A>(t, &shape));
    let (xa, xb, xc) = (
        xs[0].as_ref().map_err(Clone::clone)?,
        xs[1].as_ref().map_err(Clone::clone)?,
        xs[2].as_ref().map_err(Clone::clone)?,
    );
    let mut out = Tensor::zeros(out_dtype, &shape)?;
    let dst = out.data_mut::<O>()?;
    for (i, d) in dst.iter_mut().enumerate() {
        *d = f(xa[i], xb[i], xc[i]);
    }
    Ok(out)
}

/// The elements of `t` broadcast to `shape`, materialised in C order.
pub fn broadcast_copy<T: Prim>(t: &Tensor, shape: &[usize]) -> Result<Vec<T>> {
    let (data, strides, offset) = t.elements::<T>()?;
    let s = broadcast_strides(&t.shape, &strides, shape);
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(shape, &s, offset as isize, |o| out.push(data[o as usize]));
    Ok(out)
}
