//! `debugprint` in Theano 1.0's format (SPEC §7) and `pp`, over a FunctionGraph.

use std::collections::{HashMap, HashSet};

use crate::dtype::DType;
use crate::function::fgraph::{FVarKind, FunctionGraph, VarId};
use crate::memory::Tensor;
use crate::ops::Op;
use crate::ops::scalar::read_all;
use crate::scan::ScanInfo;
use crate::types::Type;

/// How ids are written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IdStyle {
    /// `[id A]`, `[id B]`, ... `[id BA]`.
    Char,
    /// `[id 0]`, `[id 1]`, ...
    Int,
    /// The variable's own id number.
    Id,
    /// No id.
    None,
}

impl IdStyle {
    pub fn parse(s: &str) -> Option<IdStyle> {
        match s {
            "CHAR" => Some(IdStyle::Char),
            "int" => Some(IdStyle::Int),
            "id" => Some(IdStyle::Id),
            "" => Some(IdStyle::None),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct DebugPrintOptions {
    /// Levels to print; negative means all.
    pub depth: i64,
    pub print_type: bool,
    pub ids: IdStyle,
    pub stop_on_name: bool,
    /// Print each node's toposort position (compiled functions).
    pub show_order: bool,
    /// PyTensor's box-drawing style.
    pub tree_style: bool,
    /// Theano's `print_destroy_map`: `d={0: [1]}` after the name.
    pub print_destroy_map: bool,
    /// Theano's `print_view_map`: `v={0: [0]}` after the name.
    pub print_view_map: bool,
}

impl Default for DebugPrintOptions {
    fn default() -> Self {
        DebugPrintOptions {
            depth: -1,
            print_type: false,
            ids: IdStyle::Char,
            stop_on_name: false,
            show_order: false,
            tree_style: false,
            print_destroy_map: false,
            print_view_map: false,
        }
    }
}

/// Theano's letter ids: A..Z, BA, BB... (base 26, A = 0).
pub fn char_id(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

fn format_float(v: f64, dtype: DType) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = if dtype == DType::Float64 {
        format!("{v:?}")
    } else {
        format!("{:?}", v as f32)
    };
    // Rust writes 1e-5 where NumPy writes 1e-05.
    if let Some((m, e)) = s.split_once('e') {
        let (sign, digits) = if let Some(d) = e.strip_prefix('-') {
            ("-", d)
        } else {
            ("+", e)
        };
        return format!("{m}e{sign}{digits:0>2}");
    }
    s
}

/// The elements of a tensor as NumPy prints them.
fn element_texts(t: &Tensor) -> Vec<String> {
    let dtype = t.dtype;
    let f = || -> crate::error::Result<Vec<String>> {
        Ok(crate::with_dtype!(dtype, T => {
            read_all::<T>(t)?
                .into_iter()
                .map(|x| {
                    use crate::ops::scalar::Prim;
                    if dtype == DType::Bool {
                        if x.to_f64() != 0.0 { "True".to_string() } else { "False".to_string() }
                    } else if dtype.is_float() {
                        format_float(x.to_f64(), dtype)
                    } else {
                        x.to_i128().to_string()
                    }
                })
                .collect()
        }))
    };
    f().unwrap_or_else(|_| vec!["?".into()])
}

fn nested(values: &[String], shape: &[usize]) -> String {
    if shape.is_empty() {
        return values.first().cloned().unwrap_or_default();
    }
    let n = shape[0];
    let inner: usize = shape[1..].iter().product();
    let parts: Vec<String> = (0..n)
        .map(|i| nested(&values[i * inner..(i + 1) * inner], &shape[1..]))
        .collect();
    format!("[{}]", parts.join(" "))
}

/// `TensorConstant{5}`, `TensorConstant{[1 2]}`, `TensorConstant{(1, 1) of 2}`,
/// or `Constant{1}` for a scalar-typed constant.
pub fn constant_label(t: &Tensor, ty: &Type) -> String {
    let values = element_texts(t);
    if let Type::Scalar(_) = ty {
        return format!(
            "Constant{{{}}}",
            values.first().cloned().unwrap_or_default()
        );
    }
    let body = if t.ndim() > 0 && t.size() > 0 && values.iter().all(|v| *v == values[0]) {
        let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!("{shape} of {}", values[0])
    } else if t.size() > 20 {
        "...".to_string()
    } else {
        nested(&values, &t.shape)
    };
    format!("TensorConstant{{{body}}}")
}

/// A graph being printed: the outer one, or the inner graph of a scan.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    fg: &'a FunctionGraph,
    /// For an inner graph: the scan node's graph and its outer inputs, so
    /// that inner inputs print `-> [id X]`.
    outer: Option<(&'a FunctionGraph, &'a [VarId], &'a ScanInfo)>,
    /// Toposort positions (compiled outer graphs only).
    show_order: bool,
}

/// Ids are per Apply node for outputs, per variable for leaves, per graph.
type Key = (usize, bool, usize);

struct Printer<'a> {
    opts: &'a DebugPrintOptions,
    order: HashMap<usize, usize>,
    ids: HashMap<Key, String>,
    done: HashSet<Key>,
    out: String,
    /// Scan outputs met so far, printed in the inner-graphs section (the
    /// graph holding them, and the variable).
    scans: Vec<(Ctx<'a>, VarId)>,
    scans_seen: HashSet<(usize, VarId)>,
}

fn graph_key(fg: &FunctionGraph) -> usize {
    fg as *const FunctionGraph as usize
}

impl<'a> Printer<'a> {
    fn key(fg: &FunctionGraph, v: VarId) -> Key {
        match fg.owner(v) {
            Some((n, _)) => (graph_key(fg), true, n),
            None => (graph_key(fg), false, v),
        }
    }

    fn id_of(&mut self, fg: &FunctionGraph, v: VarId) -> String {
        let key = Self::key(fg, v);
        let next = self.ids.len();
        let style = self.opts.ids;
        let id = self.ids.entry(key).or_insert_with(|| match style {
            IdStyle::Char => char_id(next),
            IdStyle::Int => next.to_string(),
            IdStyle::Id => (key.2 + if key.1 { 1 << 20 } else { 0 }).to_string(),
            IdStyle::None => String::new(),
        });
        if style == IdStyle::None {
            String::new()
        } else {
            format!("[id {id}]")
        }
    }

    fn type_text(&self, fg: &FunctionGraph, v: VarId) -> String {
        if self.opts.print_type {
            format!(" <{}>", fg.vars[v].ty)
        } else {
            String::new()
        }
    }

    /// Notes a scan output for the inner-graphs section.
    fn note_scan(&mut self, ctx: Ctx<'a>, v: VarId) {
        if let Some((n, _)) = ctx.fg.owner(v)
            && matches!(ctx.fg.nodes[n].op, Op::Scan(_))
            && self.scans_seen.insert((graph_key(ctx.fg), v))
        {
            self.scans.push((ctx, v));
        }
    }

    fn print(&mut self, ctx: Ctx<'a>, v: VarId, prefix: &str, child_prefix: &str, depth: i64) {
        if depth == 0 {
            return;
        }
        let fg = ctx.fg;
        self.note_scan(ctx, v);
        let id = self.id_of(fg, v);
        let ty = self.type_text(fg, v);
        match fg.owner(v) {
            None => {
                let label = fg.var_text(v);
                let mut arrow = String::new();
                if let (Some((outer_fg, outer_inputs, info)), FVarKind::Input(i)) =
                    (ctx.outer, &fg.vars[v].kind)
                    && let Some(k) = info.outer_of_inner(*i)
                    && let Some(&outer) = outer_inputs.get(k)
                {
                    arrow = format!(" -> {}", self.id_of(outer_fg, outer));
                }
                self.out
                    .push_str(&format!("{prefix}{label} {id}{ty}{arrow}\n"));
            }
            Some((n, k)) => {
                let node = &fg.nodes[n];
                let mut op = fg.op_name(n);
                if node.outputs.len() > 1 {
                    op.push_str(&format!(".{k}"));
                }
                let name = fg.vars[v].name.clone().unwrap_or_default();
                let order = if ctx.show_order {
                    self.order
                        .get(&n)
                        .map(|i| i.to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                let line = if self.opts.tree_style {
                    let name = if name.is_empty() {
                        String::new()
                    } else {
                        format!(" '{name}'")
                    };
                    format!("{prefix}{op} {id}{ty}{name} {order}")
                        .trim_end()
                        .to_string()
                } else {
                    let (dmap, vmap) = self.maps(&node.op, node.outputs.len());
                    format!("{prefix}{op} {id}{ty} '{name}' {dmap} {vmap} {order}")
                };
                self.out.push_str(&line);
                self.out.push('\n');
                let key = Self::key(fg, v);
                let already = !self.done.insert(key);
                let stop =
                    self.opts.stop_on_name && !name.is_empty() && prefix.is_empty().not_root();
                if already || stop {
                    return;
                }
                let inputs = &node.inputs;
                for (i, &inp) in inputs.iter().enumerate() {
                    let last = i + 1 == inputs.len();
                    let (p, c) = if self.opts.tree_style {
                        (
                            format!("{child_prefix}{}", if last { " └─ " } else { " ├─ " }),
                            format!("{child_prefix}{}", if last { "   " } else { " │ " }),
                        )
                    } else {
                        (
                            format!("{child_prefix} |"),
                            format!("{child_prefix}{}", if last { "  " } else { " |" }),
                        )
                    };
                    self.print(ctx, inp, &p, &c, depth - 1);
                }
            }
        }
    }

    /// The `d={...}` and `v={...}` fields, when asked for and not empty.
    fn maps(&self, op: &Op, n_outputs: usize) -> (String, String) {
        let field = |on: bool, tag: &str, f: &dyn Fn(usize) -> Option<usize>| {
            let pairs: Vec<(usize, usize)> = (0..n_outputs)
                .filter_map(|o| f(o).map(|i| (o, i)))
                .collect();
            if on && !pairs.is_empty() {
                format!("{tag}={}", crate::ops::inplace::map_text(&pairs))
            } else {
                String::new()
            }
        };
        (
            field(self.opts.print_destroy_map, "d", &|o| op.destroys(o)),
            // A DimShuffle not marked inplace copies in Theano (no view_map).
            field(self.opts.print_view_map, "v", &|o| match op {
                Op::DimShuffle(d) if !d.inplace => None,
                _ => op.view_of(o),
            }),
        )
    }

    /// The inner-graphs section: each scan met (also inside inner graphs)
    /// as an already-printed line, then its inner outputs prefixed `>`.
    fn print_inner_graphs(&mut self, depth: i64) {
        if self.scans.is_empty() {
            return;
        }
        self.out.push('\n');
        self.out.push_str(if self.opts.tree_style {
            "Inner graphs:\n"
        } else {
            "Inner graphs of the scan ops:\n"
        });
        let mut i = 0;
        while i < self.scans.len() {
            let (ctx, v) = self.scans[i];
            i += 1;
            self.out.push('\n');
            let header = Ctx {
                show_order: false,
                ..ctx
            };
            self.print(header, v, "", "", depth);
            let Some((n, _)) = ctx.fg.owner(v) else {
                continue;
            };
            let node = &ctx.fg.nodes[n];
            let Op::Scan(op) = &node.op else { continue };
            let info: &'a ScanInfo = &op.0;
            let inner = Ctx {
                fg: &info.fgraph,
                outer: Some((ctx.fg, &node.inputs, info)),
                show_order: false,
            };
            let (p, c) = if self.opts.tree_style {
                (" ← ", "   ")
            } else {
                (" >", " >")
            };
            for &o in &info.fgraph.outputs {
                self.print(inner, o, p, c, depth);
            }
        }
    }
}

/// Helper so that `stop_on_name` never stops at a root.
trait NotRoot {
    fn not_root(self) -> bool;
}
impl NotRoot for bool {
    fn not_root(self) -> bool {
        !self
    }
}

/// The debugprint text of `roots` in `fg`, followed by the inner graphs of
/// the scans it reaches.
pub fn debugprint(fg: &FunctionGraph, roots: &[VarId], opts: &DebugPrintOptions) -> String {
    let order = fg
        .schedule()
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    let mut p = Printer {
        opts,
        order,
        ids: HashMap::new(),
        done: Default::default(),
        out: String::new(),
        scans: Vec::new(),
        scans_seen: HashSet::new(),
    };
    let ctx = Ctx {
        fg,
        outer: None,
        show_order: opts.show_order,
    };
    for &r in roots {
        p.print(ctx, r, "", "", opts.depth);
    }
    p.print_inner_graphs(opts.depth);
    p.out
}

/// Infix text of a variable (`printing.pp`).
pub fn pp(fg: &FunctionGraph, v: VarId) -> String {
    let var = &fg.vars[v];
    let Some((n, _)) = fg.owner(v) else {
        return fg.var_text(v);
    };
    if let Some(name) = &var.name {
        return name.clone();
    }
    let node = &fg.nodes[n];
    let args: Vec<String> = node.inputs.iter().map(|&i| pp(fg, i)).collect();
    use crate::ops::ScalarOp;
    if let Op::Elemwise(e) = &node.op {
        let infix = match e.scalar_op {
            ScalarOp::Add => Some("+"),
            ScalarOp::Sub => Some("-"),
            ScalarOp::Mul => Some("*"),
            ScalarOp::TrueDiv => Some("/"),
            ScalarOp::IntDiv => Some("//"),
            ScalarOp::Mod => Some("%"),
            ScalarOp::Pow => Some("**"),
            ScalarOp::Eq => Some("=="),
            ScalarOp::Neq => Some("!="),
            ScalarOp::Lt => Some("<"),
            ScalarOp::Le => Some("<="),
            ScalarOp::Gt => Some(">"),
            ScalarOp::Ge => Some(">="),
            ScalarOp::And => Some("&"),
            ScalarOp::Or => Some("|"),
            ScalarOp::Xor => Some("^"),
            _ => None,
        };
        if let Some(sym) = infix {
            return format!("({})", args.join(&format!(" {sym} ")));
        }
        if e.scalar_op == ScalarOp::Neg {
            return format!("(-{})", args[0]);
        }
        return format!("{}({})", e.scalar_op.name(), args.join(", "));
    }
    match &node.op {
        Op::Dot | Op::Dot22(_) if args.len() == 2 => format!("({} \\dot {})", args[0], args[1]),
        Op::DimShuffle(d) if !d.inplace || d.new_order.iter().any(|x| x.is_none()) => {
            args[0].clone()
        }
        op => format!(
            "{}({})",
            op.display_name(node.inputs.first().map(|&i| &fg.vars[i].ty)),
            args.join(", ")
        ),
    }
}
