//! Rust's standard library in a component, writing over `wasi:cli`'s
//! stdout and stderr alone.
//!
//! In a `wasm32-wasip2` component, std writes its output (a panic's
//! message, `print!`) with wasi-libc's `write`, and looks up
//! `RUST_BACKTRACE` with its `getenv`, whenever the code can panic: that is,
//! always. Those two functions bring wasi-libc's descriptor table and
//! environment, and with them 13 imports into every component: stdin,
//! stdout, stderr, their output-stream methods, the three terminal
//! interfaces, `get-environment` and `exit`. Wasmtime wires each import up
//! again at every instantiation, so in a worker of three components they
//! were a third of what composing cost per request (docs/performance.md).
//!
//! This crate defines both functions, so the linker takes them from here
//! and never pulls wasi-libc's:
//! - `write` sends descriptor 1 to `wasi:cli/stdout` and 2 to
//!   `wasi:cli/stderr`, and refuses any other with `EBADF` (a component
//!   here opens no files);
//! - `getenv` finds nothing: components are configured through
//!   `wasi:config`, and a component is given no environment.
//!
//! A component links it with `extern crate guest_stdio;`. Built for
//! anything but `wasm32-wasip2` (the components' unit tests, the bench's
//! native upload), the crate is empty.

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p2"))]
mod wasi_libc {
    use std::ffi::c_char;

    #[allow(missing_docs)]
    mod bindings {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "edgeplug:worker/guest-stdio",
            generate_all,
        });
    }

    use bindings::wasi::cli::{stderr, stdout};

    /// WASI's `errno` values, as wasi-libc defines them.
    const EBADF: i32 = 8;
    const EIO: i32 = 29;

    /// The most `blocking-write-and-flush` takes in one call.
    const MAX_WRITE: usize = 4096;

    unsafe extern "C" {
        /// wasi-libc's `errno`, which std reads after a failed call.
        fn __errno_location() -> *mut i32;
    }

    fn failed(errno: i32) -> isize {
        // SAFETY: wasi-libc's errno location is valid for the whole run.
        unsafe { *__errno_location() = errno };
        -1
    }

    /// POSIX `write` for the standard streams: at most 4096 bytes per
    /// call, which std's `write_all` loops over.
    ///
    /// # Safety
    /// `buf` must point to `len` readable bytes, as POSIX requires.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn write(fd: i32, buf: *const u8, len: usize) -> isize {
        let stream = match fd {
            1 => stdout::get_stdout(),
            2 => stderr::get_stderr(),
            _ => return failed(EBADF),
        };
        let len = len.min(MAX_WRITE);
        let bytes = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the caller hands `len` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf, len) }
        };
        match stream.blocking_write_and_flush(bytes) {
            // `len` is at most MAX_WRITE, far below isize::MAX.
            Ok(()) => len as isize,
            Err(_) => failed(EIO),
        }
    }

    /// POSIX `getenv`: a component has no environment.
    ///
    /// # Safety
    /// None needed: the name is never read.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn getenv(_name: *const c_char) -> *mut c_char {
        std::ptr::null_mut()
    }
}
