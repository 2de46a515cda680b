//! A slab: values in a vector, addressed by index plus generation, with freed entries reused.
//! The network keeps its requests and their reply slots here, so that an event carries a
//! [`SlabKey`] instead of a boxed value and a request costs no allocation once warm.

/// Where a value lives. A key outlives its value safely: once the value is removed, the
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

    pub fn get_mut(&mut self, key: SlabKey) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        entry.value.as_mut()
    }

    pub fn remove(&mut self, key: SlabKey) -> Option<T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        let value = entry.value.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(key.index);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_finds_nothing_after_its_entry_is_reused() {
        let mut slab = Slab::default();
        let first = slab.insert("a");
        assert_eq!(slab.remove(first), Some("a"));
        let second = slab.insert("b");
        assert_eq!(second.index, first.index);
        assert_eq!(slab.get_mut(first), None);
        assert_eq!(slab.remove(first), None);
        assert_eq!(slab.get_mut(second).copied(), Some("b"));
    }
}
