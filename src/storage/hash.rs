//! The hash type. Placeholder representation until its family lands (issue 3).

/// A hash value.
#[derive(Clone, Default)]
pub struct Hash {
    len: usize,
}

impl Hash {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions).
    pub fn heap_size(&self) -> usize {
        0
    }
}
