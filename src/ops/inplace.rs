//! Inplace variants of ops (Theano's `destroy_map`): [`Inplace`] wraps an op
//! and declares which output is written over which input. Only the
//! `inplace` rewrite makes them, after it proved with the destroy handler
//! (`src/rewrite/inplace.rs`) that nobody reads the overwritten buffer later.
//!
//! Names follow Theano: `Elemwise{Add}[(0, 1)]` (the scalar op's class name
//! and the sorted inplace pattern), `Elemwise{Composite{...}}[(0, 0)]`,
//! `IncSubtensor{InplaceSet;::}`, `AdvancedIncSubtensor1{inplace,inc}`,
//! `AdvancedIncSubtensor{inplace=True,  set_instead_of_inc=False}`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::Result;
use crate::memory::Tensor;
use crate::ops::elemwise::ScalarOp;
use crate::ops::elemwise_exec::{Builder, Program, run_program_over_input};
use crate::ops::indexing::scatter_into;
use crate::ops::subtensor::raw_index;
use crate::ops::{Op, advanced_subtensor};
use crate::types::Type;

/// `op` with output `o` written over input `i` for each `(o, i)` of `pattern`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Inplace {
    pub op: Box<Op>,
    /// `(output, input)` pairs, sorted (Theano's `inplace_pattern` items).
    pub pattern: Vec<(usize, usize)>,
}

/// The class name of Theano's scalar op, as an unnamed scalar op prints
/// (the inplace rewrite makes new scalar ops without a name).
pub fn scalar_class_name(op: ScalarOp) -> String {
    use ScalarOp::*;
    let s = match op {
        Cast(d) => return format!("Cast{{{d}}}"),
        Add => "Add",
        Sub => "Sub",
        Mul => "Mul",
        TrueDiv => "TrueDiv",
        IntDiv => "IntDiv",
        Mod => "Mod",
        Pow => "Pow",
        Maximum => "ScalarMaximum",
        Minimum => "ScalarMinimum",
        Eq => "EQ",
        Neq => "NEQ",
        Lt => "LT",
        Le => "LE",
        Gt => "GT",
        Ge => "GE",
        And => "AND",
        Or => "OR",
        Xor => "XOR",
        Neg => "Neg",
        Abs => "Abs",
        Sqr => "Sqr",
        Sqrt => "Sqrt",
        Exp => "Exp",
        Log => "Log",
        Sin => "Sin",
        Cos => "Cos",
        Tanh => "Tanh",
        Sigmoid => "ScalarSigmoid",
        Invert => "Invert",
        Switch => "Switch",
        Exp2 => "Exp2",
        Log2 => "Log2",
        Log10 => "Log10",
        Log1p => "Log1p",
        Expm1 => "Expm1",
        Sgn => "Sgn",
        Floor => "Floor",
        Ceil => "Ceil",
        Trunc => "Trunc",
        RoundHalfToEven => "RoundHalfToEven",
        RoundHalfAwayFromZero => "RoundHalfAwayFromZero",
        Tan => "Tan",
        ArcSin => "ArcSin",
        ArcCos => "ArcCos",
        ArcTan => "ArcTan",
        ArcTan2 => "ArcTan2",
        Sinh => "Sinh",
        Cosh => "Cosh",
        ArcSinh => "ArcSinh",
        ArcCosh => "ArcCosh",
        ArcTanh => "ArcTanh",
        Erf => "Erf",
        Erfc => "Erfc",
        Erfinv => "Erfinv",
        Gamma => "Gamma",
        GammaLn => "GammaLn",
        Psi => "Psi",
        TriGamma => "TriGamma",
        TetraGamma => "TetraGamma",
        Clip => "Clip",
        IsNan => "IsNan",
        IsInf => "IsInf",
        Inv => "Inv",
        Deg2Rad => "Deg2Rad",
        Rad2Deg => "Rad2Deg",
        Softplus => "ScalarSoftplus",
        Second => "Second",
    };
    s.into()
}

/// Python's text of a list of pairs: `[(0, 1)]`.
fn pattern_text(pattern: &[(usize, usize)]) -> String {
    let items: Vec<String> = pattern.iter().map(|(o, i)| format!("({o}, {i})")).collect();
    format!("[{}]", items.join(", "))
}

/// Python's text of a `destroy_map`/`view_map` dict: `{0: [1]}`.
pub fn map_text(pairs: &[(usize, usize)]) -> String {
    let items: Vec<String> = pairs.iter().map(|(o, i)| format!("{o}: [{i}]")).collect();
    format!("{{{}}}", items.join(", "))
}

impl Inplace {
    /// `op` writing its only output over input `input`.
    pub fn new(op: Op, input: usize) -> Inplace {
        Inplace {
            op: Box::new(op),
            pattern: vec![(0, input)],
        }
    }

    pub fn display_name(&self, first_input: Option<&Type>) -> String {
        let inner = self.op.display_name(first_input);
        match &*self.op {
            Op::Elemwise(e) => format!(
                "Elemwise{{{}}}{}",
                scalar_class_name(e.scalar_op),
                pattern_text(&self.pattern)
            ),
            Op::Composite(_) => format!("{inner}{}", pattern_text(&self.pattern)),
            Op::IncSubtensor(_) => inner.replacen('{', "{Inplace", 1),
            Op::AdvancedIncSubtensor1(_) => inner.replacen("no_inplace", "inplace", 1),
            Op::AdvancedIncSubtensor(_) => inner.replacen("inplace=False", "inplace=True", 1),
            Op::Gemm(_) | Op::Gemv(_) => inner.replacen("no_inplace", "inplace", 1),
            _ => format!("{inner}{}", pattern_text(&self.pattern)),
        }
    }

    /// `destroy_map`: the input output `output` is written over.
    pub fn destroys(&self, output: usize) -> Option<usize> {
        self.pattern
            .iter()
            .find(|(o, _)| *o == output)
            .map(|(_, i)| *i)
    }

    /// The inputs `op`'s only output could be written over, given the
    /// node's input and output types (same dtype, and not broadcast: the
    /// output has the input's broadcastable pattern).
    pub fn candidates(op: &Op, inputs: &[&Type], outputs: &[&Type]) -> Vec<usize> {
        let [out] = outputs else {
            return Vec::new();
        };
        let same = |t: &Type| match (t.tensor(), out.tensor()) {
            (Some(a), Some(b)) => a.dtype == b.dtype && a.broadcastable == b.broadcastable,
            _ => false,
        };
        match op {
            Op::Elemwise(e) if !matches!(e.scalar_op, ScalarOp::Cast(_)) => {
                (0..inputs.len()).filter(|&i| same(inputs[i])).collect()
            }
            Op::Composite(_) => (0..inputs.len()).filter(|&i| same(inputs[i])).collect(),
            Op::IncSubtensor(_)
            | Op::AdvancedIncSubtensor1(_)
            | Op::AdvancedIncSubtensor(_)
            | Op::Gemm(_)
            | Op::Gemv(_) => {
                if inputs.first().is_some_and(|t| same(t)) {
                    vec![0]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    /// Computes the output into `dest`, the value of the destroyed input
    /// (`others` holds the other inputs, `None` at the destroyed position).
    /// `Ok(false)` when it cannot (the buffer is shared, borrowed, strided,
    /// or of another shape): the caller then computes a fresh output.
    pub fn perform_over_input(
        &self,
        others: &[Option<&Tensor>],
        dest: &mut Tensor,
    ) -> Result<bool> {
        let Some(&(0, k)) = self.pattern.first() else {
            return Ok(false);
        };
        // The increment ops write a C-contiguous buffer they own alone.
        let scatter = matches!(
            &*self.op,
            Op::IncSubtensor(_) | Op::AdvancedIncSubtensor1(_) | Op::AdvancedIncSubtensor(_)
        );
        if self.pattern.len() != 1 || (scatter && !dest.is_writable()) {
            return Ok(false);
        }
        let all =
            |from: usize| -> Option<Vec<&Tensor>> { others[from..].iter().copied().collect() };
        match &*self.op {
            Op::Elemwise(e) => {
                let dtypes: SmallVec<[DType; 4]> = others
                    .iter()
                    .map(|t| t.map_or(dest.dtype, |t| t.dtype))
                    .collect();
                let program = single_op_program(e.scalar_op, dtypes, dest.dtype)?;
                run_program_over_input(&program, others, k, dest)
            }
            Op::Composite(c) => run_program_over_input(&c.program, others, k, dest),
            Op::IncSubtensor(inc) if k == 0 => {
                let (Some(y), Some(idx)) = (others[1], all(2)) else {
                    return Ok(false);
                };
                let index = raw_index(&inc.idx_list, &idx)?;
                scatter_into(&inc.name(), dest, y, index, inc.set_instead_of_inc)?;
                Ok(true)
            }
            Op::AdvancedIncSubtensor1(inc) if k == 0 => {
                let (Some(y), Some(ilist)) = (others[1], others[2]) else {
                    return Ok(false);
                };
                let index = vec![crate::ops::indexing::RawIndex::from_tensor(ilist)?];
                scatter_into(&inc.name(), dest, y, index, inc.set_instead_of_inc)?;
                Ok(true)
            }
            Op::Gemm(g) if k == 0 => g.perform_over_z(others, dest),
            Op::Gemv(g) if k == 0 => g.perform_over_y(others, dest),
            Op::AdvancedIncSubtensor(inc) if k == 0 => {
                let (Some(y), Some(idx)) = (others[1], all(2)) else {
                    return Ok(false);
                };
                let index = advanced_subtensor::advanced_raw_index(&inc.entries, &idx)?;
                scatter_into(&inc.name(), dest, y, index, inc.set_instead_of_inc)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The operand dtypes and output dtype of a one-op elementwise program.
type ProgramKey = (ScalarOp, SmallVec<[DType; 4]>, DType);

thread_local! {
    /// The programs of in-place `Elemwise` nodes, built once per thread and
    /// scalar op and dtypes rather than on every call (a scalar update such
    /// as a counter's spends a noticeable part of its call building it).
    static SINGLE_OP_PROGRAMS: RefCell<HashMap<ProgramKey, Rc<Program>>> =
        RefCell::new(HashMap::new());
}

/// The program computing `op` of operands of `dtypes` into `out`.
fn single_op_program(
    op: ScalarOp,
    dtypes: SmallVec<[DType; 4]>,
    out: DType,
) -> Result<Rc<Program>> {
    let key = (op, dtypes, out);
    if let Some(p) = SINGLE_OP_PROGRAMS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(p);
    }
    let mut b = Builder::new(&key.1);
    let args: Vec<_> = (0..key.1.len()).map(|i| b.input(i)).collect();
    let r = b.apply(op, &args, out)?;
    let program = Rc::new(b.finish(r));
    SINGLE_OP_PROGRAMS.with(|c| c.borrow_mut().insert(key, program.clone()));
    Ok(program)
}
