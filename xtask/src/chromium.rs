//! Headless Chromium and chromedriver for the browser test
//! (`host-test/tests/browser_upload.rs`).

use crate::debian;

/// Makes sure `chromium` and `chromedriver` run, installing Debian's
/// `chromium` and `chromium-driver` when they are missing, unless the test
/// is pointed at other binaries (`EDGEPLUG_CHROMIUM`, `EDGEPLUG_CHROMEDRIVER`).
pub fn ensure() -> anyhow::Result<()> {
    let pointed = std::env::var_os("EDGEPLUG_CHROMIUM").is_some()
        && std::env::var_os("EDGEPLUG_CHROMEDRIVER").is_some();
    if pointed || (debian::runs("chromium") && debian::runs("chromedriver")) {
        return Ok(());
    }
    debian::install(
        &["chromium", "chromium-driver"],
        "set EDGEPLUG_CHROMIUM and EDGEPLUG_CHROMEDRIVER",
    )
}
