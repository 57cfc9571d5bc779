//! Ops: one file per family. [`Op`] is the closed set the core knows; each
//! variant names itself as Theano does, infers its output types, computes its
//! value on the CPU and declares which outputs are views of which inputs.

pub mod advanced_subtensor;
pub mod alloc;
pub mod arange;
pub mod argmax;
pub mod assert;
pub mod axis;
pub mod batched_dot;
pub mod blas;
pub mod composite;
pub mod conv;
pub mod elemwise;
pub mod elemwise_exec;
pub mod elemwise_grad;
pub mod elemwise_kernels;
pub mod external;
pub mod eye;
pub mod gemm;
pub mod gemv;
pub mod grad;
pub mod inc_subtensor;
pub mod indexing;
pub mod infer_shape;
pub mod inplace;
pub mod join;
pub mod nnet;
pub mod nonzero;
pub mod pool;
pub mod random;
pub mod rebroadcast;
pub mod reduce;
pub mod reduce_composite;
pub mod reduce_kernels;
pub mod repeat;
pub mod scalar;
pub mod scalar_math;
pub mod shape;
pub(crate) mod simd;
pub mod structure_grad;
pub mod subtensor;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::types::{TensorType, Type};

pub use advanced_subtensor::{
    AdvIdx, AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor,
};
pub use argmax::MaxAndArgmax;
pub use assert::Assert;
pub use composite::Composite;
pub use conv::{BorderMode, ConvOp, ConvParams};
pub use elemwise::{Elemwise, ScalarOp};
pub use external::{ExternalImpl, ExternalOp};
pub use gemm::{Dot22, Gemm, Gemv};
pub use inc_subtensor::IncSubtensor;
pub use inplace::Inplace;
pub use nnet::NnetOp;
pub use pool::{PoolMode, PoolOp};
pub use random::RandomFunction;
pub use rebroadcast::Rebroadcast;
pub use reduce::{Reduce, ReduceKind};
pub use shape::DimShuffle;
pub use subtensor::{IdxEntry, Subtensor};

/// The values a node computes (no heap allocation for one or two outputs).
pub type Outputs = smallvec::SmallVec<[Tensor; 2]>;

/// What an op knows about one input when inferring types: its type, and its
/// value when it is a constant.
pub struct InputInfo<'a> {
    pub ty: &'a Type,
    pub constant: Option<&'a Tensor>,
}

/// Every op of the core.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Elemwise(Elemwise),
    DimShuffle(DimShuffle),
    Subtensor(Subtensor),
    /// A 0-d tensor seen as a scalar (for Subtensor's indices).
    ScalarFromTensor,
    /// A copy of its input into fresh memory (output protection).
    DeepCopy,
    /// Its input, as an alias (output protection with `borrow=True`).
    ViewOp,
    /// `x.shape`.
    Shape,
    /// `x.shape[i]`.
    ShapeI(usize),
    /// `Reshape{ndim}(x, shape)`.
    Reshape(usize),
    /// `Flatten{outdim}(x)`.
    Flatten(usize),
    /// A vector of scalars.
    MakeVector(DType),
    /// `dot` of vectors and matrices.
    Dot,
    Reduce(Reduce),
    /// An op defined outside the core (a Python `Op` subclass); graphs
    /// holding one are pickled by the bindings, not serialized here.
    #[serde(skip)]
    External(ExternalOp),
    /// `Join(axis, *tensors)`: concatenation along a symbolic axis.
    Join,
    /// `Split{n}(x, axis, splits)`: `n` pieces along a symbolic axis.
    Split(usize),
    /// `Alloc(value, *shape)`: `value` broadcast to a new tensor.
    Alloc,
    /// `ARange{dtype}(start, stop, step)`.
    ARange(DType),
    /// `Eye{dtype}(n, m, k)`.
    Eye(DType),
    /// `RepeatOp{axis}(x, repeats)`; `None` repeats the flattened input.
    Repeat(Option<usize>),
    /// New broadcastable flags, checked at run time (a view).
    Rebroadcast(Rebroadcast),
    /// Max and argmax over axes (two outputs).
    MaxAndArgmax(MaxAndArgmax),
    /// `BatchedDot(x, y)` of 2-d/3-d batches.
    BatchedDot,
    /// Indices of the non-zero elements, an (ndim, count) int64 matrix.
    Nonzero,
    /// `set_subtensor`/`inc_subtensor` on basic indexing.
    IncSubtensor(IncSubtensor),
    /// `x[ivec]` along the first axis.
    AdvancedSubtensor1,
    AdvancedIncSubtensor1(AdvancedIncSubtensor1),
    /// NumPy advanced indexing (integer arrays, boolean masks, slices).
    AdvancedSubtensor(AdvancedSubtensor),
    AdvancedIncSubtensor(AdvancedIncSubtensor),
    /// Its input, with a zero gradient (`theano.gradient.zero_grad`).
    ZeroGrad,
    /// Its input, with no gradient path (`theano.gradient.disconnected_grad`).
    DisconnectedGrad,
    /// A draw from a random stream: `(state, size, params...)` to
    /// `(new_state, sample)`.
    Random(RandomFunction),
    /// Softmax, log-softmax, the categorical cross-entropies and their gradients.
    Nnet(NnetOp),
    /// `AbstractConv2d` and its gradient ops.
    Conv(ConvOp),
    /// `Gemm{no_inplace}(z, a, x, y, b)`: `b·z + a·dot(x, y)` (the gemm rewrite).
    Gemm(Gemm),
    /// `Gemv{no_inplace}(y, alpha, A, x, beta)`: `beta·y + alpha·dot(A, x)`.
    Gemv(Gemv),
    /// `Dot22(x, y)` / `Dot22Scalar(x, y, a)`: a product of two matrices.
    Dot22(Dot22),
    /// `Assert{msg}(x, c_1, ..., c_k)`: `x`, once every 0-d condition holds.
    Assert(Assert),
    /// `Pool`, `MaxPoolGrad`, `AveragePoolGrad`.
    Pool(PoolOp),
    /// `Elemwise{Composite{...}}`: fused elementwise ops.
    /// Only made by the fusion rewrite, so never in a pickled user graph.
    #[serde(skip)]
    Composite(std::sync::Arc<Composite>),
    /// A loop over an inner graph (`src/scan.rs`); serialized with its
    /// inner graph (`src/scan/state.rs`).
    Scan(crate::scan::ScanOp),
    /// An op writing an output over one of its inputs (`destroy_map`);
    /// only made by the `inplace` rewrite.
    Inplace(Inplace),
    /// A reduction of an elementwise expression in one pass, e.g.
    /// `Sum{acc_dtype=float64}{Composite{sqr(i0)}}` (the
    /// `local_careduce_fusion` rewrite); no gradient.
    ReduceComposite(Box<reduce_composite::ReduceComposite>),
}

impl Op {
    /// The op's name as debugprint shows it. `input` is the first input's
    /// dtype (Sum's name mentions its accumulator).
    pub fn display_name(&self, first_input: Option<&Type>) -> String {
        match self {
            Op::Elemwise(e) => e.name(),
            Op::DimShuffle(d) => d.name(),
            Op::Subtensor(s) => s.name(),
            Op::ScalarFromTensor => "ScalarFromTensor".into(),
            Op::DeepCopy => "DeepCopyOp".into(),
            Op::ViewOp => "ViewOp".into(),
            Op::Shape => "Shape".into(),
            Op::ShapeI(i) => format!("Shape_i{{{i}}}"),
            Op::Reshape(n) => format!("Reshape{{{n}}}"),
            Op::Flatten(n) => format!("Flatten{{{n}}}"),
            Op::MakeVector(d) => format!("MakeVector{{dtype='{d}'}}"),
            Op::Dot => "dot".into(),
            Op::Reduce(r) => r.name(first_input.map(|t| t.dtype()).unwrap_or(DType::Float64)),
            Op::External(e) => e.imp.name(),
            Op::Join => "Join".into(),
            Op::Split(n) => format!("Split{{{n}}}"),
            Op::Alloc => "Alloc".into(),
            Op::ARange(d) => format!("ARange{{dtype='{d}'}}"),
            Op::Eye(d) => format!("Eye{{dtype='{d}'}}"),
            Op::Repeat(axis) => repeat::repeat_name(*axis),
            Op::Rebroadcast(r) => r.name(),
            Op::MaxAndArgmax(m) => m.name(),
            Op::BatchedDot => "BatchedDot".into(),
            Op::Nonzero => "Nonzero".into(),
            Op::IncSubtensor(i) => i.name(),
            Op::AdvancedSubtensor1 => "AdvancedSubtensor1".into(),
            Op::AdvancedIncSubtensor1(i) => i.name(),
            Op::AdvancedSubtensor(a) => a.name(),
            Op::AdvancedIncSubtensor(a) => a.name(),
            Op::ZeroGrad => "ZeroGrad".into(),
            Op::DisconnectedGrad => "DisconnectedGrad".into(),
            Op::Random(r) => r.name(),
            Op::Nnet(n) => n.name().into(),
            Op::Conv(c) => c.name(),
            Op::Gemm(g) => g.name(),
            Op::Gemv(g) => g.name(),
            Op::Dot22(d) => d.name(),
            Op::Assert(a) => a.name(),
            Op::Pool(p) => p.name(),
            Op::Composite(c) => c.display_name(),
            Op::Scan(s) => s.display_name(),
            Op::Inplace(i) => i.display_name(first_input),
            Op::ReduceComposite(r) => r.display_name(),
        }
    }

    /// The name without input-dependent details.
    pub fn name(&self) -> String {
        self.display_name(None)
    }

    /// The output types for inputs of these types (errors name the op).
    pub fn output_types(&self, inputs: &[InputInfo]) -> Result<Vec<Type>> {
        let types: Vec<&Type> = inputs.iter().map(|i| i.ty).collect();
        let want = |n: usize| -> Result<()> {
            if types.len() != n {
                return Err(Error::Type(format!(
                    "{} takes {} inputs, got {}",
                    self.name(),
                    n,
                    types.len()
                )));
            }
            Ok(())
        };
        match self {
            Op::Elemwise(e) => e.output_types(&types),
            Op::DimShuffle(d) => {
                want(1)?;
                d.output_types(&types)
            }
            Op::Subtensor(s) => s.output_types(&types),
            Op::ScalarFromTensor => {
                want(1)?;
                match types[0] {
                    Type::Tensor(t) if t.ndim() == 0 => Ok(vec![Type::Scalar(t.dtype)]),
                    t => Err(Error::Type(format!(
                        "ScalarFromTensor expects a 0-d tensor, got {t}"
                    ))),
                }
            }
            Op::DeepCopy | Op::ViewOp => {
                want(1)?;
                Ok(vec![types[0].clone()])
            }
            Op::Shape => {
                want(1)?;
                Ok(vec![Type::Tensor(TensorType::new(DType::Int64, &[false]))])
            }
            Op::ShapeI(i) => {
                want(1)?;
                if *i >= types[0].ndim() {
                    return Err(Error::Index(format!(
                        "Shape_i{{{i}}} of a {}-dimensional {}",
                        types[0].ndim(),
                        types[0]
                    )));
                }
                Ok(vec![Type::Tensor(TensorType::new(DType::Int64, &[]))])
            }
            Op::Reshape(n) => {
                want(2)?;
                shape::reshape_output_types(*n, &types, inputs[1].constant)
            }
            Op::Flatten(n) => {
                want(1)?;
                shape::flatten_output_types(*n, &types)
            }
            Op::MakeVector(d) => {
                for t in &types {
                    if t.ndim() != 0 {
                        return Err(Error::Type(format!(
                            "MakeVector expects 0-d inputs, got {t}"
                        )));
                    }
                }
                // Never broadcastable, even with one entry (as in Theano), so
                // that it can stand for `x.shape` of a vector.
                Ok(vec![Type::Tensor(TensorType::new(*d, &[false]))])
            }
            Op::Dot => {
                want(2)?;
                blas::dot_output_types(&types)
            }
            Op::Reduce(r) => {
                want(1)?;
                r.output_types(&types)
            }
            Op::External(e) => Ok(e.out_types.clone()),
            Op::Join => join::join_output_types(inputs),
            Op::Split(n) => {
                want(3)?;
                join::split_output_types(*n, inputs)
            }
            Op::Alloc => alloc::alloc_output_types(inputs),
            Op::ARange(d) => {
                want(3)?;
                arange::arange_output_types(*d, &types)
            }
            Op::Eye(d) => {
                want(3)?;
                eye::eye_output_types(*d, &types)
            }
            Op::Repeat(axis) => {
                want(2)?;
                repeat::repeat_output_types(*axis, inputs)
            }
            Op::Rebroadcast(r) => {
                want(1)?;
                r.output_types(&types)
            }
            Op::MaxAndArgmax(m) => {
                want(1)?;
                m.output_types(&types)
            }
            Op::BatchedDot => {
                want(2)?;
                batched_dot::batched_dot_output_types(&types)
            }
            Op::Nonzero => {
                want(1)?;
                nonzero::nonzero_output_types(&types)
            }
            Op::IncSubtensor(i) => i.output_types(&types),
            Op::AdvancedSubtensor1 => {
                want(2)?;
                advanced_subtensor::subtensor1_output_types(&types)
            }
            Op::AdvancedIncSubtensor1(i) => i.output_types(&types),
            Op::AdvancedSubtensor(a) => a.output_types(&types),
            Op::AdvancedIncSubtensor(a) => a.output_types(&types),
            Op::ZeroGrad | Op::DisconnectedGrad => {
                want(1)?;
                Ok(vec![types[0].clone()])
            }
            Op::Random(r) => r.output_types(inputs),
            Op::Nnet(n) => n.output_types(&types),
            Op::Conv(c) => c.output_types(&types),
            Op::Gemm(g) => g.output_types(&types),
            Op::Gemv(g) => g.output_types(&types),
            Op::Dot22(d) => d.output_types(&types),
            Op::Assert(a) => a.output_types(&types),
            Op::Pool(p) => p.output_types(inputs),
            Op::Composite(c) => c.output_types(&types),
            Op::Scan(s) => s.output_types(inputs),
            Op::Inplace(i) => i.op.output_types(inputs),
            Op::ReduceComposite(r) => r.output_types(&types),
        }
    }

    /// Computes the outputs from input values; `out_types` are the node's output types.
    pub fn perform(&self, inputs: &[&Tensor], out_types: &[Type]) -> Result<Outputs> {
        self.perform_checked(inputs, out_types, false)
    }

    /// [`Op::perform`]; with `checked` (DebugMode), ops that cannot be
    /// trusted (external ones) also check what they declared about aliasing.
    pub fn perform_checked(
        &self,
        inputs: &[&Tensor],
        out_types: &[Type],
        checked: bool,
    ) -> Result<Outputs> {
        let out_dtype = out_types
            .first()
            .map(|t| t.dtype())
            .unwrap_or(DType::Float64);
        let one = |t: Tensor| -> Result<Outputs> { Ok(smallvec::smallvec![t]) };
        match self {
            Op::Elemwise(e) => one(e.perform(inputs, out_dtype)?),
            Op::DimShuffle(d) => one(d.perform(inputs[0])?),
            Op::Subtensor(s) => one(s.perform(inputs)?),
            Op::ScalarFromTensor | Op::ViewOp => one(inputs[0].clone()),
            Op::DeepCopy => one(inputs[0].deep_copy()?),
            Op::Shape => one(shape::shape_perform(inputs[0])?),
            Op::ShapeI(i) => one(shape::shape_i_perform(*i, inputs[0])?),
            Op::Reshape(_) => one(shape::reshape_perform(inputs[0], inputs[1])?),
            Op::Flatten(n) => one(shape::flatten_perform(*n, inputs[0])?),
            Op::MakeVector(d) => one(shape::make_vector_perform(*d, inputs)?),
            Op::Dot => one(blas::dot_perform(inputs[0], inputs[1], out_dtype)?),
            Op::Reduce(r) => one(r.perform(inputs[0])?),
            Op::External(e) => e.imp.perform(inputs, out_types, checked),
            Op::Join => one(join::join_perform(inputs, out_dtype)?),
            Op::Split(n) => join::split_perform(*n, inputs),
            Op::Alloc => one(alloc::alloc_perform(inputs)?),
            Op::ARange(d) => one(arange::arange_perform(*d, inputs)?),
            Op::Eye(d) => one(eye::eye_perform(*d, inputs)?),
            Op::Repeat(axis) => one(repeat::repeat_perform(*axis, inputs)?),
            Op::Rebroadcast(r) => one(r.perform(inputs[0])?),
            Op::MaxAndArgmax(m) => m.perform(inputs[0]),
            Op::BatchedDot => one(batched_dot::batched_dot_perform(
                inputs[0], inputs[1], out_dtype,
            )?),
            Op::Nonzero => one(nonzero::nonzero_perform(inputs[0])?),
            Op::IncSubtensor(i) => one(i.perform(inputs)?),
            Op::AdvancedSubtensor1 => one(advanced_subtensor::subtensor1_perform(
                inputs[0], inputs[1],
            )?),
            Op::AdvancedIncSubtensor1(i) => one(i.perform(inputs)?),
            Op::AdvancedSubtensor(a) => one(a.perform(inputs)?),
            Op::AdvancedIncSubtensor(a) => one(a.perform(inputs)?),
            Op::ZeroGrad | Op::DisconnectedGrad => one(inputs[0].clone()),
            Op::Random(r) => r.perform(inputs),
            Op::Nnet(n) => n.perform(inputs, out_types),
            Op::Conv(c) => c.perform(inputs, out_types),
            Op::Gemm(g) => one(g.perform(inputs, out_dtype)?),
            Op::Gemv(g) => one(g.perform(inputs, out_dtype)?),
            Op::Dot22(d) => one(d.perform(inputs, out_dtype)?),
            Op::Assert(a) => one(a.perform(inputs)?),
            Op::Pool(p) => p.perform(inputs, out_types),
            Op::Composite(c) => one(c.perform(inputs)?),
            Op::Scan(s) => s.perform(inputs, out_types),
            // A fresh output: the VM writes over the input itself when it
            // may (`Inplace::perform_over_input`).
            Op::Inplace(i) => i.op.perform_checked(inputs, out_types, checked),
            Op::ReduceComposite(r) => one(r.perform(inputs)?),
        }
    }

    /// Computes a single output into `out`, a value of this node's output
    /// slot from an earlier run that nobody else holds, when the op can:
    /// `Ok(true)` when it did, `Ok(false)` when the caller must `perform`
    /// (other ops, shapes or dtypes). Scan's loop and functions run with
    /// `allow_gc=False` reuse buffers this way.
    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        match self {
            Op::Elemwise(e) => e.perform_into(inputs, out),
            Op::Dot => blas::dot_perform_into(inputs[0], inputs[1], out),
            Op::Gemm(g) => g.perform_into(inputs, out),
            Op::Gemv(g) => g.perform_into(inputs, out),
            Op::Dot22(d) => d.perform_into(inputs, out),
            Op::Composite(c) => elemwise_exec::run_program_into(&c.program, inputs, out),
            _ => Ok(false),
        }
    }

    /// Whether [`Op::perform_into`] may write into an old output.
    pub fn writes_into(&self) -> bool {
        matches!(
            self,
            Op::Elemwise(_) | Op::Composite(_) | Op::Dot | Op::Dot22(_) | Op::Gemm(_) | Op::Gemv(_)
        )
    }

    /// `view_map`: the input an output may alias, if any.
    pub fn view_of(&self, output: usize) -> Option<usize> {
        if let Op::External(e) = self {
            return e.view_of(output);
        }
        if let Op::Inplace(i) = self {
            return i.op.view_of(output);
        }
        match (self, output) {
            (
                Op::DimShuffle(_)
                | Op::Subtensor(_)
                | Op::ScalarFromTensor
                | Op::ViewOp
                | Op::Assert(_)
                | Op::Reshape(_)
                | Op::Flatten(_)
                | Op::Rebroadcast(_)
                | Op::ZeroGrad
                | Op::DisconnectedGrad,
                0,
            ) => Some(0),
            _ => None,
        }
    }

    /// `destroy_map`: the input an output is written over, if any.
    pub fn destroys(&self, output: usize) -> Option<usize> {
        match self {
            Op::External(e) => e
                .destroy_map
                .iter()
                .find(|(o, _)| *o == output)
                .map(|(_, i)| *i),
            Op::Inplace(i) => i.destroys(output),
            _ => None,
        }
    }

    /// The op as text that [`Op::from_state`] reads back (pickling).
    pub fn to_state(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::NotImplemented(format!("cannot serialize {}: {e}", self.name())))
    }

    /// The op [`Op::to_state`] wrote.
    pub fn from_state(state: &str) -> Result<Op> {
        serde_json::from_str(state)
            .map_err(|e| Error::Value(format!("not a serialized op ({e}): {state}")))
    }

    /// Whether constant folding may evaluate this op at compile time.
    /// `Assert` is not folded: a condition that fails raises when the
    /// function runs, not when it is compiled. `Alloc` is not folded (as in
    /// Theano): its output is a fresh buffer that would otherwise become a
    /// large constant copied at every call.
    pub fn is_foldable(&self) -> bool {
        !matches!(
            self,
            Op::DeepCopy
                | Op::ViewOp
                | Op::Assert(_)
                | Op::External(_)
                | Op::Alloc
                | Op::Random(_)
                | Op::Scan(_)
                | Op::Inplace(_)
        )
    }
}
