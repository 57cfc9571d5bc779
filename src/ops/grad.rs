//! Per-op gradients (Theano's `Op.L_op` and `Op.connection_pattern`).
//!
//! [`op_grad`] is the one dispatch: given a node's op, inputs, outputs and
//! the gradients on its outputs, it returns one [`Grad`] per input. Ops
//! without a rule fall into the default arm, which reports the gradient as
//! not implemented (an undefined gradient naming the op), so a new `Op`
//! variant compiles before its gradient exists. [`connection_pattern`] says
//! which inputs each output depends on differentiably (default: all).
//!
//! The driver (`crate::grad`) calls a rule only when some output is
//! connected, casts each output gradient to its output's float dtype first,
//! and afterwards casts each term to its input's float dtype and fixes its
//! broadcastable pattern, so rules stay short.

use crate::build;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::graph::{self, VarRef};
use crate::ops::{
    AdvancedIncSubtensor, AdvancedIncSubtensor1, IncSubtensor, Op, ReduceKind, ScalarOp,
    elemwise_grad, structure_grad,
};

/// The gradient of the cost with respect to one variable.
#[derive(Clone)]
pub enum Grad {
    /// A symbolic gradient.
    Var(VarRef),
    /// The cost does not depend on the variable through this path
    /// (Theano's `DisconnectedType`).
    Disconnected,
    /// The gradient is undefined or not implemented; the text says why
    /// (Theano's `NullType` with its `why_null`).
    Undefined(String),
}

impl Grad {
    pub fn var(&self) -> Option<&VarRef> {
        match self {
            Grad::Var(v) => Some(v),
            _ => None,
        }
    }
}

/// Which outputs each input is connected to: `pattern[input][output]`.
pub fn connection_pattern(op: &Op, n_inputs: usize, n_outputs: usize) -> Vec<Vec<bool>> {
    let first_only =
        |k: usize| -> Vec<Vec<bool>> { (0..n_inputs).map(|i| vec![i < k; n_outputs]).collect() };
    match op {
        Op::Shape | Op::ShapeI(_) | Op::DisconnectedGrad => first_only(0),
        Op::Assert(_) => first_only(1),
        Op::Subtensor(_) | Op::Reshape(_) | Op::AdvancedSubtensor1 | Op::AdvancedSubtensor(_) => {
            first_only(1)
        }
        Op::IncSubtensor(_) | Op::AdvancedIncSubtensor1(_) | Op::AdvancedIncSubtensor(_) => {
            first_only(2)
        }
        Op::Elemwise(e) if e.scalar_op == ScalarOp::Second => {
            (0..n_inputs).map(|i| vec![i == 1; n_outputs]).collect()
        }
        Op::Split(_) | Op::Alloc | Op::Repeat(_) => first_only(1),
        Op::Eye(_) | Op::Nonzero => first_only(0),
        Op::Join => (0..n_inputs).map(|i| vec![i > 0; n_outputs]).collect(),
        Op::ARange(_) => (0..n_inputs).map(|i| vec![i != 1; n_outputs]).collect(),
        // The window parameters of pooling and the spatial shapes of the
        // convolution gradients are not differentiable.
        Op::Pool(p) => first_only(crate::ops::pool::n_data_inputs(*p)),
        Op::Conv(crate::ops::ConvOp::GradWeights(_) | crate::ops::ConvOp::GradInputs(_)) => {
            first_only(2)
        }
        _ => vec![vec![true; n_outputs]; n_inputs],
    }
}

/// The "not implemented" gradient of input `i` of `op`.
pub fn not_implemented(op: &Op, i: usize, input: &VarRef) -> Grad {
    Grad::Undefined(format!(
        "This variable is Null because the grad method for input {i} ({}) of the {} op is not implemented.",
        input.display(),
        op.display_name(None)
    ))
}

/// Zeros shaped like `x`: in `x`'s dtype when it is a float, else floatX.
fn zeros(x: &VarRef) -> Result<Grad> {
    Ok(Grad::Var(build::float_zeros_like(x)?))
}

/// The gradient of `x[idx]` (inputs `x, idx...`) for `x`: the output
/// gradient added into zeros shaped like `x` by `inc` (the matching
/// increment op); zeros for a discrete `x`.
fn scatter_into_zeros(inputs: &[VarRef], gz: VarRef, inc: Op) -> Result<Grad> {
    let x = &inputs[0];
    if discrete(x) {
        return zeros(x);
    }
    let mut ins = vec![build::zeros_like(x, None)?, gz];
    ins.extend_from_slice(&inputs[1..]);
    Ok(Grad::Var(graph::apply1(inc, ins)?))
}

fn discrete(v: &VarRef) -> bool {
    v.ty.dtype().is_discrete()
}

/// The gradient of every input of a node.
pub fn op_grad(
    op: &Op,
    inputs: &[VarRef],
    outputs: &[VarRef],
    output_grads: &[Grad],
) -> Result<Vec<Grad>> {
    if let Op::Scan(s) = op {
        return crate::scan::grad::scan_grad(s, inputs, outputs, output_grads);
    }
    // Outputs the cost does not reach contribute zeros (multi-output ops).
    let mut gs: Vec<VarRef> = Vec::with_capacity(outputs.len());
    for (k, out) in outputs.iter().enumerate() {
        gs.push(match output_grads.get(k) {
            Some(Grad::Var(g)) => g.clone(),
            _ => build::float_zeros_like(out)?,
        });
    }
    let Some(gz) = gs.first().cloned() else {
        return Err(Error::Runtime(format!(
            "internal error: {} asked for its gradient without outputs",
            op.name()
        )));
    };
    let disconnected_rest = |first: Vec<Grad>| -> Vec<Grad> {
        let mut v = first;
        while v.len() < inputs.len() {
            v.push(Grad::Disconnected);
        }
        v
    };
    match op {
        Op::External(e) => {
            let gs: Vec<Option<VarRef>> = gs.iter().cloned().map(Some).collect();
            Ok(e.imp
                .grad(inputs, outputs, &gs)?
                .into_iter()
                .map(|g| g.map_or(Grad::Disconnected, Grad::Var))
                .collect())
        }
        Op::Elemwise(e) => elemwise_grad::elemwise_grad(e.scalar_op, inputs, &outputs[0], &gz),
        Op::DimShuffle(d) => {
            let x = &inputs[0];
            if discrete(x) {
                return Ok(vec![zeros(x)?]);
            }
            // Drop the axes the shuffle added, then put the kept axes back in
            // input order, re-adding the broadcastable axes it dropped.
            let added: Vec<usize> = (0..d.new_order.len())
                .filter(|&p| d.new_order[p].is_none())
                .collect();
            let g = build::drop_axes(&gz, &added)?;
            let kept: Vec<usize> = d.new_order.iter().flatten().copied().collect();
            let order: Vec<Option<usize>> = (0..d.input_ndim)
                .map(|i| kept.iter().position(|&k| k == i))
                .collect();
            Ok(vec![Grad::Var(build::dimshuffle(&g, order)?)])
        }
        Op::Subtensor(s) => {
            let inc = Op::IncSubtensor(IncSubtensor {
                idx_list: s.idx_list.clone(),
                set_instead_of_inc: false,
            });
            Ok(disconnected_rest(vec![scatter_into_zeros(
                inputs, gz, inc,
            )?]))
        }
        Op::IncSubtensor(inc) => {
            let (x, y) = (&inputs[0], &inputs[1]);
            let idx = &inputs[2..];
            let sub = |g: &VarRef| -> Result<VarRef> {
                let mut ins = vec![g.clone()];
                ins.extend_from_slice(idx);
                graph::apply1(
                    Op::Subtensor(crate::ops::Subtensor {
                        idx_list: inc.idx_list.clone(),
                    }),
                    ins,
                )
            };
            let (gx, gy) = if discrete(x) {
                (zeros(x)?, zeros(y)?)
            } else {
                let gx = if inc.set_instead_of_inc {
                    let mut ins = vec![gz.clone(), build::zeros_like(y, None)?];
                    ins.extend_from_slice(idx);
                    graph::apply1(
                        Op::IncSubtensor(IncSubtensor {
                            idx_list: inc.idx_list.clone(),
                            set_instead_of_inc: true,
                        }),
                        ins,
                    )?
                } else {
                    gz.clone()
                };
                let gy = sum_grad_over_broadcast(y, &sub(&gz)?)?;
                (Grad::Var(gx), Grad::Var(gy))
            };
            Ok(disconnected_rest(vec![gx, gy]))
        }
        Op::AdvancedSubtensor1 => {
            let x = &inputs[0];
            let first = if discrete(x) {
                zeros(x)?
            } else {
                Grad::Var(graph::apply1(
                    Op::AdvancedIncSubtensor1(AdvancedIncSubtensor1 {
                        set_instead_of_inc: false,
                    }),
                    vec![build::zeros_like(x, None)?, gz, inputs[1].clone()],
                )?)
            };
            Ok(vec![first, Grad::Disconnected])
        }
        Op::AdvancedIncSubtensor1(inc) => {
            let (x, y, ilist) = (&inputs[0], &inputs[1], &inputs[2]);
            if discrete(x) {
                return Ok(vec![zeros(x)?, zeros(y)?, Grad::Disconnected]);
            }
            let gx = if inc.set_instead_of_inc {
                graph::apply1(
                    Op::AdvancedIncSubtensor1(AdvancedIncSubtensor1 {
                        set_instead_of_inc: true,
                    }),
                    vec![gz.clone(), build::zeros_like(y, None)?, ilist.clone()],
                )?
            } else {
                gz.clone()
            };
            let gy = graph::apply1(Op::AdvancedSubtensor1, vec![gz, ilist.clone()])?;
            let gy = sum_grad_over_broadcast(y, &gy)?;
            Ok(vec![Grad::Var(gx), Grad::Var(gy), Grad::Disconnected])
        }
        Op::AdvancedSubtensor(a) => {
            let inc = Op::AdvancedIncSubtensor(AdvancedIncSubtensor {
                entries: a.entries.clone(),
                set_instead_of_inc: false,
            });
            Ok(disconnected_rest(vec![scatter_into_zeros(
                inputs, gz, inc,
            )?]))
        }
        Op::AdvancedIncSubtensor(inc) => {
            let (x, y) = (&inputs[0], &inputs[1]);
            let idx = &inputs[2..];
            if discrete(x) {
                return Ok(disconnected_rest(vec![zeros(x)?, zeros(y)?]));
            }
            let gx = if inc.set_instead_of_inc {
                let mut ins = vec![gz.clone(), build::zeros_like(y, None)?];
                ins.extend_from_slice(idx);
                graph::apply1(
                    Op::AdvancedIncSubtensor(AdvancedIncSubtensor {
                        entries: inc.entries.clone(),
                        set_instead_of_inc: true,
                    }),
                    ins,
                )?
            } else {
                gz.clone()
            };
            let mut ins = vec![gz];
            ins.extend_from_slice(idx);
            let gy = graph::apply1(
                Op::AdvancedSubtensor(crate::ops::AdvancedSubtensor {
                    entries: inc.entries.clone(),
                }),
                ins,
            )?;
            let gy = sum_grad_over_broadcast(y, &gy)?;
            Ok(disconnected_rest(vec![Grad::Var(gx), Grad::Var(gy)]))
        }
        Op::Reshape(_) | Op::Flatten(_) => {
            let x = &inputs[0];
            let first = if discrete(x) {
                zeros(x)?
            } else {
                let shape = build::shape(x)?;
                Grad::Var(build::reshape(&gz, &shape, x.ty.ndim())?)
            };
            Ok(disconnected_rest(vec![first]))
        }
        Op::Dot => dot_grad(&inputs[0], &inputs[1], &gz),
        Op::Dot22(d) if !d.scaled => dot_grad(&inputs[0], &inputs[1], &gz),
        Op::Dot22(_) => {
            // a·(x·y): the product's gradients scaled by a, and Σ gz·(x·y) for a.
            let (x, y, a) = (&inputs[0], &inputs[1], &inputs[2]);
            let mut grads = dot_grad(x, y, &build::mul(&gz, a)?)?;
            let all: Vec<usize> = (0..2).collect();
            let ga = build::sum(&build::mul(&gz, &build::dot(x, y)?)?, &all, false)?;
            grads.push(Grad::Var(build::cast(&ga, a.ty.dtype())?));
            Ok(grads)
        }
        Op::Reduce(r) => {
            let x = &inputs[0];
            let out = &outputs[0];
            if discrete(out) {
                return Ok(vec![zeros(x)?]);
            }
            let nd = x.ty.ndim();
            let reduced: Vec<usize> = match &r.axis {
                None => (0..nd).collect(),
                Some(a) => a.clone(),
            };
            let gz_b = build::expand_reduced(&gz, nd, &reduced)?;
            let g = match r.kind {
                ReduceKind::Sum => build::second(x, &gz_b)?,
                ReduceKind::Mean => {
                    let count = build::cast(&build::count_over(x, &reduced)?, gz.ty.dtype())?;
                    build::true_div(&build::second(x, &gz_b)?, &count)?
                }
                ReduceKind::Max | ReduceKind::Min => {
                    let out_b = build::expand_reduced(out, nd, &reduced)?;
                    let hit = build::binary(ScalarOp::Eq, &out_b, x)?;
                    build::mul(&hit, &gz_b)?
                }
                ReduceKind::Prod => prod_grad(x, out, &gz_b, &reduced)?,
                // Boolean outputs: handled as discrete above.
                ReduceKind::All | ReduceKind::Any => return Ok(vec![zeros(x)?]),
            };
            Ok(vec![Grad::Var(g)])
        }
        Op::ScalarFromTensor => Ok(vec![if build::is_tensor(&gz) {
            Grad::Var(gz)
        } else {
            not_implemented(op, 0, &inputs[0])
        }]),
        Op::DeepCopy | Op::ViewOp => Ok(vec![Grad::Var(gz)]),
        // The conditions are not differentiable.
        Op::Assert(_) => Ok(disconnected_rest(vec![Grad::Var(gz)])),
        Op::Nnet(n) => {
            let sm_used = matches!(output_grads.get(1), Some(Grad::Var(_)));
            nnet_grad(*n, inputs, outputs, &gs, sm_used)
        }
        Op::Pool(crate::ops::PoolOp::Pool {
            ignore_border,
            mode,
        }) => {
            let gx = crate::ops::pool::pool_grad(
                *ignore_border,
                *mode,
                &inputs[0],
                &outputs[0],
                &gz,
                [&inputs[1], &inputs[2], &inputs[3]],
            )?;
            Ok(disconnected_rest(vec![Grad::Var(gx)]))
        }
        Op::Pool(p) => Ok(crate::ops::pool::pool_grad_op_grads(*p, inputs, &gz)?
            .into_iter()
            .map(|g| g.map_or(Grad::Disconnected, Grad::Var))
            .collect()),
        Op::Conv(c) => {
            let (a, b) = crate::ops::conv::conv2d_grad_op_grads(c, &inputs[0], &inputs[1], &gz)?;
            Ok(disconnected_rest(vec![Grad::Var(a), Grad::Var(b)]))
        }
        Op::ZeroGrad => Ok(vec![zeros(&inputs[0])?]),
        Op::Shape | Op::ShapeI(_) | Op::DisconnectedGrad => {
            Ok(vec![Grad::Disconnected; inputs.len()])
        }
        Op::MakeVector(d) => {
            if d.is_discrete() {
                return inputs.iter().map(zeros).collect();
            }
            let mut out = Vec::with_capacity(inputs.len());
            for i in 0..inputs.len() {
                let idx = build::index_constant(i as i64)?;
                out.push(Grad::Var(graph::apply1(
                    Op::Subtensor(crate::ops::Subtensor {
                        idx_list: vec![crate::ops::IdxEntry::Index(DType::Int64)],
                    }),
                    vec![gz.clone(), idx],
                )?));
            }
            Ok(out)
        }
        Op::Join => structure_grad::join_grad(inputs, &outputs[0], &gz),
        Op::Split(_) => structure_grad::split_grad(inputs, &gs),
        Op::Alloc => structure_grad::alloc_grad(inputs, &gz),
        Op::ARange(d) => structure_grad::arange_grad(*d, inputs, &outputs[0], &gz),
        Op::Eye(_) | Op::Nonzero => Ok(vec![Grad::Disconnected; inputs.len()]),
        Op::Repeat(axis) => structure_grad::repeat_grad(*axis, inputs, &gz),
        Op::Rebroadcast(r) => structure_grad::rebroadcast_grad(r, &inputs[0], &gz),
        Op::MaxAndArgmax(m) => {
            structure_grad::max_and_argmax_grad(&m.axis, &inputs[0], &outputs[0], &gz)
        }
        Op::BatchedDot => structure_grad::batched_dot_grad(&inputs[0], &inputs[1], &gz),
        Op::Gemm(_) | Op::Gemv(_) => super::gemm::gemm_grad(inputs, &gz),
        #[allow(unreachable_patterns)]
        _ => Ok(inputs
            .iter()
            .enumerate()
            .map(|(i, x)| not_implemented(op, i, x))
            .collect()),
    }
}

/// Theano's `_sum_grad_over_bcasted_dims`: the gradient of a value that was
/// broadcast into a region, summed back to the value's shape.
pub fn sum_grad_over_broadcast(y: &VarRef, gy: &VarRef) -> Result<VarRef> {
    let yb = y.ty.broadcastable();
    let gb = gy.ty.broadcastable();
    let added = gb.len().saturating_sub(yb.len());
    let axes: Vec<usize> = (0..gb.len())
        .filter(|&d| !gb[d] && (d < added || yb[d - added]))
        .collect();
    let g = build::sum(gy, &axes, true)?;
    let leading: Vec<usize> = (0..added).collect();
    build::drop_axes(&g, &leading)
}

/// Theano's `Dot.grad` for vectors and matrices.
fn dot_grad(x: &VarRef, y: &VarRef, gz: &VarRef) -> Result<Vec<Grad>> {
    let t = |m: &VarRef| build::dimshuffle(m, vec![Some(1), Some(0)]);
    let col = |v: &VarRef| build::dimshuffle(v, vec![Some(0), None]);
    let row = |v: &VarRef| build::dimshuffle(v, vec![None, Some(0)]);
    let outer = |a: &VarRef, b: &VarRef| build::dot(&col(a)?, &row(b)?);
    let (gx, gy) = match (x.ty.ndim(), y.ty.ndim()) {
        (1, 1) => (build::mul(gz, y)?, build::mul(gz, x)?),
        (1, 2) => (build::dot(gz, &t(y)?)?, outer(x, gz)?),
        (2, 1) => (outer(gz, y)?, build::dot(&t(x)?, gz)?),
        (2, 2) => (build::dot(gz, &t(y)?)?, build::dot(&t(x)?, gz)?),
        (a, b) => {
            return Err(Error::NotImplemented(format!(
                "the gradient of dot of a {a}-d and a {b}-d tensor"
            )));
        }
    };
    Ok(vec![Grad::Var(gx), Grad::Var(gy)])
}

/// Theano's `Prod.L_op` without assuming non-zero inputs: `gz * prod / x`
/// where a group has no zero; the product of the other elements at the only
/// zero of a group with one zero; 0 elsewhere.
fn prod_grad(x: &VarRef, out: &VarRef, gz_b: &VarRef, reduced: &[usize]) -> Result<VarRef> {
    let nd = x.ty.ndim();
    let dt = gz_b.ty.dtype();
    let zero = build::scalar_constant(0.0, x.ty.dtype())?;
    let one = build::scalar_constant(1.0, x.ty.dtype())?;
    let is_zero = build::binary(ScalarOp::Eq, x, &zero)?;
    let n_zeros = build::sum(&build::cast(&is_zero, DType::Int64)?, reduced, true)?;
    let without_zeros = build::switch(&is_zero, &one, x)?;
    let axis = if reduced.len() == nd {
        None
    } else {
        Some(reduced.to_vec())
    };
    let prod_nz = build::expand_reduced(
        &build::reduce(ReduceKind::Prod, &without_zeros, axis)?,
        nd,
        reduced,
    )?;
    let out_b = build::expand_reduced(out, nd, reduced)?;
    let no_zero_case = build::true_div(&build::mul(gz_b, &out_b)?, x)?;
    let one_zero_case = build::mul(gz_b, &prod_nz)?;
    let zero_t = build::scalar_constant(0.0, dt)?;
    let n0 = build::int_constant(0)?;
    let n1 = build::int_constant(1)?;
    let single = build::binary(
        ScalarOp::And,
        &build::binary(ScalarOp::Eq, &n_zeros, &n1)?,
        &is_zero,
    )?;
    let inner = build::switch(&single, &one_zero_case, &zero_t)?;
    build::switch(
        &build::binary(ScalarOp::Eq, &n_zeros, &n0)?,
        &no_zero_case,
        &inner,
    )
}

/// Gradients of the softmax family and the cross-entropies, through their
/// gradient ops (`SoftmaxGrad`, `LogSoftmaxGrad`, ...).
fn nnet_grad(
    op: crate::ops::NnetOp,
    inputs: &[VarRef],
    outputs: &[VarRef],
    gs: &[VarRef],
    sm_used: bool,
) -> Result<Vec<Grad>> {
    use crate::ops::NnetOp::*;
    let apply = |k: crate::ops::NnetOp, args: Vec<VarRef>| graph::apply1(Op::Nnet(k), args);
    let sum_rows = |g: &VarRef| build::sum(g, &[0], false);
    match op {
        Softmax => Ok(vec![Grad::Var(apply(
            SoftmaxGrad,
            vec![gs[0].clone(), outputs[0].clone()],
        )?)]),
        SoftmaxWithBias => {
            let gx = apply(SoftmaxGrad, vec![gs[0].clone(), outputs[0].clone()])?;
            let gb = sum_rows(&gx)?;
            Ok(vec![Grad::Var(gx), Grad::Var(gb)])
        }
        LogSoftmax => Ok(vec![Grad::Var(apply(
            LogSoftmaxGrad,
            vec![gs[0].clone(), outputs[0].clone()],
        )?)]),
        CrossentropyCategorical1Hot => Ok(vec![
            Grad::Var(apply(
                CrossentropyCategorical1HotGrad,
                vec![gs[0].clone(), inputs[0].clone(), inputs[1].clone()],
            )?),
            Grad::Disconnected,
        ]),
        CrossentropySoftmaxArgmax1HotWithBias => {
            let sm = &outputs[1];
            let mut gx = apply(
                CrossentropySoftmax1HotWithBiasDx,
                vec![gs[0].clone(), sm.clone(), inputs[2].clone()],
            )?;
            if sm_used {
                let through_sm = apply(SoftmaxGrad, vec![gs[1].clone(), sm.clone()])?;
                gx = build::add(&gx, &through_sm)?;
            }
            let gb = sum_rows(&gx)?;
            Ok(vec![Grad::Var(gx), Grad::Var(gb), Grad::Disconnected])
        }
        // Second derivatives (Theano's `SoftmaxGrad.grad` and
        // `CrossentropySoftmax1HotWithBiasDx.grad`; the others follow the
        // same algebra).
        SoftmaxGrad => {
            // out = (dy - sum(dy * sm)) * sm per row.
            let (dy, sm, g) = (&inputs[0], &inputs[1], &gs[0]);
            let tmp = build::sub(g, &row_sum(&build::mul(g, sm)?)?)?;
            let g_dy = build::mul(&tmp, sm)?;
            let g_sm = build::sub(
                &build::mul(&tmp, dy)?,
                &build::mul(g, &row_sum(&build::mul(dy, sm)?)?)?,
            )?;
            Ok(vec![Grad::Var(g_dy), Grad::Var(g_sm)])
        }
        LogSoftmaxGrad => {
            // out = dy - exp(lsm) * sum(dy) per row.
            let (dy, lsm, g) = (&inputs[0], &inputs[1], &gs[0]);
            let g_sm = build::mul(g, &build::unary(ScalarOp::Exp, lsm)?)?;
            let g_dy = build::sub(g, &row_sum(&g_sm)?)?;
            let g_lsm = build::neg(&build::mul(&g_sm, &row_sum(dy)?)?)?;
            Ok(vec![Grad::Var(g_dy), Grad::Var(g_lsm)])
        }
        CrossentropyCategorical1HotGrad => {
            // out[i, y[i]] = -g_y[i] / p[i, y[i]], zeros elsewhere. With
            // m = this op at g_y = 1 (-1 / p at the labels): d/dg_y = m per
            // row, d/dp = g_y * m².
            let (g_y, p, y, g) = (&inputs[0], &inputs[1], &inputs[2], &gs[0]);
            let m = apply(
                CrossentropyCategorical1HotGrad,
                vec![build::ones_like(g_y, None)?, p.clone(), y.clone()],
            )?;
            let g_gy = build::sum(&build::mul(g, &m)?, &[1], false)?;
            let col = build::dimshuffle(g_y, vec![Some(0), None])?;
            let g_p = build::mul(&build::mul(g, &col)?, &build::mul(&m, &m)?)?;
            Ok(vec![Grad::Var(g_gy), Grad::Var(g_p), Grad::Disconnected])
        }
        CrossentropySoftmax1HotWithBiasDx => {
            // out = dy[:, None] * (sm - onehot(y)); d = this op at dy = 1.
            let (dy, sm, y, g) = (&inputs[0], &inputs[1], &inputs[2], &gs[0]);
            let d = apply(
                CrossentropySoftmax1HotWithBiasDx,
                vec![build::ones_like(dy, None)?, sm.clone(), y.clone()],
            )?;
            let (g_dy, dy_b) = if dy.ty.ndim() == 0 {
                (build::sum(&build::mul(g, &d)?, &[0, 1], false)?, dy.clone())
            } else {
                (
                    build::sum(&build::mul(g, &d)?, &[1], false)?,
                    build::dimshuffle(dy, vec![Some(0), None])?,
                )
            };
            let g_sm = build::mul(&dy_b, g)?;
            Ok(vec![Grad::Var(g_dy), Grad::Var(g_sm), Grad::Disconnected])
        }
    }
}

/// Row sums of a matrix, kept as a broadcastable column.
fn row_sum(x: &VarRef) -> Result<VarRef> {
    build::sum(x, &[1], true)
}
