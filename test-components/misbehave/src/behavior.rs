//! What each path makes the component do.

/// The three behaviors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Compute forever without yielding to the host.
    Loop,
    /// Allocate until the allocator fails.
    Allocate,
    /// Answer `200 ok`.
    Answer,
}

impl Behavior {
    /// The behavior for a request path (with its query, if any).
    pub fn for_path(path: Option<&str>) -> Self {
        let path = path.unwrap_or("/");
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        match path {
            "/loop" => Behavior::Loop,
            "/alloc" => Behavior::Allocate,
            _ => Behavior::Answer,
        }
    }
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
        assert_eq!(Behavior::for_path(Some("/")), Behavior::Answer);
        assert_eq!(Behavior::for_path(Some("/loops")), Behavior::Answer);
        assert_eq!(Behavior::for_path(None), Behavior::Answer);
    }
}
