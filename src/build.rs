//! Graph constructors in Rust: the one place that knows how to build the
//! common expressions (elementwise ops with left-padded operands, casts,
//! dimshuffles, constants, reductions, fills, indexing). The Python builders
//! and the gradient rules both call these, so a graph built from Python and
//! a graph built by `grad` look the same.

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::graph::{self, VarRef, Variable};
use crate::memory::Tensor;
use crate::ops::scalar::cast_tensor;
use crate::ops::{
    AdvIdx, AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor, DimShuffle, Elemwise,
    IdxEntry, IncSubtensor, Op, Reduce, ReduceKind, ScalarOp, Subtensor,
};
use crate::types::Type;

/// Pads inputs on the left with broadcastable axes to a common ndim
/// (Theano's implicit `DimShuffle{x,...}` before an elementwise op).
pub fn align(inputs: Vec<VarRef>) -> Result<Vec<VarRef>> {
    let nd = inputs.iter().map(|v| v.ty.ndim()).max().unwrap_or(0);
    inputs
        .into_iter()
        .map(|v| {
            let n = v.ty.ndim();
            if n == nd || v.ty.is_scalar_type() {
                return Ok(v);
            }
            let order: Vec<Option<usize>> = std::iter::repeat_n(None, nd - n)
                .chain((0..n).map(Some))
                .collect();
            dimshuffle(&v, order)
        })
        .collect()
}

/// `Elemwise{op}(inputs...)`, dimshuffling inputs of fewer dimensions.
pub fn elemwise(op: ScalarOp, inputs: Vec<VarRef>) -> Result<VarRef> {
    let inputs = align(inputs)?;
    graph::apply1(Op::Elemwise(Elemwise { scalar_op: op }), inputs)
}

/// A binary elementwise op.
pub fn binary(op: ScalarOp, a: &VarRef, b: &VarRef) -> Result<VarRef> {
    elemwise(op, vec![a.clone(), b.clone()])
}

/// A unary elementwise op.
pub fn unary(op: ScalarOp, a: &VarRef) -> Result<VarRef> {
    elemwise(op, vec![a.clone()])
}

pub fn add(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    binary(ScalarOp::Add, a, b)
}

pub fn sub(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    binary(ScalarOp::Sub, a, b)
}

pub fn mul(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    binary(ScalarOp::Mul, a, b)
}

pub fn true_div(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    binary(ScalarOp::TrueDiv, a, b)
}

pub fn neg(a: &VarRef) -> Result<VarRef> {
    unary(ScalarOp::Neg, a)
}

/// `switch(cond, a, b)`.
pub fn switch(cond: &VarRef, a: &VarRef, b: &VarRef) -> Result<VarRef> {
    elemwise(ScalarOp::Switch, vec![cond.clone(), a.clone(), b.clone()])
}

/// `T.cast(x, dtype)`; `x` itself when the dtype already matches.
pub fn cast(x: &VarRef, dtype: DType) -> Result<VarRef> {
    if x.ty.dtype() == dtype {
        return Ok(x.clone());
    }
    graph::apply1(
        Op::Elemwise(Elemwise {
            scalar_op: ScalarOp::Cast(dtype),
        }),
        vec![x.clone()],
    )
}

/// `x.dimshuffle(order)` (`None` is an `'x'` axis), as Theano's default
/// inplace DimShuffle; `x` itself for the identity pattern.
pub fn dimshuffle(x: &VarRef, order: Vec<Option<usize>>) -> Result<VarRef> {
    let ds = DimShuffle::new(&x.ty.broadcastable(), order, true)?;
    if ds.is_identity() {
        return Ok(x.clone());
    }
    graph::apply1(Op::DimShuffle(ds), vec![x.clone()])
}

/// A DimShuffle node even for the identity pattern (what the user wrote).
pub fn dimshuffle_node(x: &VarRef, order: Vec<Option<usize>>, inplace: bool) -> Result<VarRef> {
    let ds = DimShuffle::new(&x.ty.broadcastable(), order, inplace)?;
    graph::apply1(Op::DimShuffle(ds), vec![x.clone()])
}

/// A 0-d tensor constant of `dtype` holding `value`.
pub fn scalar_constant(value: f64, dtype: DType) -> Result<VarRef> {
    let t = Tensor::from_slice(DType::Float64, &[], &[value])?;
    Ok(Variable::constant(cast_tensor(&t, dtype)?, None))
}

/// A 0-d int64 tensor constant (indices, shape entries).
pub fn int_constant(value: i64) -> Result<VarRef> {
    Ok(Variable::constant(
        Tensor::from_slice(DType::Int64, &[], &[value])?,
        None,
    ))
}

/// An integer scalar (not tensor) constant, as Subtensor's `Constant{i}`.
pub fn index_constant(value: i64) -> Result<VarRef> {
    Ok(Variable::scalar_constant(Tensor::from_slice(
        DType::Int64,
        &[],
        &[value],
    )?))
}

/// Normalizes user axes (negative ones wrap, duplicates drop) into sorted
/// axes, or `None` when every axis is reduced.
pub fn normalize_axes(x: &VarRef, axis: Option<&[i64]>) -> Result<Option<Vec<usize>>> {
    let Some(axis) = axis else { return Ok(None) };
    let nd = x.ty.ndim() as i64;
    let mut out = Vec::new();
    for &d in axis {
        let d2 = if d < 0 { d + nd } else { d };
        if d2 < 0 || d2 >= nd.max(1) || nd == 0 {
            return Err(Error::Value(format!(
                "axis {d} is out of bounds for a {nd}-dimensional {}",
                x.ty
            )));
        }
        if !out.contains(&(d2 as usize)) {
            out.push(d2 as usize);
        }
    }
    out.sort();
    Ok(if out.len() == nd as usize {
        None
    } else {
        Some(out)
    })
}

/// A reduction over `axis` (normalized axes, `None` for all).
pub fn reduce(kind: ReduceKind, x: &VarRef, axis: Option<Vec<usize>>) -> Result<VarRef> {
    graph::apply1(Op::Reduce(Reduce { kind, axis }), vec![x.clone()])
}

/// Inserts broadcastable axes at the `reduced` positions of an `nd`-dimensional
/// layout, so that a reduction's result lines up with its input again.
pub fn expand_reduced(r: &VarRef, nd: usize, reduced: &[usize]) -> Result<VarRef> {
    let mut order = Vec::with_capacity(nd);
    let mut k = 0;
    for d in 0..nd {
        if reduced.contains(&d) {
            order.push(None);
        } else {
            order.push(Some(k));
            k += 1;
        }
    }
    dimshuffle(r, order)
}

/// `x.sum(axis=axes, keepdims=keepdims)`; no node when `axes` is empty.
pub fn sum(x: &VarRef, axes: &[usize], keepdims: bool) -> Result<VarRef> {
    if axes.is_empty() {
        return Ok(x.clone());
    }
    let nd = x.ty.ndim();
    let mut sorted: Vec<usize> = axes.to_vec();
    sorted.sort();
    sorted.dedup();
    let axis = if sorted.len() == nd {
        None
    } else {
        Some(sorted.clone())
    };
    let r = reduce(ReduceKind::Sum, x, axis)?;
    if keepdims {
        expand_reduced(&r, nd, &sorted)
    } else {
        Ok(r)
    }
}

/// `second(a, b)` (Theano's `fill`): `b` broadcast to the shape of `a`.
pub fn second(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    binary(ScalarOp::Second, a, b)
}

/// `T.zeros_like(x, dtype)`: `fill(x, 0)`.
pub fn zeros_like(x: &VarRef, dtype: Option<DType>) -> Result<VarRef> {
    let d = dtype.unwrap_or(x.ty.dtype());
    second(x, &scalar_constant(0.0, d)?)
}

/// `T.ones_like(x, dtype)`: `fill(x, 1)`.
pub fn ones_like(x: &VarRef, dtype: Option<DType>) -> Result<VarRef> {
    let d = dtype.unwrap_or(x.ty.dtype());
    second(x, &scalar_constant(1.0, d)?)
}

/// Zeros shaped like `x` in a float dtype: `x`'s own when it is a float,
/// else `floatX` (Theano's `_float_zeros_like`).
pub fn float_zeros_like(x: &VarRef) -> Result<VarRef> {
    zeros_like(x, Some(float_dtype_of(x.ty.dtype())))
}

/// `d` when it is a float dtype, else `floatX`.
pub fn float_dtype_of(d: DType) -> DType {
    if d.is_float() { d } else { dtype::float_x() }
}

/// `x.shape`.
pub fn shape(x: &VarRef) -> Result<VarRef> {
    graph::apply1(Op::Shape, vec![x.clone()])
}

/// `x.shape[i]` as an int64 0-d tensor.
pub fn shape_i(x: &VarRef, i: usize) -> Result<VarRef> {
    graph::apply1(Op::ShapeI(i), vec![x.clone()])
}

/// `Reshape{ndim}(x, shape)`.
pub fn reshape(x: &VarRef, shape: &VarRef, ndim: usize) -> Result<VarRef> {
    graph::apply1(Op::Reshape(ndim), vec![x.clone(), shape.clone()])
}

/// `MakeVector{dtype}(values...)` of 0-d tensors.
pub fn make_vector(values: Vec<VarRef>, dtype: DType) -> Result<VarRef> {
    graph::apply1(Op::MakeVector(dtype), values)
}

/// `dot(a, b)` of vectors and matrices.
pub fn dot(a: &VarRef, b: &VarRef) -> Result<VarRef> {
    graph::apply1(Op::Dot, vec![a.clone(), b.clone()])
}

/// The product of `x.shape[d]` over `axes`, as an int64 0-d tensor.
pub fn count_over(x: &VarRef, axes: &[usize]) -> Result<VarRef> {
    let mut acc: Option<VarRef> = None;
    for &d in axes {
        let n = shape_i(x, d)?;
        acc = Some(match acc {
            None => n,
            Some(a) => mul(&a, &n)?,
        });
    }
    match acc {
        Some(a) => Ok(a),
        None => int_constant(1),
    }
}

/// Removes the `axes` of `g`: a broadcastable axis is dropped by a
/// dimshuffle, any other is summed over (the value-preserving choice when
/// its length is 1).
pub fn drop_axes(g: &VarRef, axes: &[usize]) -> Result<VarRef> {
    if axes.is_empty() {
        return Ok(g.clone());
    }
    let bcast = g.ty.broadcastable();
    let to_sum: Vec<usize> = axes.iter().copied().filter(|&d| !bcast[d]).collect();
    let g = sum(g, &to_sum, true)?;
    let order: Vec<Option<usize>> = (0..g.ty.ndim())
        .filter(|d| !axes.contains(d))
        .map(Some)
        .collect();
    dimshuffle(&g, order)
}

/// `g` with the broadcastable pattern `target` (same ndim): axes broadcastable
/// in `target` but not in `g` are summed with keepdims (their length is 1 at
/// run time, so the value is unchanged). Theano's `patternbroadcast` for
/// gradients.
pub fn match_broadcastable(g: &VarRef, target: &[bool]) -> Result<VarRef> {
    let bcast = g.ty.broadcastable();
    if bcast.len() != target.len() {
        return Ok(g.clone());
    }
    let axes: Vec<usize> = (0..target.len())
        .filter(|&d| target[d] && !bcast[d])
        .collect();
    sum(g, &axes, true)
}

/// `x[idx]` of basic indexing: `idx_list` with its scalar index inputs.
pub fn subtensor(x: &VarRef, idx_list: Vec<IdxEntry>, index_inputs: Vec<VarRef>) -> Result<VarRef> {
    let mut inputs = vec![x.clone()];
    inputs.extend(index_inputs);
    graph::apply1(Op::Subtensor(Subtensor { idx_list }), inputs)
}

/// `AdvancedSubtensor1(x, ilist)`: rows `ilist` of `x`.
pub fn advanced_subtensor1(x: &VarRef, ilist: &VarRef) -> Result<VarRef> {
    graph::apply1(Op::AdvancedSubtensor1, vec![x.clone(), ilist.clone()])
}

/// `AdvancedSubtensor(x, *index)`: `entries` with their inputs in order.
pub fn advanced_subtensor(
    x: &VarRef,
    entries: Vec<AdvIdx>,
    index_inputs: Vec<VarRef>,
) -> Result<VarRef> {
    let mut inputs = vec![x.clone()];
    inputs.extend(index_inputs);
    graph::apply1(Op::AdvancedSubtensor(AdvancedSubtensor { entries }), inputs)
}

/// Theano's `take(a, indices, axis)`: `AdvancedSubtensor1` along `axis`
/// (dimshuffling that axis first), for index arrays of any ndim (flattened,
/// then reshaped back).
pub fn take(a: &VarRef, indices: &VarRef, axis: i64) -> Result<VarRef> {
    let nd = a.ty.ndim() as i64;
    let axis = if axis < 0 { axis + nd } else { axis };
    if axis < 0 || axis >= nd {
        return Err(Error::Index(format!(
            "take: axis {axis} is out of bounds for a {nd}-dimensional {}",
            a.ty
        )));
    }
    let axis = axis as usize;
    if indices.ty.ndim() == 1 {
        if axis == 0 {
            return advanced_subtensor1(a, indices);
        }
        let mut swap: Vec<Option<usize>> = (0..nd as usize).map(Some).collect();
        swap.swap(0, axis);
        let inner = advanced_subtensor1(&dimshuffle(a, swap.clone())?, indices)?;
        return dimshuffle(&inner, swap);
    }
    let flat = graph::apply1(Op::Flatten(1), vec![indices.clone()])?;
    let taken = take(a, &flat, axis as i64)?;
    let mut dims = Vec::new();
    for d in 0..axis {
        dims.push(shape_i(a, d)?);
    }
    for d in 0..indices.ty.ndim() {
        dims.push(shape_i(indices, d)?);
    }
    for d in axis + 1..nd as usize {
        dims.push(shape_i(a, d)?);
    }
    let ndim = dims.len();
    let shape = if dims.is_empty() {
        Variable::constant(Tensor::from_slice::<i64>(DType::Int64, &[0], &[])?, None)
    } else {
        make_vector(dims, DType::Int64)?
    };
    reshape(&taken, &shape, ndim)
}

/// `T.inc_subtensor(x, y)` / `T.set_subtensor(x, y)` where `x` is the result
/// of indexing: the matching increment op on what `x` indexes (Theano's
/// `inc_subtensor`, including the dimshuffle and reshape forms that `take`
/// builds).
pub fn inc_subtensor(x: &VarRef, y: &VarRef, set: bool) -> Result<VarRef> {
    if y.ty.ndim() > x.ty.ndim() {
        return Err(Error::Type(format!(
            "Trying to increment a {}-dimensional subtensor with a {}-dimensional value.",
            x.ty.ndim(),
            y.ty.ndim()
        )));
    }
    let not_indexing = || {
        Error::Type(format!(
            "x must be the result of a subtensor operation (got {} of type {})",
            x.display(),
            x.ty
        ))
    };
    let Some((app, _)) = x.owner() else {
        return Err(not_indexing());
    };
    let rest = |k: usize| app.inputs[k..].to_vec();
    match &app.op {
        Op::Subtensor(s) => {
            let mut inputs = vec![app.inputs[0].clone(), y.clone()];
            inputs.extend(rest(1));
            graph::apply1(
                Op::IncSubtensor(IncSubtensor {
                    idx_list: s.idx_list.clone(),
                    set_instead_of_inc: set,
                }),
                inputs,
            )
        }
        Op::AdvancedSubtensor1 => graph::apply1(
            Op::AdvancedIncSubtensor1(AdvancedIncSubtensor1 {
                set_instead_of_inc: set,
            }),
            vec![app.inputs[0].clone(), y.clone(), app.inputs[1].clone()],
        ),
        Op::AdvancedSubtensor(a) => {
            let mut inputs = vec![app.inputs[0].clone(), y.clone()];
            inputs.extend(rest(1));
            graph::apply1(
                Op::AdvancedIncSubtensor(AdvancedIncSubtensor {
                    entries: a.entries.clone(),
                    set_instead_of_inc: set,
                }),
                inputs,
            )
        }
        Op::DimShuffle(d) => {
            // y in x's layout, then in the layout of what was shuffled.
            let inner = &app.inputs[0];
            let y_full = align(vec![y.clone(), x.clone()])?.remove(0);
            let added: Vec<usize> = (0..d.new_order.len())
                .filter(|&p| d.new_order[p].is_none())
                .collect();
            let y_kept = drop_axes(&y_full, &added)?;
            let kept: Vec<usize> = d.new_order.iter().flatten().copied().collect();
            let order: Vec<Option<usize>> = (0..inner.ty.ndim())
                .map(|k| kept.iter().position(|&q| q == k))
                .collect();
            let y_inner = dimshuffle(&y_kept, order)?;
            let r = inc_subtensor(inner, &y_inner, set)?;
            dimshuffle(&r, d.new_order.clone())
        }
        Op::Reshape(_) => {
            let inner = &app.inputs[0];
            let y_inner = if y.ty.ndim() > 0 {
                let expanded = second(x, y)?;
                reshape(&expanded, &shape(inner)?, inner.ty.ndim())?
            } else {
                y.clone()
            };
            inc_subtensor(inner, &y_inner, set)
        }
        _ => Err(not_indexing()),
    }
}

/// `x.shape[axis]` as an int64 0-d tensor, for a constant axis (`Shape_i`)
/// or a symbolic one (`Subtensor` of `Shape`); negative axes count from the
/// end.
pub fn shape_at(x: &VarRef, axis: &VarRef) -> Result<VarRef> {
    if let Some(c) = axis.constant_value() {
        let a = crate::ops::scalar::scalar_i64(c)?;
        let d = crate::ops::axis::wrap_axis(a, x.ty.ndim()).ok_or_else(|| {
            Error::Index(format!(
                "axis {a} is out of bounds for a {}-dimensional {}",
                x.ty.ndim(),
                x.ty
            ))
        })?;
        return shape_i(x, d);
    }
    let index = if axis.ty.is_scalar_type() {
        axis.clone()
    } else {
        graph::apply1(Op::ScalarFromTensor, vec![axis.clone()])?
    };
    subtensor(
        &shape(x)?,
        vec![IdxEntry::Index(index.ty.dtype())],
        vec![index],
    )
}

/// `Join(axis, *tensors)`.
pub fn join(axis: &VarRef, tensors: &[VarRef]) -> Result<VarRef> {
    let mut inputs = vec![axis.clone()];
    inputs.extend_from_slice(tensors);
    graph::apply1(Op::Join, inputs)
}

/// `Split{n}(x, axis, sizes)`: the `n` pieces.
pub fn split(x: &VarRef, axis: &VarRef, sizes: &VarRef, n: usize) -> Result<Vec<VarRef>> {
    graph::apply(Op::Split(n), vec![x.clone(), axis.clone(), sizes.clone()])
}

/// `ARange{dtype}(start, stop, step)`.
pub fn arange(start: &VarRef, stop: &VarRef, step: &VarRef, dtype: DType) -> Result<VarRef> {
    graph::apply1(
        Op::ARange(dtype),
        vec![start.clone(), stop.clone(), step.clone()],
    )
}

/// `RepeatOp{axis}(x, repeats)`.
pub fn repeat(x: &VarRef, repeats: &VarRef, axis: Option<usize>) -> Result<VarRef> {
    graph::apply1(Op::Repeat(axis), vec![x.clone(), repeats.clone()])
}

/// `Flatten{outdim}(x)`.
pub fn flatten(x: &VarRef, outdim: usize) -> Result<VarRef> {
    graph::apply1(Op::Flatten(outdim), vec![x.clone()])
}

/// `x` with the broadcastable flags `(axis, flag)`: a `Rebroadcast` of the
/// pairs that change something, `x` itself when none does.
pub fn rebroadcast(x: &VarRef, axes: &[(usize, bool)]) -> Result<VarRef> {
    let bcast = x.ty.broadcastable();
    let changes: Vec<(usize, bool)> = axes
        .iter()
        .copied()
        .filter(|&(d, b)| bcast.get(d).is_some_and(|&have| have != b))
        .collect();
    if changes.is_empty() {
        return Ok(x.clone());
    }
    graph::apply1(
        Op::Rebroadcast(crate::ops::Rebroadcast::new(changes)),
        vec![x.clone()],
    )
}

/// `BatchedDot(x, y)` of 2-d/3-d batches.
pub fn batched_dot(x: &VarRef, y: &VarRef) -> Result<VarRef> {
    graph::apply1(Op::BatchedDot, vec![x.clone(), y.clone()])
}

/// True when `v` is a tensor (not one of Subtensor's scalar indices).
pub fn is_tensor(v: &VarRef) -> bool {
    matches!(v.ty, Type::Tensor(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TensorType;

    fn var(dtype: DType, bcast: &[bool]) -> VarRef {
        Variable::input(Type::Tensor(TensorType::new(dtype, bcast)), None)
    }

    #[test]
    fn elementwise_operands_are_padded_on_the_left() {
        let m = var(DType::Float64, &[false, false]);
        let v = var(DType::Float64, &[false]);
        let out = add(&m, &v).unwrap();
        assert_eq!(out.ty.ndim(), 2);
        let (node, _) = out.owner().unwrap();
        assert_eq!(
            node.inputs[1].ty.broadcastable().to_vec(),
            vec![true, false]
        );
    }

    #[test]
    fn sum_with_keepdims_keeps_broadcastable_axes() {
        let x = var(DType::Float32, &[false, false, false]);
        let s = sum(&x, &[0, 2], true).unwrap();
        assert_eq!(s.ty.broadcastable().to_vec(), vec![true, false, true]);
        assert_eq!(s.ty.dtype(), DType::Float32);
    }

    #[test]
    fn zeros_like_has_the_shape_of_its_model_and_the_asked_dtype() {
        let x = var(DType::Int32, &[false, true]);
        let z = zeros_like(&x, Some(DType::Float32)).unwrap();
        assert_eq!(z.ty.dtype(), DType::Float32);
        assert_eq!(z.ty.broadcastable().to_vec(), vec![false, true]);
    }

    #[test]
    fn dropping_a_non_broadcastable_axis_sums_over_it() {
        let x = var(DType::Float64, &[false, false]);
        let d = drop_axes(&x, &[0]).unwrap();
        assert_eq!(d.ty.broadcastable().to_vec(), vec![false]);
    }
}
