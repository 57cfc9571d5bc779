//! Element types and Theano's casting rules (SPEC §1.1, §1.2).

use crate::config::{self, CastPolicy, FloatX};
use crate::error::{Error, Result};

/// The dtype of a tensor's elements, NumPy's names.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum DType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float16,
    Float32,
    Float64,
    Complex64,
    Complex128,
}

pub const ALL_DTYPES: [DType; 14] = [
    DType::Bool,
    DType::Int8,
    DType::Int16,
    DType::Int32,
    DType::Int64,
    DType::UInt8,
    DType::UInt16,
    DType::UInt32,
    DType::UInt64,
    DType::Float16,
    DType::Float32,
    DType::Float64,
    DType::Complex64,
    DType::Complex128,
];

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::UInt16 => "uint16",
            DType::UInt32 => "uint32",
            DType::UInt64 => "uint64",
            DType::Float16 => "float16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
        }
    }

    /// Parses a dtype name; Theano's error for anything else.
    pub fn parse(name: &str) -> Result<DType> {
        ALL_DTYPES
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| Error::Type(format!("Unsupported dtype for TensorType: {name}")))
    }

    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => 1,
            DType::Int16 | DType::UInt16 | DType::Float16 => 2,
            DType::Int32 | DType::UInt32 | DType::Float32 => 4,
            DType::Int64 | DType::UInt64 | DType::Float64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
        }
    }

    pub fn is_signed_int(self) -> bool {
        matches!(
            self,
            DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64
        )
    }
    pub fn is_unsigned_int(self) -> bool {
        matches!(
            self,
            DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64
        )
    }
    /// Integer, signed or not (not bool).
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }
    /// Bool or integer: the discrete dtypes.
    pub fn is_discrete(self) -> bool {
        self == DType::Bool || self.is_int()
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float16 | DType::Float32 | DType::Float64)
    }
    pub fn is_complex(self) -> bool {
        matches!(self, DType::Complex64 | DType::Complex128)
    }

    /// The float dtype Theano's `upgrade_to_float` gives (exp, log, true_div...).
    pub fn upgrade_to_float(self) -> DType {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 | DType::Int16 | DType::UInt16 => {
                DType::Float32
            }
            d if d.is_float() || d.is_complex() => d,
            _ => DType::Float64,
        }
    }

    fn signed_of_size(size: usize) -> DType {
        match size {
            1 => DType::Int8,
            2 => DType::Int16,
            4 => DType::Int32,
            _ => DType::Int64,
        }
    }

    /// The smallest float that holds every value of this integer dtype exactly.
    fn float_holding(self) -> DType {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => DType::Float16,
            DType::Int16 | DType::UInt16 => DType::Float32,
            _ => DType::Float64,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// NumPy's `promote_types(a, b)`, which Theano's `upcast` follows.
pub fn promote(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    if a == Bool {
        return b;
    }
    if b == Bool {
        return a;
    }
    let rank = |d: DType| d.itemsize();
    match (a, b) {
        _ if a.is_complex() || b.is_complex() => {
            let need = |d: DType| match d {
                Complex64 | Complex128 => d,
                Float64 => Complex128,
                d if d.is_int() && d.float_holding() == Float64 => Complex128,
                _ => Complex64,
            };
            if need(a) == Complex128 || need(b) == Complex128 {
                Complex128
            } else {
                Complex64
            }
        }
        _ if a.is_float() || b.is_float() => {
            let fa = if a.is_float() { a } else { a.float_holding() };
            let fb = if b.is_float() { b } else { b.float_holding() };
            if rank(fa) >= rank(fb) { fa } else { fb }
        }
        _ if a.is_signed_int() == b.is_signed_int() => {
            if rank(a) >= rank(b) {
                a
            } else {
                b
            }
        }
        _ => {
            let (s, u) = if a.is_signed_int() { (a, b) } else { (b, a) };
            if rank(u) < rank(s) {
                s
            } else if rank(u) < 8 {
                DType::signed_of_size(rank(u) * 2)
            } else {
                Float64
            }
        }
    }
}

/// Theano's `scalar.upcast(*dtypes)`.
pub fn upcast(dtypes: &[DType]) -> DType {
    let mut it = dtypes.iter().copied();
    let first = it.next().unwrap_or(DType::Bool);
    it.fold(first, promote)
}

/// The configured `floatX` as a dtype.
pub fn float_x() -> DType {
    match config::float_x() {
        FloatX::Float16 => DType::Float16,
        FloatX::Float32 => DType::Float32,
        FloatX::Float64 => DType::Float64,
    }
}

/// The dtype of a Python integer literal: the smallest signed int holding it.
pub fn int_literal_dtype(v: i128) -> DType {
    if i8::try_from(v).is_ok() {
        DType::Int8
    } else if i16::try_from(v).is_ok() {
        DType::Int16
    } else if i32::try_from(v).is_ok() {
        DType::Int32
    } else if i64::try_from(v).is_ok() {
        DType::Int64
    } else {
        DType::UInt64
    }
}

/// The dtype of a Python float literal (SPEC §1.2): float32 when exact in it
/// (or when floatX is float32, or under `cast_policy=numpy+floatX`), else float64.
pub fn float_literal_dtype(v: f64) -> DType {
    let fx = float_x();
    if config::cast_policy() == CastPolicy::NumpyFloatX || fx != DType::Float64 {
        return fx;
    }
    if v.is_nan() || (v as f32) as f64 == v {
        DType::Float32
    } else {
        DType::Float64
    }
}

/// The dtype of an elementwise arithmetic result, applying `cast_policy`.
pub fn arithmetic_upcast(dtypes: &[DType]) -> DType {
    let out = upcast(dtypes);
    if config::cast_policy() == CastPolicy::NumpyFloatX
        && out.is_float()
        && dtypes.iter().any(|d| d.is_discrete())
    {
        return float_x();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promotion_follows_numpy() {
        assert_eq!(promote(Int32, Float32), Float64);
        assert_eq!(promote(Int8, Float32), Float32);
        assert_eq!(promote(Int16, Float16), Float32);
        assert_eq!(promote(Int8, UInt8), Int16);
        assert_eq!(promote(Int64, UInt64), Float64);
        assert_eq!(promote(UInt8, Int32), Int32);
        assert_eq!(promote(Bool, Int8), Int8);
        assert_eq!(promote(Float32, Complex64), Complex64);
        assert_eq!(promote(Float64, Complex64), Complex128);
        assert_eq!(upcast(&[Int32, Int8]), Int32);
    }

    #[test]
    fn int_literals_take_the_smallest_dtype() {
        assert_eq!(int_literal_dtype(1), Int8);
        assert_eq!(int_literal_dtype(300), Int16);
        assert_eq!(int_literal_dtype(1 << 20), Int32);
        assert_eq!(int_literal_dtype(1 << 40), Int64);
    }

    #[test]
    fn unknown_dtype_names_are_type_errors() {
        let err = DType::parse("foo").unwrap_err();
        assert!(
            err.to_string()
                .contains("Unsupported dtype for TensorType: foo")
        );
    }
}
