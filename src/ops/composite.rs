//! `Elemwise{Composite{...}}`: several elementwise ops fused into one node
//! (made by the `elemwise_fusion` rewrite). It keeps the scalar graph it
//! was built from (for its name and for fusing it again) and the program
//! lowered from it, which runs block by block with no full-size temporaries.

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::elemwise::{ScalarOp, broadcast_output_type};
use crate::ops::elemwise_exec::{Builder, Program, Val, run_program};
use crate::types::Type;

/// An operand of a scalar node: an input of the composite, or an earlier node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum ExprArg {
    Input(usize),
    Node(usize),
}

/// One scalar op of the composite's graph, with its output dtype.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct ExprNode {
    pub op: ScalarOp,
    pub args: SmallVec<[ExprArg; 3]>,
    pub dtype: DType,
}

/// A fused elementwise op.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Composite {
    pub input_dtypes: Vec<DType>,
    /// Topologically ordered; the last node is the output.
    pub nodes: Vec<ExprNode>,
    /// `Composite{((i0 * i1) + i2)}`.
    pub name: String,
    pub program: Program,
}

/// Longest name kept in full (a graph with much sharing prints exponentially).
const MAX_NAME: usize = 4000;

impl Composite {
    pub fn new(input_dtypes: Vec<DType>, nodes: Vec<ExprNode>) -> Result<Composite> {
        if nodes.is_empty() {
            return Err(Error::Runtime("internal error: an empty Composite".into()));
        }
        let mut b = Builder::new(&input_dtypes);
        let mut vals: Vec<Val> = Vec::with_capacity(nodes.len());
        for (k, n) in nodes.iter().enumerate() {
            let mut args: SmallVec<[Val; 3]> = SmallVec::new();
            for a in &n.args {
                args.push(match *a {
                    ExprArg::Input(i) if i < input_dtypes.len() => b.input(i),
                    ExprArg::Node(j) if j < k => vals[j],
                    _ => {
                        return Err(Error::Runtime(format!(
                            "internal error: Composite node {k} reads a missing operand {a:?}"
                        )));
                    }
                });
            }
            vals.push(b.apply(n.op, &args, n.dtype)?);
        }
        let program = b.finish(vals[vals.len() - 1]);
        let mut memo: Vec<Option<String>> = vec![None; nodes.len()];
        let body = expr_text(&nodes, nodes.len() - 1, &mut memo);
        Ok(Composite {
            input_dtypes,
            nodes,
            name: format!("Composite{{{body}}}"),
            program,
        })
    }

    pub fn out_dtype(&self) -> DType {
        self.nodes.last().map(|n| n.dtype).unwrap_or(DType::Float64)
    }

    /// The node's name in debugprint: `Elemwise{Composite{...}}`.
    pub fn display_name(&self) -> String {
        format!("Elemwise{{{}}}", self.name)
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let name = self.display_name();
        if inputs.len() != self.input_dtypes.len() {
            return Err(Error::Type(format!(
                "{name} takes {} inputs, got {}",
                self.input_dtypes.len(),
                inputs.len()
            )));
        }
        for (i, (t, d)) in inputs.iter().zip(&self.input_dtypes).enumerate() {
            if t.dtype() != *d {
                return Err(Error::Type(format!(
                    "{name}: input {i} must be {d}, got {t}"
                )));
            }
        }
        Ok(vec![broadcast_output_type(
            &name,
            inputs,
            self.out_dtype(),
        )?])
    }

    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        run_program(&self.program, inputs)
    }
}

/// Theano's pretty printing of a scalar graph: infix operators fully
/// parenthesized, other ops as `name(args)`, inputs as `i0`, `i1`...
fn expr_text(nodes: &[ExprNode], k: usize, memo: &mut Vec<Option<String>>) -> String {
    if let Some(s) = &memo[k] {
        return s.clone();
    }
    let n = &nodes[k];
    let mut args: Vec<String> = Vec::with_capacity(n.args.len());
    let mut total = 0;
    for a in &n.args {
        let s = match *a {
            ExprArg::Input(i) => format!("i{i}"),
            ExprArg::Node(j) if total < MAX_NAME => expr_text(nodes, j, memo),
            ExprArg::Node(_) => "...".into(),
        };
        total += s.len();
        args.push(s);
    }
    let s = match n.op.infix() {
        Some(sym) if args.len() == 1 => format!("({sym}{})", args[0]),
        Some(sym) => format!("({})", args.join(&format!(" {sym} "))),
        None => format!("{}({})", n.op.scalar_name(), args.join(", ")),
    };
    let s = if s.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &s[..cut])
    } else {
        s
    };
    memo[k] = Some(s.clone());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: ScalarOp, args: &[ExprArg], dtype: DType) -> ExprNode {
        ExprNode {
            op,
            args: args.iter().copied().collect(),
            dtype,
        }
    }

    #[test]
    fn the_name_follows_theanos_pretty_printer() {
        use ExprArg::*;
        let f = DType::Float64;
        // sqr(tanh(i0 + i1 * i2))
        let c = Composite::new(
            vec![f, f, f],
            vec![
                node(ScalarOp::Mul, &[Input(1), Input(2)], f),
                node(ScalarOp::Add, &[Input(0), Node(0)], f),
                node(ScalarOp::Tanh, &[Node(1)], f),
                node(ScalarOp::Sqr, &[Node(2)], f),
            ],
        )
        .unwrap();
        assert_eq!(c.name, "Composite{sqr(tanh((i0 + (i1 * i2))))}");
        let c = Composite::new(
            vec![f, f],
            vec![
                node(ScalarOp::Neg, &[Input(0)], f),
                node(ScalarOp::Lt, &[Node(0), Input(1)], DType::Bool),
                node(ScalarOp::Switch, &[Node(1), Input(0), Input(1)], f),
            ],
        )
        .unwrap();
        assert_eq!(c.name, "Composite{Switch(LT((-i0), i1), i0, i1)}");
    }

    #[test]
    fn a_composite_computes_its_graph() {
        use ExprArg::*;
        let f = DType::Float32;
        let c = Composite::new(
            vec![f, DType::Int8],
            vec![
                node(ScalarOp::Mul, &[Input(0), Input(1)], f),
                node(ScalarOp::Exp, &[Node(0)], f),
            ],
        )
        .unwrap();
        let x = Tensor::from_slice(f, &[3], &[0.0f32, 1.0, 2.0]).unwrap();
        let k = Tensor::from_slice(DType::Int8, &[1], &[2i8]).unwrap();
        let out = c.perform(&[&x, &k]).unwrap();
        let got = out.contiguous_slice::<f32>().unwrap();
        // float32 exp is within two ulps of the correctly rounded value.
        let want = [1.0, 2.0f32.exp(), 4.0f32.exp()];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 2.0 * f32::EPSILON * w, "{g} vs {w}");
        }
    }
}
