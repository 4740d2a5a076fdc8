//! `rabbit-cluster`: start a three-node RabbitMQ cluster of our own (tests/rabbit_cluster.rs),
//! print where it is, and stop and delete it when stdin reaches its end. `bench/cluster.sh`
//! runs it, so that the benchmark starts the cluster exactly as the fault tests do.
//!
//! Output, one line each, once the three nodes run as one cluster:
//!   ports P1 P2 P3          AMQP ports on 127.0.0.1
//!   nodes N1 N2 N3          Erlang node names
//!   started_in SECONDS      time from nothing to three joined, running nodes
//!
//! This binary belongs to the tests package and is never installed.

use dripline_e2e::rabbit_cluster::{RabbitCluster, NODES};
use std::io::{Read, Write};

fn main() {
    let cluster = RabbitCluster::start();
    let ports: Vec<String> = cluster.ports().iter().map(u16::to_string).collect();
    let names: Vec<&str> = (0..NODES).map(|node| cluster.node_name(node)).collect();
    let mut out = std::io::stdout().lock();
    // A reader that went away is the same as an end of stdin: stop.
    let _ = writeln!(out, "ports {}", ports.join(" "));
    let _ = writeln!(out, "nodes {}", names.join(" "));
    let _ = writeln!(out, "started_in {:.1}", cluster.started_in().as_secs_f64());
    let _ = out.flush();
    drop(out);
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
}
