//! A sink that the bus owns and the runner can still reach.
//!
//! `EventBus` keeps its sinks as `Box<dyn EventSink>`, and gives them back only as such, so a
//! runner that must call `finish` on a writer or read a tracker's results at the end keeps a
//! [`SharedSink`] handle and gives the bus a boxed clone of it.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use crate::event::{Event, EventSink, KindFilter};

/// A shared handle to a sink.
pub struct SharedSink<T>(Rc<RefCell<T>>);

impl<T> Clone for SharedSink<T> {
    fn clone(&self) -> Self {
        SharedSink(Rc::clone(&self.0))
    }
}

impl<T: EventSink + 'static> SharedSink<T> {
    pub fn new(sink: T) -> SharedSink<T> {
        SharedSink(Rc::new(RefCell::new(sink)))
    }

    /// A clone to hand to `EventBus::add_sink`.
    pub fn boxed(&self) -> Box<dyn EventSink> {
        Box::new(self.clone())
    }

    pub fn borrow(&self) -> Ref<'_, T> {
        self.0.borrow()
    }

    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }
}

impl<T: EventSink> EventSink for SharedSink<T> {
    fn on_event(&mut self, event: &Event) {
        self.0.borrow_mut().on_event(event);
    }

    fn kinds(&self) -> Option<KindFilter> {
        self.0.borrow().kinds()
    }
}
