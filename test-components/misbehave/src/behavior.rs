//! What each path makes the component do: plain Rust, unit-tested on the
//! host; `lib.rs` only wires it to `wasi:http`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Compute forever without yielding to the host.
    Loop,
    /// Allocate until the allocator fails.
    Allocate,
    /// Trap at once (`unreachable`), without answering.
    Trap,
    /// Panic with [`PANIC_MESSAGE`], without answering: the message goes
    /// to stderr, then the guest traps.
    Panic,
    /// Try to reserve this many MiB and keep them for the instance's life;
    /// answer whether the host granted them, without trapping either way.
    Hold {
        /// MiB to reserve.
        mib: usize,
    },
    /// Answer with what the request carried: its headers and body.
    Echo,
    /// Answer how many requests this instance has taken, of any kind, this
    /// one included: 1 on a fresh instance.
    CountInstanceRequests,
    /// Answer `200 ok`.
    Answer,
}

/// What `GET /panic` panics with.
pub const PANIC_MESSAGE: &str = "misbehave was asked to panic";

impl Behavior {
    /// The behavior for a request path (with its query, if any).
    pub fn for_path(path: Option<&str>) -> Self {
        let path = path.unwrap_or("/");
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        match path {
            "/loop" => Behavior::Loop,
            "/alloc" => Behavior::Allocate,
            "/trap" => Behavior::Trap,
            "/panic" => Behavior::Panic,
            "/hold" => Behavior::Hold {
                mib: query_value(query, "mib")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            },
            "/echo" => Behavior::Echo,
            "/instance" => Behavior::CountInstanceRequests,
            _ => Behavior::Answer,
        }
    }
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Spins until the host interrupts it.
pub fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        // Keeps the optimizer from proving the loop does nothing.
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates and touches 1 MiB blocks until allocation fails, which aborts
/// (a trap) once the host refuses to grow memory.
pub fn allocate_without_end() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(std::hint::black_box(vec![1u8; 1 << 20]));
    }
}

/// Reserves `mib` MiB without aborting when refused, and leaks what it got,
/// so the instance's memory stays grown. Returns whether it got them.
pub fn hold_memory(mib: usize) -> bool {
    let mut block: Vec<u8> = Vec::new();
    if block
        .try_reserve_exact(mib.saturating_mul(1 << 20))
        .is_err()
    {
        return false;
    }
    // Touch it: the memory is really in use, not just reserved.
    block.resize(mib << 20, 1);
    std::mem::forget(std::hint::black_box(block));
    true
}

/// Requests this instance has taken; a global, so it lives exactly as long
/// as the instance.
static INSTANCE_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts one more request on this instance and returns the count.
pub fn count_instance_request() -> u64 {
    INSTANCE_REQUESTS.fetch_add(1, Ordering::Relaxed) + 1
}

/// The echo body: one `name: value` line per header, a blank line, then
/// the request body as text.
pub fn echo(headers: &[(String, Vec<u8>)], body: &[u8]) -> String {
    let mut text = String::new();
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value));
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(body));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_choose_behaviors() {
        assert_eq!(Behavior::for_path(Some("/loop")), Behavior::Loop);
        assert_eq!(
            Behavior::for_path(Some("/alloc?size=1")),
            Behavior::Allocate
        );
        assert_eq!(Behavior::for_path(Some("/trap")), Behavior::Trap);
        assert_eq!(Behavior::for_path(Some("/panic")), Behavior::Panic);
        assert_eq!(
            Behavior::for_path(Some("/hold?mib=80")),
            Behavior::Hold { mib: 80 }
        );
        assert_eq!(Behavior::for_path(Some("/hold")), Behavior::Hold { mib: 1 });
        assert_eq!(Behavior::for_path(Some("/echo")), Behavior::Echo);
        assert_eq!(
            Behavior::for_path(Some("/instance")),
            Behavior::CountInstanceRequests
        );
        assert_eq!(Behavior::for_path(Some("/")), Behavior::Answer);
        assert_eq!(Behavior::for_path(Some("/loops")), Behavior::Answer);
        assert_eq!(Behavior::for_path(None), Behavior::Answer);
    }

    #[test]
    fn the_instance_count_goes_up_by_one_per_request() {
        let first = count_instance_request();
        assert_eq!(count_instance_request(), first + 1);
    }

    #[test]
    fn holding_memory_reports_a_refusal_instead_of_aborting() {
        assert!(hold_memory(1));
        assert!(!hold_memory(usize::MAX >> 20));
    }

    #[test]
    fn the_echo_lists_headers_then_the_body() {
        let headers = vec![("x-a".to_owned(), b"1".to_vec())];
        assert_eq!(echo(&headers, b"body"), "x-a: 1\n\nbody");
    }
}
