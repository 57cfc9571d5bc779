//! The registry of rewrites: every rewrite has a name, tags and a stage, as
//! in Theano's optimizer database. A mode runs the rewrites tagged with its
//! base tag (`fast_run`, or `fast_compile`), plus those it includes by name
//! or tag, minus those it excludes by name or tag.
//!
//! To add a rewrite, write `fn(&mut FunctionGraph) -> Result<bool>` (true
//! when it changed the graph) in its own file and append one entry to
//! [`REWRITES`]: `Rewrite { name, tags, stage, run }`.

use crate::error::Result;
use crate::function::fgraph::FunctionGraph;

use super::{
    algebraic_canonizer, canonicalize, constant_folding, crossentropy, dot22, fill, fusion, gemm,
    merge, neutral, pow_specialize, product_merge, reduce_fusion, scan_pushout, scan_save_mem,
    shape_feature, stabilize, subtensor_merge, useless,
};

/// One rewrite pass: returns whether it changed the graph.
pub type Pass = fn(&mut FunctionGraph) -> Result<bool>;

/// When a rewrite runs. Stages run in this order, each to a fixed point
/// together with the `Cleanup` rewrites (merge, constant folding, and the
/// shape rewrites, which Theano's ShapeFeature applies all along) (Theano's optdb positions: merge 0,
/// canonicalize 1, stabilize 1.5, BLAS 1.7, specialize 2, fusion 71,
/// in-place 75).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Stage {
    /// Runs first on its own, then inside every other stage.
    Cleanup,
    Canonicalize,
    Stabilize,
    Blas,
    Specialize,
    Fusion,
    Inplace,
}

pub struct Rewrite {
    pub name: &'static str,
    pub tags: &'static [&'static str],
    pub stage: Stage,
    pub run: Pass,
}

impl Rewrite {
    /// Whether `word` is this rewrite's name or one of its tags.
    pub fn answers_to(&self, word: &str) -> bool {
        self.name == word || self.tags.contains(&word)
    }
}

/// Every rewrite, in the order they run within a stage.
pub const REWRITES: &[Rewrite] = &[
    Rewrite {
        name: "merge",
        tags: &["fast_run", "fast_compile", "merge"],
        stage: Stage::Cleanup,
        run: merge::merge,
    },
    Rewrite {
        name: "constant_folding",
        tags: &["fast_run", "fast_compile", "constant_folding"],
        stage: Stage::Cleanup,
        run: constant_folding::constant_folding,
    },
    // canonicalize
    Rewrite {
        name: "local_constants_first",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: canonicalize::local_constants_first,
    },
    Rewrite {
        name: "local_upcast_elemwise_constant_inputs",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: canonicalize::local_upcast_elemwise_constant_inputs,
    },
    Rewrite {
        name: "local_mul_specialize",
        tags: &["fast_run", "canonicalize", "specialize"],
        stage: Stage::Canonicalize,
        run: neutral::local_mul_specialize,
    },
    Rewrite {
        name: "local_add_specialize",
        tags: &["fast_run", "canonicalize", "specialize"],
        stage: Stage::Canonicalize,
        run: neutral::local_add_specialize,
    },
    Rewrite {
        name: "local_neg_neg",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: neutral::local_neg_neg,
    },
    Rewrite {
        name: "local_add_canonizer",
        tags: &["fast_run", "canonicalize", "algebraic_canonizer"],
        stage: Stage::Canonicalize,
        run: algebraic_canonizer::local_add_canonizer,
    },
    Rewrite {
        name: "local_mul_canonizer",
        tags: &["fast_run", "canonicalize", "algebraic_canonizer"],
        stage: Stage::Canonicalize,
        run: algebraic_canonizer::local_mul_canonizer,
    },
    Rewrite {
        name: "local_fill_sink",
        tags: &["fast_run", "canonicalize", "fill"],
        stage: Stage::Canonicalize,
        run: fill::local_fill_sink,
    },
    Rewrite {
        name: "local_fill_cut",
        tags: &["fast_run", "canonicalize", "fill"],
        stage: Stage::Canonicalize,
        run: fill::local_fill_cut,
    },
    Rewrite {
        name: "local_useless_fill",
        tags: &["fast_run", "canonicalize", "useless", "fill"],
        stage: Stage::Canonicalize,
        run: fill::local_useless_fill,
    },
    Rewrite {
        name: "local_pow_canonicalize",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: pow_specialize::pow_canonicalize,
    },
    Rewrite {
        name: "local_useless_cast",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_useless_cast,
    },
    Rewrite {
        name: "local_useless_dimshuffle",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_useless_dimshuffle,
    },
    Rewrite {
        name: "local_dimshuffle_dimshuffle",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: useless::local_dimshuffle_dimshuffle,
    },
    Rewrite {
        name: "local_useless_reshape",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_useless_reshape,
    },
    Rewrite {
        name: "local_useless_subtensor",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_useless_subtensor,
    },
    Rewrite {
        name: "local_remove_useless_assert",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_remove_useless_assert,
    },
    Rewrite {
        name: "local_subtensor_merge",
        tags: &["fast_run", "canonicalize"],
        stage: Stage::Canonicalize,
        run: subtensor_merge::local_subtensor_merge,
    },
    Rewrite {
        name: "local_useless_rebroadcast",
        tags: &["fast_run", "canonicalize", "useless"],
        stage: Stage::Canonicalize,
        run: useless::local_useless_rebroadcast,
    },
    Rewrite {
        name: "local_shape_to_shape_i",
        tags: &["fast_run", "canonicalize", "shape"],
        stage: Stage::Cleanup,
        run: shape_feature::local_shape_to_shape_i,
    },
    Rewrite {
        name: "local_shape_i_lift",
        tags: &["fast_run", "canonicalize", "shape"],
        stage: Stage::Cleanup,
        run: shape_feature::local_shape_i_lift,
    },
    Rewrite {
        name: "local_subtensor_make_vector",
        tags: &["fast_run", "canonicalize", "shape"],
        stage: Stage::Cleanup,
        run: shape_feature::local_subtensor_make_vector,
    },
    Rewrite {
        name: "merge_shared_operand_products",
        tags: &["fast_run", "product_merge"],
        stage: Stage::Canonicalize,
        run: product_merge::merge_shared_operand_products,
    },
    Rewrite {
        name: "scan_pushout",
        tags: &["fast_run", "scan", "scan_pushout"],
        stage: Stage::Canonicalize,
        run: scan_pushout::scan_pushout,
    },
    // stabilize
    Rewrite {
        name: "local_logsoftmax",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::local_logsoftmax,
    },
    Rewrite {
        name: "logsigm_to_softplus",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::logsigm_to_softplus,
    },
    Rewrite {
        name: "log1msigm_to_softplus",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::log1msigm_to_softplus,
    },
    Rewrite {
        name: "log1pexp_to_softplus",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::log1pexp_to_softplus,
    },
    Rewrite {
        name: "local_log1p",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::local_log1p,
    },
    Rewrite {
        name: "local_expm1",
        tags: &["fast_run", "stabilize"],
        stage: Stage::Stabilize,
        run: stabilize::local_expm1,
    },
    Rewrite {
        name: "crossentropy_to_crossentropy_with_softmax_with_bias",
        tags: &["fast_run", "stabilize", "xent"],
        stage: Stage::Stabilize,
        run: crossentropy::crossentropy_to_crossentropy_with_softmax_with_bias,
    },
    Rewrite {
        name: "local_advanced_indexing_crossentropy_onehot",
        tags: &["fast_run", "stabilize", "xent"],
        stage: Stage::Stabilize,
        run: crossentropy::local_advanced_indexing_crossentropy_onehot,
    },
    Rewrite {
        name: "local_advanced_indexing_crossentropy_onehot_grad",
        tags: &["fast_run", "stabilize", "xent"],
        stage: Stage::Stabilize,
        run: crossentropy::local_advanced_indexing_crossentropy_onehot_grad,
    },
    // specialize
    // BLAS
    Rewrite {
        name: "local_gemm_to_gemm",
        tags: &["fast_run", "BlasOpt", "gemm"],
        stage: Stage::Blas,
        run: gemm::local_gemm_to_gemm,
    },
    Rewrite {
        name: "local_softmax_with_bias",
        tags: &["fast_run", "specialize", "softmax"],
        stage: Stage::Specialize,
        run: crossentropy::local_softmax_with_bias,
    },
    Rewrite {
        name: "local_softmax_of_crossentropy",
        tags: &["fast_run", "specialize", "xent"],
        stage: Stage::Specialize,
        run: crossentropy::local_softmax_of_crossentropy,
    },
    Rewrite {
        name: "local_dot_to_dot22",
        tags: &["fast_run", "BlasOpt", "specialize", "dot22"],
        stage: Stage::Specialize,
        run: dot22::local_dot_to_dot22,
    },
    Rewrite {
        name: "local_dot22_to_dot22scalar",
        tags: &["fast_run", "BlasOpt", "specialize", "dot22"],
        stage: Stage::Specialize,
        run: dot22::local_dot22_to_dot22scalar,
    },
    Rewrite {
        name: "local_pow_specialize",
        tags: &["fast_run", "specialize"],
        stage: Stage::Specialize,
        run: pow_specialize::pow_specialize,
    },
    // fusion
    Rewrite {
        name: "local_elemwise_fusion",
        tags: &["fast_run", "fusion", "elemwise_fusion", "FusionOptimizer"],
        stage: Stage::Fusion,
        run: fusion::elemwise_fusion,
    },
    Rewrite {
        name: "local_careduce_fusion",
        tags: &["fast_run", "fusion", "local_careduce_fusion"],
        stage: Stage::Fusion,
        run: reduce_fusion::local_careduce_fusion,
    },
    Rewrite {
        name: "scan_save_mem",
        tags: &["fast_run", "scan", "scan_save_mem"],
        stage: Stage::Fusion,
        run: scan_save_mem::scan_save_mem,
    },
];
