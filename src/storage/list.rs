//! The list type. Placeholder representation until its family lands (issue 3).

/// A list value.
#[derive(Clone, Default)]
pub struct List {
    len: usize,
}

impl List {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions).
    pub fn heap_size(&self) -> usize {
        0
    }
}
