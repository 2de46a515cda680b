//! EXEC's replies as the client hands them to RQ's code: a list that goes back to a small
//! pool when it is dropped, for the server's next EXEC to fill.
//!
//! RQ sends about six transactions a job and reads the replies of few of them; each EXEC
//! used to collect its replies into a new `Vec` that the caller dropped at once (about nine
//! allocations a job, a sixth of them all).

use std::cell::RefCell;
use std::ops::Deref;

use super::reply::Reply;

/// Lists kept: more than the transactions a run has waiting for their reply to be read.
const KEPT: usize = 64;
/// Lists longer than this (a registry cleanup's) are freed instead of kept.
const LARGEST: usize = 32;

thread_local! {
    static SPARE: RefCell<Vec<Vec<Reply>>> = const { RefCell::new(Vec::new()) };
}

/// An empty list for EXEC's replies, with room for `replies`.
pub fn list(replies: usize) -> Vec<Reply> {
    let mut list = SPARE
        .with(|spare| spare.borrow_mut().pop())
        .unwrap_or_default();
    list.reserve(replies);
    list
}

fn give_back(mut list: Vec<Reply>) {
    if list.capacity() == 0 || list.capacity() > LARGEST {
        return;
    }
    list.clear();
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEPT {
            spare.push(list);
        }
    });
}

/// EXEC's replies, one per queued command, read as a slice.
#[derive(Default)]
pub struct ExecReplies(Vec<Reply>);

/// Printed as the list it holds, as the replies were before they were pooled.
impl std::fmt::Debug for ExecReplies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ExecReplies {
    pub fn new(replies: Vec<Reply>) -> ExecReplies {
        ExecReplies(replies)
    }

    /// The replies as an owned list (which then is not pooled).
    pub fn into_vec(mut self) -> Vec<Reply> {
        std::mem::take(&mut self.0)
    }
}

impl Deref for ExecReplies {
    type Target = [Reply];
    fn deref(&self) -> &[Reply] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a ExecReplies {
    type Item = &'a Reply;
    type IntoIter = std::slice::Iter<'a, Reply>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Drop for ExecReplies {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_list_is_handed_out_again_empty() {
        let mut first = list(3);
        first.push(Reply::Int(1));
        let address = first.as_ptr();
        drop(ExecReplies::new(first));
        let again = list(2);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address, "the same buffer, not a new one");
    }

    #[test]
    fn an_owned_list_keeps_its_replies() {
        let replies = ExecReplies::new(vec![Reply::Int(7), Reply::Nil]);
        assert_eq!(replies.len(), 2);
        assert_eq!(replies.into_vec(), vec![Reply::Int(7), Reply::Nil]);
    }

    #[test]
    fn prints_as_the_list_of_its_replies() {
        let replies = ExecReplies::new(vec![Reply::Int(2)]);
        assert_eq!(format!("{replies:?}"), "[Int(2)]");
    }
}
