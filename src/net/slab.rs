//! A slab: values in a vector, addressed by index plus generation, with freed entries reused.
//! The network keeps its requests and their reply slots here, so that an event carries a
//! [`SlabKey`] instead of a boxed value and a request costs no allocation once warm.

/// Where a value lives. A key outlives its value safely: once the value is freed, the
/// entry's generation moves on and the old key finds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabKey {
    pub index: u32,
    pub generation: u32,
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, value: T) -> SlabKey {
        if let Some(index) = self.free.pop() {
            let entry = &mut self.entries[index as usize];
            assert!(entry.value.is_none(), "a free slab entry holds a value");
            entry.value = Some(value);
            return SlabKey {
                index,
                generation: entry.generation,
            };
        }
        self.entries.push(Entry {
            generation: 0,
            value: Some(value),
        });
        SlabKey {
            index: self.entries.len() as u32 - 1,
            generation: 0,
        }
    }

    /// The key the next [`Slab::insert`] returns, for a value that must name its own key.
    pub fn next_key(&self) -> SlabKey {
        match self.free.last() {
            Some(&index) => SlabKey {
                index,
                generation: self.entries[index as usize].generation,
            },
            None => SlabKey {
                index: self.entries.len() as u32,
                generation: 0,
            },
        }
    }

    pub fn get_mut(&mut self, key: SlabKey) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        entry.value.as_mut()
    }

    /// Removes the value of `key` and drops it where it lies (no move out: the network's
    /// reply slots are large, and a caller takes the parts it keeps first); true if it was
    /// there.
    pub fn free(&mut self, key: SlabKey) -> bool {
        let Some(entry) = self.entries.get_mut(key.index as usize) else {
            return false;
        };
        if entry.generation != key.generation || entry.value.is_none() {
            return false;
        }
        entry.value = None;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(key.index);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_finds_nothing_after_its_entry_is_freed_and_reused() {
        let mut slab = Slab::default();
        let first = slab.insert(String::from("a"));
        assert!(slab.free(first));
        assert!(!slab.free(first), "freeing twice finds nothing");
        assert_eq!(slab.get_mut(first), None);
        let second = slab.insert(String::from("b"));
        assert_eq!(second.index, first.index, "the entry is reused");
        assert_eq!(slab.get_mut(first), None, "the old key finds nothing");
        assert_eq!(slab.get_mut(second).map(|v| v.as_str()), Some("b"));
    }

    #[test]
    fn next_key_is_the_key_of_the_next_insert() {
        let mut slab = Slab::default();
        let announced = slab.next_key();
        let first = slab.insert(1);
        assert_eq!(announced, first);
        let announced = slab.next_key();
        assert_eq!(announced, slab.insert(2), "a new entry");
        slab.free(first);
        let announced = slab.next_key();
        assert_eq!(announced, slab.insert(3), "a reused entry, next generation");
        assert_ne!(announced, first);
    }
}
