//! `profile=True`: time per node and per op, and what each call allocates,
//! like Theano's ProfileStats.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::function::fgraph::{FunctionGraph, NodeId};
use crate::memory;
use crate::vm::NodeClock;

/// What the profiler has seen over all calls of one function.
#[derive(Default, Clone)]
pub struct ProfileStats {
    pub calls: u64,
    /// Wall time inside calls (the thunks and the checks around them).
    pub call_time: Duration,
    /// Time per node, with the node's text, over all calls.
    pub node_time: HashMap<NodeId, (String, String, Duration)>,
    /// Bytes of buffers produced during the last call (pooled or not).
    pub last_call_bytes: usize,
    /// Bytes the last call had to get from the system allocator.
    pub last_call_fresh_bytes: usize,
    /// Sum over calls of the bytes of buffers produced.
    pub total_bytes: usize,
    /// Sum over calls of the bytes obtained from the system allocator.
    pub total_fresh_bytes: usize,
    /// The most bytes alive beyond the call's start, over all calls.
    pub peak_bytes: usize,
}

/// Measures one call.
pub struct CallProfiler<'a> {
    stats: &'a mut ProfileStats,
    started: Instant,
    node_started: Instant,
    alloc_at_start: memory::AllocStats,
}

impl<'a> CallProfiler<'a> {
    pub fn start(stats: &'a mut ProfileStats) -> CallProfiler<'a> {
        memory::reset_peak();
        CallProfiler {
            stats,
            started: Instant::now(),
            node_started: Instant::now(),
            alloc_at_start: memory::stats(),
        }
    }

    /// Ends the call's measurement.
    pub fn finish(self) {
        let now = memory::stats();
        let s = self.stats;
        s.calls += 1;
        s.call_time += self.started.elapsed();
        s.last_call_bytes = now.requested_bytes - self.alloc_at_start.requested_bytes;
        s.last_call_fresh_bytes = now.fresh_bytes - self.alloc_at_start.fresh_bytes;
        s.total_bytes += s.last_call_bytes;
        s.total_fresh_bytes += s.last_call_fresh_bytes;
        s.peak_bytes = s.peak_bytes.max(
            now.peak_bytes
                .saturating_sub(self.alloc_at_start.live_bytes),
        );
    }
}

impl NodeClock for CallProfiler<'_> {
    fn start(&mut self) {
        self.node_started = Instant::now();
    }

    fn stop(&mut self, fg: &FunctionGraph, node: NodeId) {
        let dt = self.node_started.elapsed();
        let entry = self
            .stats
            .node_time
            .entry(node)
            .or_insert_with(|| (fg.op_name(node), fg.node_text(node), Duration::ZERO));
        entry.2 += dt;
    }
}

impl ProfileStats {
    /// Theano-style text summary: per-op and per-node time, then memory.
    pub fn summary(&self, name: &str) -> String {
        let mut out = String::new();
        let total = self.call_time.as_secs_f64();
        out.push_str(&format!(
            "Function profiling\n==================\n  Message: {name}\n"
        ));
        out.push_str(&format!(
            "  Time in {} calls to Function.__call__: {:.6e}s\n",
            self.calls, total
        ));
        let node_total: f64 = self
            .node_time
            .values()
            .map(|(_, _, d)| d.as_secs_f64())
            .sum();
        out.push_str(&format!("  Time in thunks: {node_total:.6e}s\n\n"));
        let mut by_op: HashMap<&str, (f64, usize)> = HashMap::new();
        for (op, _, d) in self.node_time.values() {
            let e = by_op.entry(op.as_str()).or_default();
            e.0 += d.as_secs_f64();
            e.1 += 1;
        }
        let mut ops: Vec<_> = by_op.into_iter().collect();
        ops.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
        out.push_str("Ops\n---\n  <% time> <sum %> <time> <per call> <nb apply> <Op name>\n");
        let pct = |t: f64| {
            if node_total > 0.0 {
                100.0 * t / node_total
            } else {
                0.0
            }
        };
        let mut cum = 0.0;
        for (op, (t, n)) in &ops {
            cum += pct(*t);
            out.push_str(&format!(
                "  {:6.1}%  {:6.1}%  {:.3e}s  {:.3e}s  {:3}  {}\n",
                pct(*t),
                cum,
                t,
                t / self.calls.max(1) as f64,
                n,
                op
            ));
        }
        let mut nodes: Vec<_> = self.node_time.values().collect();
        nodes.sort_by_key(|n| std::cmp::Reverse(n.2));
        out.push_str("\nApply\n------\n  <% time> <time> <Apply name>\n");
        for (_, text, d) in nodes {
            out.push_str(&format!(
                "  {:6.1}%  {:.3e}s  {}\n",
                pct(d.as_secs_f64()),
                d.as_secs_f64(),
                text
            ));
        }
        out.push_str(&format!(
            "\nMemory Profile\n--------------\n  Peak bytes above the call's start: {}\n  Bytes of buffers produced by the last call: {}\n  Bytes taken from the system allocator by the last call: {}\n  Mean bytes produced per call: {}\n  Mean bytes from the system allocator per call: {}\n",
            self.peak_bytes,
            self.last_call_bytes,
            self.last_call_fresh_bytes,
            self.total_bytes / self.calls.max(1) as usize,
            self.total_fresh_bytes / self.calls.max(1) as usize
        ));
        out
    }
}
