//! Installing what the tests need from Debian's packages, on a fresh CI or
//! dev machine (a root shell with apt).

use std::process::{Command, Stdio};

use anyhow::bail;

use crate::workspace;

/// Whether `program --version` runs.
pub fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs `packages` with apt-get (updating the package lists when the
/// first try fails), printing apt's progress; outside a root shell, says
/// what to do instead (`instead`).
pub fn install(packages: &[&str], instead: &str) -> anyhow::Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let list = packages.join(" ");
    if !is_root {
        bail!("{list} not installed: install it (Debian: apt-get install {list}) or {instead}");
    }
    eprintln!("xtask: installing {list} with apt-get");
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command
            .args(["-q", "-y"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        workspace::run(&mut command)
    };
    let install: Vec<&str> = ["install", "--no-install-recommends"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    if apt(&install).is_err() {
        apt(&["update"])?;
        apt(&install)?;
    }
    Ok(())
}
