//! The `edgeplug-host` binary's command line: bad input fails with a clear
//! message and the exit codes scripts rely on (2 for usage, 1 for a failure
//! to start), before anything is served.
//!
//! The server's behaviour over TCP is tested with the test kit, in
//! `host-test/tests/serve_binary.rs`; those tests run this same binary.

use std::process::{Command, Stdio};

/// Runs `edgeplug-host` with `args` to its end; returns the exit code and
/// stderr.
fn run(args: &[&str]) -> anyhow::Result<(Option<i32>, String)> {
    let data = tempfile::tempdir()?;
    let output = Command::new(env!("CARGO_BIN_EXE_edgeplug-host"))
        .args(args)
        // Nothing may land outside the test's own folder.
        .current_dir(data.path())
        .stdout(Stdio::null())
        .output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[test]
fn a_bad_flag_fails_with_usage_and_exit_code_2() -> anyhow::Result<()> {
    let (code, stderr) = run(&["serve", "--listne", "x"])?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--listne"), "{stderr}");
    let (code, stderr) = run(&["serve", "--flavor", "cloud"])?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("portable"), "names the choices: {stderr}");
    Ok(())
}

#[test]
fn an_unreadable_component_fails_naming_it() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let missing = data.path().join("nowhere.wasm").display().to_string();
    let s3_data = data.path().join("s3").display().to_string();
    let serve = |component: &str| {
        run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--s3-listen",
            "127.0.0.1:0",
            "--s3-data",
            &s3_data,
            "--component",
            component,
        ])
    };
    let (code, stderr) = serve(&missing)?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nowhere.wasm"), "{stderr}");
    assert!(stderr.contains("cargo xtask build"), "{stderr}");

    let garbage = data.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not a component")?;
    let (code, stderr) = serve(&garbage.display().to_string())?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("garbage.wasm"), "{stderr}");
    Ok(())
}

#[test]
fn help_names_every_subcommand() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeplug-host"))
        .arg("--help")
        .output()?;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for subcommand in ["serve", "s3"] {
        assert!(help.contains(subcommand), "{help}");
    }
    Ok(())
}
