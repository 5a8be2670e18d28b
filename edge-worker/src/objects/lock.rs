//! A first-come, first-served async lock for one object's requests.
//!
//! A Durable Object serializes storage work, not awaits on other objects: a
//! request that must read another object before it decides holds this lock
//! across those awaits, so requests of the same kind cannot interleave.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures_channel::oneshot;

/// The lock. Not `Send`: an object runs on one thread.
#[derive(Default)]
pub struct Lock {
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    held: bool,
    waiting: VecDeque<oneshot::Sender<()>>,
}

/// Held until dropped; dropping hands the lock to the next waiter.
pub struct Guard {
    state: Rc<RefCell<State>>,
}

impl Lock {
    /// Waits for the lock.
    pub async fn acquire(&self) -> Guard {
        let wait = {
            let mut state = self.state.borrow_mut();
            if state.held {
                let (tx, rx) = oneshot::channel();
                state.waiting.push_back(tx);
                Some(rx)
            } else {
                state.held = true;
                None
            }
        };
        if let Some(rx) = wait {
            // The sender is only dropped after handing over the lock.
            let _ = rx.await;
        }
        Guard {
            state: self.state.clone(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut state = self.state.borrow_mut();
        // Hand over to the first waiter still waiting (its request may have ended).
        while let Some(next) = state.waiting.pop_front() {
            if next.send(()).is_ok() {
                return;
            }
        }
        state.held = false;
    }
}
