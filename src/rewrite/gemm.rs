//! The `gemm` rewrite (Theano's `local_gemm_to_gemm`/`GemmOptimizer`, tags
//! 'specialize', 'blas'): an elementwise sum of scaled terms, one of which is
//! `dot(x, y)` of matrices and another a matrix `z` of the same dtype, becomes
//! `Gemm{no_inplace}(z, a, x, y, b)` plus the terms left over;
//! `dot(A, v)` (or `dot(v, A)`) of a matrix and a vector with a vector term
//! becomes `Gemv{no_inplace}`.
//!
//! The sum is read through `add`, `sub`, `neg` and `mul` by scalars (0-d
//! values broadcast by a DimShuffle, or constants with one element), e.g.
//! `z - lr * dot(x, y)`, `a * dot(x, y) + b * z`, `dot(x, y) + z`, and the
//! MLP's `W - lr * (dot(x.T, gz) + l2 * W)` (which becomes
//! `Gemm(W, -lr, x.T, gz, 1 - lr * l2)`: terms of one variable are summed
//! into one, and several different addends are summed elementwise into
//! `z`). Only nodes that compute in
//! the output's dtype and whose results nobody else reads are looked
//! through, so no work is done twice. It runs before elementwise fusion.

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph, NodeId, VarId};
use crate::memory::Tensor;
use crate::ops::scalar::{cast_tensor, read_all};
use crate::ops::{DimShuffle, Elemwise, Gemm, Gemv, Op, ScalarOp};
use crate::types::{TensorType, Type};
use std::collections::HashMap;

/// A scalar factor: a constant value or a 0-d variable.
#[derive(Clone, Copy)]
enum Factor {
    Const(f64),
    Var(VarId),
}

/// One term of the sum: `coef · Π vars · var`.
#[derive(Clone)]
struct Term {
    coef: f64,
    vars: Vec<VarId>,
    var: VarId,
}

struct Ctx<'a> {
    fg: &'a FunctionGraph,
    clients: &'a HashMap<VarId, Vec<(NodeId, usize)>>,
    dtype: DType,
}

impl Ctx<'_> {
    /// Whether `v` is read only by one node and is no graph output.
    fn private(&self, v: VarId) -> bool {
        self.clients.get(&v).is_some_and(|c| c.len() == 1) && !self.fg.outputs.contains(&v)
    }

    /// `v` as a scalar factor, when every axis is broadcastable and it holds
    /// one value: a constant, or a DimShuffle of a 0-d variable of the dtype.
    fn factor(&self, v: VarId) -> Option<Factor> {
        let Type::Tensor(t) = &self.fg.vars[v].ty else {
            return None;
        };
        if !t.broadcastable.iter().all(|&b| b) || t.dtype != self.dtype {
            return None;
        }
        if let Some(c) = self.fg.constant(v) {
            if c.size() != 1 || c.dtype.is_complex() {
                return None;
            }
            let value = read_all::<f64>(&cast_tensor(c, DType::Float64).ok()?).ok()?;
            return Some(Factor::Const(value[0]));
        }
        if t.ndim() == 0 {
            return Some(Factor::Var(v));
        }
        let (n, _) = self.fg.owner(v)?;
        let node = &self.fg.nodes[n];
        match &node.op {
            Op::DimShuffle(d) if d.input_ndim == 0 => Some(Factor::Var(node.inputs[0])),
            _ => None,
        }
    }

    /// The terms of `v`; `root` is looked through whoever reads it.
    fn terms(&self, v: VarId, root: bool, out: &mut Vec<Term>) {
        let leaf = |out: &mut Vec<Term>| {
            out.push(Term {
                coef: 1.0,
                vars: vec![],
                var: v,
            })
        };
        let Some((n, _)) = self.fg.owner(v) else {
            return leaf(out);
        };
        let node = &self.fg.nodes[n];
        let Op::Elemwise(e) = &node.op else {
            return leaf(out);
        };
        let same_dtype = node
            .inputs
            .iter()
            .all(|&i| self.fg.vars[i].ty.dtype() == self.dtype);
        if !(root || self.private(v)) || !same_dtype {
            return leaf(out);
        }
        let start = out.len();
        match e.scalar_op {
            ScalarOp::Add => {
                for &i in &node.inputs {
                    self.terms(i, false, out);
                }
            }
            ScalarOp::Sub if node.inputs.len() == 2 => {
                self.terms(node.inputs[0], false, out);
                let mid = out.len();
                self.terms(node.inputs[1], false, out);
                out[mid..].iter_mut().for_each(|t| t.coef = -t.coef);
            }
            ScalarOp::Neg => {
                self.terms(node.inputs[0], false, out);
                out[start..].iter_mut().for_each(|t| t.coef = -t.coef);
            }
            ScalarOp::Mul => {
                let factors: Vec<Option<Factor>> =
                    node.inputs.iter().map(|&i| self.factor(i)).collect();
                let others: Vec<VarId> = node
                    .inputs
                    .iter()
                    .zip(&factors)
                    .filter(|(_, f)| f.is_none())
                    .map(|(&i, _)| i)
                    .collect();
                if others.len() != 1 {
                    return leaf(out);
                }
                self.terms(others[0], false, out);
                for f in factors.into_iter().flatten() {
                    for t in &mut out[start..] {
                        match f {
                            Factor::Const(c) => t.coef *= c,
                            Factor::Var(s) => t.vars.push(s),
                        }
                    }
                }
            }
            _ => leaf(out),
        }
    }

    /// `(x, y)` when `v` is a `dot` only this sum reads, of operands of the
    /// sum's dtype with ranks `ranks`.
    fn dot_operands(&self, v: VarId, ranks: &[(usize, usize)]) -> Option<(VarId, VarId)> {
        let (n, _) = self.fg.owner(v)?;
        let node = &self.fg.nodes[n];
        if node.op != Op::Dot || !self.private(v) {
            return None;
        }
        let (x, y) = (node.inputs[0], node.inputs[1]);
        let (tx, ty) = (&self.fg.vars[x].ty, &self.fg.vars[y].ty);
        let ok = tx.dtype() == self.dtype
            && ty.dtype() == self.dtype
            && ranks.contains(&(tx.ndim(), ty.ndim()));
        ok.then_some((x, y))
    }
}

fn tensor_type(dtype: DType, bcast: &[bool]) -> Type {
    Type::Tensor(TensorType::new(dtype, bcast))
}

/// A constant leaf holding `value` with `ndim` broadcastable axes.
fn constant(fg: &mut FunctionGraph, value: f64, dtype: DType, ndim: usize) -> Result<VarId> {
    let shape = vec![1; ndim];
    let t = cast_tensor(
        &Tensor::from_slice(DType::Float64, &shape, &[value])?,
        dtype,
    )?;
    let ty = tensor_type(dtype, &vec![true; ndim]);
    Ok(fg.add_leaf(ty, FVarKind::Constant(t), None, None))
}

fn elemwise(fg: &mut FunctionGraph, op: ScalarOp, inputs: Vec<VarId>) -> Result<VarId> {
    Ok(fg.add_node(Op::Elemwise(Elemwise { scalar_op: op }), inputs)?[0])
}

/// The 0-d scale `coef · Π vars`.
fn scale(fg: &mut FunctionGraph, t: &Term, dtype: DType) -> Result<VarId> {
    let mut acc = match t.vars.first() {
        Some(&v) => v,
        None => return constant(fg, t.coef, dtype, 0),
    };
    for &v in &t.vars[1..] {
        acc = elemwise(fg, ScalarOp::Mul, vec![acc, v])?;
    }
    if t.coef != 1.0 {
        let c = constant(fg, t.coef, dtype, 0)?;
        acc = elemwise(fg, ScalarOp::Mul, vec![c, acc])?;
    }
    Ok(acc)
}

/// `t` with its scale applied: `scale · t.var`, the scale broadcast to `ndim` axes.
fn scaled(fg: &mut FunctionGraph, t: &Term, dtype: DType, ndim: usize) -> Result<VarId> {
    let s = if t.vars.is_empty() {
        constant(fg, t.coef, dtype, ndim)?
    } else {
        let s = scale(fg, t, dtype)?;
        let ds = DimShuffle::new(&[], vec![None; ndim], true)?;
        fg.add_node(Op::DimShuffle(ds), vec![s])?[0]
    };
    elemwise(fg, ScalarOp::Mul, vec![s, t.var])
}

/// `acc + t` for a left-over term, with its scale broadcast to `ndim` axes.
fn add_term(
    fg: &mut FunctionGraph,
    acc: VarId,
    t: &Term,
    dtype: DType,
    ndim: usize,
) -> Result<VarId> {
    if t.vars.is_empty() && (t.coef == 1.0 || t.coef == -1.0) {
        let op = if t.coef == 1.0 {
            ScalarOp::Add
        } else {
            ScalarOp::Sub
        };
        return elemwise(fg, op, vec![acc, t.var]);
    }
    let term = scaled(fg, t, dtype, ndim)?;
    elemwise(fg, ScalarOp::Add, vec![acc, term])
}

/// `w` when `v` is `w.T` (a DimShuffle{1,0} of the matrix `w`).
fn transposed(fg: &FunctionGraph, v: VarId) -> Option<VarId> {
    let (n, _) = fg.owner(v)?;
    match &fg.nodes[n].op {
        Op::DimShuffle(d) if d.new_order == [Some(1), Some(0)] => Some(fg.nodes[n].inputs[0]),
        _ => None,
    }
}

/// Terms of one variable with the same symbolic scale summed into one:
/// the MLP's `W + (-lr·l2)·W` is `(1 - lr·l2)·W`, which Gemm scales as its
/// `b` while it copies `W`. Terms whose constants cancel stay apart (`W - W`
/// is NaN where `W` is infinite, and Gemm would not read `W` at `b = 0`).
fn merge_like_terms(terms: Vec<Term>) -> Vec<Term> {
    let mut merged: Vec<Term> = Vec::with_capacity(terms.len());
    for t in terms {
        match merged
            .iter_mut()
            .find(|m| m.var == t.var && m.vars == t.vars && m.coef + t.coef != 0.0)
        {
            Some(m) => m.coef += t.coef,
            None => merged.push(t),
        }
    }
    merged
}

/// Rewrites the sum at `root` when it holds a product and an addend for it;
/// returns whether it did.
fn rewrite_sum(
    fg: &mut FunctionGraph,
    root: VarId,
    clients: &HashMap<VarId, Vec<(NodeId, usize)>>,
) -> Result<bool> {
    let out_ty = fg.vars[root].ty.clone();
    let dtype = out_ty.dtype();
    let ndim = out_ty.ndim();
    if !matches!(dtype, DType::Float32 | DType::Float64) || !(1..=2).contains(&ndim) {
        return Ok(false);
    }
    let ctx = Ctx { fg, clients, dtype };
    let mut terms = Vec::new();
    ctx.terms(root, true, &mut terms);
    let terms = merge_like_terms(terms);
    if terms.len() < 2 {
        return Ok(false);
    }
    let ranks: &[(usize, usize)] = if ndim == 2 {
        &[(2, 2)]
    } else {
        &[(2, 1), (1, 2)]
    };
    let Some((i, (x, y))) = terms
        .iter()
        .enumerate()
        .find_map(|(i, t)| ctx.dot_operands(t.var, ranks).map(|xy| (i, xy)))
    else {
        return Ok(false);
    };
    // The addend: a term of the sum's own type (as in Theano, a broadcast
    // row such as a bias is left to the elementwise add, where the stability
    // rewrites look for it), preferably not itself a product. A sum that is
    // the addend of another product already (`dot(x, W) + dot(h, U) + b`,
    // after the first Gemm) takes a broadcast row too: the Gemm copies it
    // into its output block by block, and no separate pass adds it.
    let feeds_product = clients.get(&root).is_some_and(|c| {
        !c.is_empty()
            && c.iter()
                .all(|&(n, k)| k == 0 && matches!(fg.nodes[n].op, Op::Gemm(_) | Op::Gemv(_)))
    });
    let full = |t: &Term| {
        let ty = &fg.vars[t.var].ty;
        *ty == out_ty || (feeds_product && ty.ndim() == ndim && ty.dtype() == dtype)
    };
    let candidates: Vec<usize> = (0..terms.len())
        .filter(|&j| j != i && full(&terms[j]))
        .collect();
    let pick = candidates
        .iter()
        .copied()
        .find(|&j| ctx.dot_operands(terms[j].var, ranks).is_none())
        .or_else(|| candidates.first().copied());
    let Some(j) = pick else {
        return Ok(false);
    };
    let dot_term = terms[i].clone();
    let a = scale(fg, &dot_term, dtype)?;
    // With one addend, Gemm scales it (`b`); with several, they are summed
    // elementwise into `z` (fused later, and a fresh buffer an inplace Gemm
    // may write over), with `b = 1`.
    let (z, b) = if terms.len() == 2 {
        (terms[j].var, scale(fg, &terms[j], dtype)?)
    } else {
        let first = &terms[j];
        let mut z = if first.vars.is_empty() && first.coef == 1.0 {
            first.var
        } else {
            scaled(fg, first, dtype, ndim)?
        };
        for (k, t) in terms.iter().enumerate() {
            if k != i && k != j {
                z = add_term(fg, z, t, dtype, ndim)?;
            }
        }
        (z, constant(fg, 1.0, dtype, 0)?)
    };
    let acc = if ndim == 2 {
        fg.add_node(Op::Gemm(Gemm {}), vec![z, a, x, y, b])?[0]
    } else if fg.vars[x].ty.ndim() == 2 {
        fg.add_node(Op::Gemv(Gemv {}), vec![z, a, x, y, b])?[0]
    } else {
        // dot(v, A) = dot(A.T, v); the transpose of `W.T` is `W`.
        let yt = match transposed(fg, y) {
            Some(w) => w,
            None => {
                let ds =
                    DimShuffle::new(&fg.vars[y].ty.broadcastable(), vec![Some(1), Some(0)], true)?;
                fg.add_node(Op::DimShuffle(ds), vec![y])?[0]
            }
        };
        fg.add_node(Op::Gemv(Gemv {}), vec![z, a, yt, x, b])?[0]
    };
    if fg.vars[acc].ty != out_ty {
        // The left-over terms broadcast differently: keep the sum (the nodes
        // just made are unreachable).
        return Ok(false);
    }
    fg.replace(root, acc);
    Ok(true)
}

/// Theano's `local_gemm_to_gemm` (and `local_gemm_to_gemv`): see the module
/// documentation. Sums are tried from the outputs inwards, so the largest sum
/// around a product becomes the Gemm.
pub fn local_gemm_to_gemm(fg: &mut FunctionGraph) -> Result<bool> {
    let mut changed = false;
    'again: loop {
        let clients = fg.clients();
        for n in fg.toposort().into_iter().rev() {
            let node = &fg.nodes[n];
            let is_sum = matches!(
                &node.op,
                Op::Elemwise(e) if matches!(
                    e.scalar_op,
                    ScalarOp::Add | ScalarOp::Sub | ScalarOp::Mul | ScalarOp::Neg
                )
            );
            if !is_sum {
                continue;
            }
            let root = node.outputs[0];
            if rewrite_sum(fg, root, &clients)? {
                changed = true;
                continue 'again;
            }
        }
        return Ok(changed);
    }
}
