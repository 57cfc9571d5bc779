//! Types of graph variables: tensors with a broadcastable pattern, and the
//! scalars that Subtensor's indices are made of.

use smallvec::SmallVec;

use crate::dtype::DType;

/// Broadcastable flags, one per dimension.
pub type Broadcastable = SmallVec<[bool; 6]>;

/// `TensorType(dtype, broadcastable)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct TensorType {
    pub dtype: DType,
    pub broadcastable: Broadcastable,
}

impl TensorType {
    pub fn new(dtype: DType, broadcastable: &[bool]) -> TensorType {
        TensorType {
            dtype,
            broadcastable: broadcastable.into(),
        }
    }

    pub fn ndim(&self) -> usize {
        self.broadcastable.len()
    }

    /// Theano's short name of a pattern: scalar, vector, matrix, row, col, 3D...
    pub fn pattern_name(&self) -> String {
        let b = &self.broadcastable[..];
        match b {
            [] => "scalar".into(),
            [false] => "vector".into(),
            [false, false] => "matrix".into(),
            [true, false] => "row".into(),
            [false, true] => "col".into(),
            _ if b.iter().all(|x| !x) => format!("{}D", b.len()),
            _ => {
                let parts: Vec<&str> = b
                    .iter()
                    .map(|&x| if x { "True" } else { "False" })
                    .collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
        }
    }

    /// True when a value of type `other` may stand where this type is expected:
    /// same dtype and ndim, and `other` at least as broadcastable.
    pub fn accepts(&self, other: &TensorType) -> bool {
        self.dtype == other.dtype
            && self.ndim() == other.ndim()
            && self
                .broadcastable
                .iter()
                .zip(other.broadcastable.iter())
                .all(|(&mine, &theirs)| theirs || !mine)
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TensorType({}, {})", self.dtype, self.pattern_name())
    }
}

/// The type of a graph variable.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Type {
    Tensor(TensorType),
    /// A scalar of Theano's `scalar` module (Subtensor indices, ScalarFromTensor).
    Scalar(DType),
}

impl Type {
    pub fn dtype(&self) -> DType {
        match self {
            Type::Tensor(t) => t.dtype,
            Type::Scalar(d) => *d,
        }
    }
    pub fn ndim(&self) -> usize {
        match self {
            Type::Tensor(t) => t.ndim(),
            Type::Scalar(_) => 0,
        }
    }
    pub fn broadcastable(&self) -> Broadcastable {
        match self {
            Type::Tensor(t) => t.broadcastable.clone(),
            Type::Scalar(_) => Broadcastable::new(),
        }
    }
    pub fn tensor(&self) -> Option<&TensorType> {
        match self {
            Type::Tensor(t) => Some(t),
            Type::Scalar(_) => None,
        }
    }
    pub fn is_scalar_type(&self) -> bool {
        matches!(self, Type::Scalar(_))
    }
    /// True when values of `other` may be used where this type is expected.
    pub fn accepts(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Tensor(a), Type::Tensor(b)) => a.accepts(b),
            (Type::Scalar(a), Type::Scalar(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Tensor(t) => t.fmt(f),
            Type::Scalar(d) => write!(f, "Scalar({d})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_theano_does() {
        assert_eq!(
            TensorType::new(DType::Float64, &[false, false]).to_string(),
            "TensorType(float64, matrix)"
        );
        assert_eq!(
            TensorType::new(DType::Float32, &[true, false]).to_string(),
            "TensorType(float32, row)"
        );
        assert_eq!(
            TensorType::new(DType::Int64, &[]).to_string(),
            "TensorType(int64, scalar)"
        );
        assert_eq!(
            TensorType::new(DType::Float64, &[false; 3]).to_string(),
            "TensorType(float64, 3D)"
        );
        assert_eq!(
            TensorType::new(DType::Float64, &[true, true]).to_string(),
            "TensorType(float64, (True, True))"
        );
    }

    #[test]
    fn a_more_broadcastable_type_is_accepted() {
        let matrix = TensorType::new(DType::Float64, &[false, false]);
        let row = TensorType::new(DType::Float64, &[true, false]);
        assert!(matrix.accepts(&row));
        assert!(!row.accepts(&matrix));
    }
}
