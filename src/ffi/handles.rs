//! Handles as never-reused ids looked up in registries (an `Arc` per live object), so a freed,
//! stale, doubled or garbage handle is an error instead of memory corruption.
//!
//! Ids come from one counter shared by every registry, so a handle of one type is never valid
//! as another. The value handed to C is the id itself, shaped like an aligned pointer. Each
//! object type names its opaque C type and its registry once ([`Handled`]); the casts between
//! pointers and ids happen only in this file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

pub struct Registry<T> {
    map: OnceLock<Mutex<HashMap<usize, Arc<T>>>>,
}

impl<T> Registry<T> {
    pub const fn new() -> Self {
        Registry {
            map: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<T>>> {
        self.map
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an object and returns its new handle value (never 0, never reused).
    pub fn insert(&self, value: T) -> usize {
        let id = NEXT_ID
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(16)
            .wrapping_add(0x1000);
        self.lock().insert(id, Arc::new(value));
        id
    }

    /// The live object behind a handle; the `Arc` keeps it alive while a call uses it.
    pub fn get(&self, id: usize) -> Option<Arc<T>> {
        if id == 0 {
            return None;
        }
        self.lock().get(&id).cloned()
    }

    /// Unregisters a handle; `None` when it was not live (double free, garbage).
    pub fn remove(&self, id: usize) -> Option<Arc<T>> {
        if id == 0 {
            return None;
        }
        self.lock().remove(&id)
    }
}

/// Declares the registry of an object type and makes it [`Handled`] as the C type `$c`.
macro_rules! handled {
    ($ty:ty => $c:ty) => {
        impl $crate::ffi::handles::Handled for $ty {
            type C = $c;
            fn registry() -> &'static $crate::ffi::handles::Registry<$ty> {
                static REGISTRY: $crate::ffi::handles::Registry<$ty> =
                    $crate::ffi::handles::Registry::new();
                &REGISTRY
            }
        }
    };
}

/// An object handed to C as an opaque handle of type `C`.
pub trait Handled: Sized + Send + Sync + 'static {
    /// The opaque C type that stands for the object.
    type C;

    fn registry() -> &'static Registry<Self>;

    /// Registers the object and returns its handle.
    fn into_handle(self) -> *mut Self::C {
        Self::registry().insert(self) as *mut Self::C
    }

    /// The live object behind a handle (NULL, freed and garbage handles give `None`).
    fn lookup(handle: *const Self::C) -> Option<Arc<Self>> {
        Self::registry().get(handle as usize)
    }

    /// Unregisters a handle; `None` when it was not live.
    fn release(handle: *const Self::C) -> Option<Arc<Self>> {
        Self::registry().remove(handle as usize)
    }
}
