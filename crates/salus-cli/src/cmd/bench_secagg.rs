//! `salus bench secagg`: one in-process secure-aggregation round (hub + N nodes, real
//! messages serialised to JSON) with optional dropouts, timed, checked against the plain sum.

use std::time::{Duration, Instant};

use salus_secagg::benchmark::{self, BenchSetup};
use salus_secagg::simulation::Stopwatch;

/// Which graph the round uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphChoice {
    /// Every pair of nodes masks (Bonawitz et al. 2017).
    Full,
    /// Random k-regular graph, k = 4 ceil(log2 n) (SecAgg+, Bell et al. 2020).
    Sparse,
}

/// Arguments of `salus bench secagg`.
#[derive(Debug, clap::Args)]
pub struct SecaggBenchArgs {
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Length of each node's vector.
    #[arg(long, default_value_t = 100_000)]
    pub dim: usize,
    /// Fraction of nodes that drop out after sharing keys (0 to < 0.5).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Full graph or sparse SecAgg+ graph.
    #[arg(long, value_enum, default_value_t = GraphChoice::Sparse)]
    pub graph: GraphChoice,
    /// Neighbours per node for the sparse graph (even; default 4 ceil(log2 n)).
    #[arg(long)]
    pub degree: Option<usize>,
    /// Seed for keys, inputs and protocol randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

struct WallClock(Instant);

impl Stopwatch for WallClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

pub fn run(args: SecaggBenchArgs) -> anyhow::Result<()> {
    let mut setup = BenchSetup::new(
        args.clients,
        args.dim,
        args.dropout,
        args.graph == GraphChoice::Sparse,
        args.seed,
    );
    if let (Some(degree), GraphChoice::Sparse) = (args.degree, args.graph) {
        setup.graph = salus_secagg::Graph::Sparse {
            degree,
            share_threshold: degree / 2 + 1,
        };
    }
    let result = benchmark::run(&setup, &WallClock(Instant::now()))?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!(
            "secure aggregation, {} clients x {} values ({:?} graph), {} dropped\n  \
             round {:.3} s (hub {:.3} s, node mean {:.4} s)\n  \
             {:.0} bytes sent per node, expansion {:.3}x of the raw 64-bit vector\n  correct: {}",
            result.clients,
            result.dim,
            setup.graph,
            result.dropped,
            result.seconds,
            result.hub_seconds,
            result.node_seconds_mean,
            result.bytes_per_node,
            result.expansion,
            result.correct
        );
    }
    anyhow::ensure!(
        result.correct,
        "the aggregated sum does not match the plain sum"
    );
    Ok(())
}
