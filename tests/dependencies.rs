//! Checks on the dependency tree that a build would not report.

/// glassbox depends on gemm directly only to turn on its AVX-512 kernels in the copy candle uses. If
/// candle moved to another gemm version, the feature would go to a second copy and candle would lose
/// it without any error; this catches that.
#[test]
fn one_gemm_for_candle_and_glassbox() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock is committed");
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.lines().any(|l| l.trim() == "name = \"gemm\""))
        .filter_map(|p| p.lines().find_map(|l| l.trim().strip_prefix("version = ")))
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "Cargo.lock has gemm {versions:?}: make glassbox's gemm dependency the version candle-core uses"
    );
}
