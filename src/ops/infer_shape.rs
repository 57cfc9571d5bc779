//! Shape inference (Theano's `infer_shape`): each dimension of an op's
//! output described from its inputs' shapes and values, so that the shape
//! rewrites can compute `y.shape` without computing `y`.

use crate::memory::Tensor;
use crate::ops::{IdxEntry, NnetOp, Op};
use crate::types::Type;

/// One output dimension, in terms of the node's inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    /// Dimension `axis` of input `input`.
    Of { input: usize, axis: usize },
    /// A known length.
    Const(i64),
    /// The value of input `input` (a 0-d integer).
    Value(usize),
    /// Entry `index` of input `input` (an integer vector).
    Element { input: usize, index: usize },
    /// The sum of dimension `axis` of several inputs.
    Sum { inputs: Vec<usize>, axis: usize },
}

impl Op {
    /// The dimensions of output `output`, `None` where the op cannot tell
    /// (or does not say). `inputs` are the input types, `constants` their
    /// values where they are constants.
    pub fn infer_shape(
        &self,
        output: usize,
        inputs: &[&Type],
        constants: &[Option<&Tensor>],
        out: &Type,
    ) -> Vec<Option<Dim>> {
        let out_ndim = out.ndim();
        let none = vec![None; out_ndim];
        let same_as = |i: usize| -> Vec<Option<Dim>> {
            (0..out_ndim)
                .map(|axis| Some(Dim::Of { input: i, axis }))
                .collect()
        };
        match (self, output) {
            (Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias), 0 | 2) => {
                return vec![Some(Dim::Of { input: 2, axis: 0 })];
            }
            (Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias), 1) => return same_as(0),
            (_, 0) => {}
            _ => return none,
        }
        match self {
            Op::Elemwise(_) | Op::Composite(_) => {
                let bcast = out.broadcastable();
                (0..out_ndim)
                    .map(|axis| {
                        if bcast[axis] {
                            return Some(Dim::Const(1));
                        }
                        inputs
                            .iter()
                            .position(|t| t.ndim() == out_ndim && !t.broadcastable()[axis])
                            .map(|input| Dim::Of { input, axis })
                    })
                    .collect()
            }
            Op::DimShuffle(d) => d
                .new_order
                .iter()
                .map(|o| {
                    Some(match o {
                        None => Dim::Const(1),
                        Some(axis) => Dim::Of {
                            input: 0,
                            axis: *axis,
                        },
                    })
                })
                .collect(),
            Op::DeepCopy
            | Op::ViewOp
            | Op::Assert(_)
            | Op::ZeroGrad
            | Op::DisconnectedGrad
            | Op::Rebroadcast(_)
            | Op::IncSubtensor(_)
            | Op::AdvancedIncSubtensor1(_)
            | Op::AdvancedIncSubtensor(_)
            | Op::Nnet(
                NnetOp::Softmax
                | NnetOp::SoftmaxWithBias
                | NnetOp::LogSoftmax
                | NnetOp::SoftmaxGrad
                | NnetOp::LogSoftmaxGrad,
            ) => same_as(0),
            Op::Nnet(NnetOp::CrossentropyCategorical1Hot) => {
                vec![Some(Dim::Of { input: 1, axis: 0 })]
            }
            Op::Nnet(
                NnetOp::CrossentropySoftmax1HotWithBiasDx | NnetOp::CrossentropyCategorical1HotGrad,
            ) => same_as(1),
            Op::Shape => vec![Some(Dim::Const(inputs[0].ndim() as i64))],
            Op::MakeVector(_) => vec![Some(Dim::Const(inputs.len() as i64))],
            Op::Reshape(n) => (0..*n)
                .map(|index| Some(Dim::Element { input: 1, index }))
                .collect(),
            Op::Dot22(_) => vec![
                Some(Dim::Of { input: 0, axis: 0 }),
                Some(Dim::Of { input: 1, axis: 1 }),
            ],
            Op::Dot => match (inputs[0].ndim(), inputs[1].ndim()) {
                (2, 2) => vec![
                    Some(Dim::Of { input: 0, axis: 0 }),
                    Some(Dim::Of { input: 1, axis: 1 }),
                ],
                (2, 1) => vec![Some(Dim::Of { input: 0, axis: 0 })],
                (1, 2) => vec![Some(Dim::Of { input: 1, axis: 1 })],
                _ => none,
            },
            Op::Reduce(r) => {
                let nd = inputs[0].ndim();
                let kept: Vec<usize> = match &r.axis {
                    None => vec![],
                    Some(axes) => (0..nd).filter(|a| !axes.contains(a)).collect(),
                };
                if kept.len() != out_ndim {
                    return none;
                }
                kept.into_iter()
                    .map(|axis| Some(Dim::Of { input: 0, axis }))
                    .collect()
            }
            Op::ReduceComposite(r) => {
                // The kept axes of the inputs broadcast together.
                let nd = inputs.iter().map(|t| t.ndim()).max().unwrap_or(0);
                let kept: Vec<usize> = match &r.reduce.axis {
                    None => vec![],
                    Some(axes) => (0..nd).filter(|a| !axes.contains(a)).collect(),
                };
                if kept.len() != out_ndim {
                    return none;
                }
                let bcast = out.broadcastable();
                kept.into_iter()
                    .enumerate()
                    .map(|(k, axis)| {
                        if bcast[k] {
                            return Some(Dim::Const(1));
                        }
                        inputs
                            .iter()
                            .position(|t| t.ndim() == nd && !t.broadcastable()[axis])
                            .map(|input| Dim::Of { input, axis })
                    })
                    .collect()
            }
            Op::Alloc => {
                if inputs.len() != out_ndim + 1 {
                    return none;
                }
                (1..inputs.len()).map(|i| Some(Dim::Value(i))).collect()
            }
            Op::Join => {
                let Some(axis) = constants[0].and_then(|t| crate::ops::scalar::scalar_i64(t).ok())
                else {
                    return none;
                };
                let nd = out_ndim as i64;
                if axis < -nd || axis >= nd {
                    return none;
                }
                let axis = axis.rem_euclid(nd) as usize;
                (0..out_ndim)
                    .map(|a| {
                        Some(if a == axis {
                            Dim::Sum {
                                inputs: (1..inputs.len()).collect(),
                                axis,
                            }
                        } else {
                            Dim::Of { input: 1, axis: a }
                        })
                    })
                    .collect()
            }
            Op::Subtensor(s) => {
                let mut dims = Vec::with_capacity(out_ndim);
                for (axis, e) in s.idx_list.iter().enumerate() {
                    match e {
                        IdxEntry::Index(_) => {}
                        IdxEntry::Slice {
                            start: None,
                            stop: None,
                            step: None,
                        } => dims.push(Some(Dim::Of { input: 0, axis })),
                        IdxEntry::Slice { .. } => dims.push(None),
                    }
                }
                for axis in s.idx_list.len()..inputs[0].ndim() {
                    dims.push(Some(Dim::Of { input: 0, axis }));
                }
                if dims.len() == out_ndim { dims } else { none }
            }
            Op::AdvancedSubtensor1 => {
                let mut dims = vec![Some(Dim::Of { input: 1, axis: 0 })];
                dims.extend((1..inputs[0].ndim()).map(|axis| Some(Dim::Of { input: 0, axis })));
                if dims.len() == out_ndim { dims } else { none }
            }
            _ => none,
        }
    }
}
