//! The set type. Placeholder representation until its family lands (issue 3).

/// A set value.
#[derive(Clone, Default)]
pub struct Set {
    len: usize,
}

impl Set {
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
