//! The `salus` binary's output behaviour as scripts see it.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::io::Write;
use std::process::{Command, Stdio};

/// `salus … --json | head -1`: the reader goes away early. The binary must stop quietly
/// with the SIGPIPE exit status (141), not panic with a backtrace on stderr.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("km.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "time,event").unwrap();
    // Distinct times: a long curve, far more output than a pipe buffer holds.
    for i in 0..100_000u32 {
        writeln!(f, "{}.{:03},{}", i / 7, i % 997, i % 2).unwrap();
    }
    drop(f);
    let mut child = Command::new(env!("CARGO_BIN_EXE_salus"))
        .args(["km", "--data"])
        .arg(&path)
        .args(["--time", "time", "--event", "event", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader closes its end before reading anything
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
