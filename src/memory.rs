//! Buffers and views: the part that must be right.
//!
//! A [`Storage`] is one allocation on the host: either owned by rtensor (a
//! `Vec` it allocated) or borrowed from someone else (a NumPy array kept alive
//! by an opaque owner object). A [`Tensor`] is shared ownership of a storage
//! plus a layout (dtype, shape, byte strides, byte offset); views share the
//! storage and differ in layout.
//!
//! Invariants (ARCHITECTURE.md, "Memory"):
//! 1. two shared variables never share a storage: containers copy on the way
//!    in unless the user borrowed, and an update value that is a view of
//!    another container is deep-copied by the output-protection rewrite;
//! 2. a storage is written only while it is uniquely owned ([`Tensor::data_mut`]
//!    checks it through `Arc::get_mut`), so nothing that reads it can observe
//!    the write;
//! 3. outputs handed to the user do not alias library memory unless asked for
//!    (`Out(borrow=True)`): the graph inserts `DeepCopyOp` where it would.
//!
//! Host allocations of at least [`POOL_MIN_BYTES`] go back to a pool when
//! their storage is dropped and are handed out again for the next request of
//! the same size, so a function called repeatedly stops asking the system
//! for memory after its first call ([`stats`] counts both).

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{Error, Result};

/// A shape, one length per dimension.
pub type Shape = SmallVec<[usize; 4]>;
/// Byte strides, one per dimension (may be negative or zero).
pub type Strides = SmallVec<[isize; 4]>;

/// Who frees a storage's memory.
enum Owner {
    /// rtensor's own allocation: 8-byte words, so every dtype is aligned.
    /// Returned to the pool on drop; `Storage::ptr` points into it.
    Host(Vec<u64>),
    /// Memory that belongs to another object (a NumPy array), kept alive by it.
    Foreign(Box<dyn Any + Send + Sync>),
}

/// One allocation on the host.
pub struct Storage {
    ptr: *mut u8,
    nbytes: usize,
    owner: Owner,
    /// Set once NumPy holds a writable view of it (anyone may then write
    /// it behind rtensor's back, so nothing derived from it is kept).
    exposed: AtomicBool,
}

// SAFETY: a Storage is a pointer to memory kept alive by `owner`, which is
// itself Send + Sync. Mutable access is only handed out through
// `Tensor::data_mut`, which requires unique ownership of the `Arc<Storage>`,
// so no two threads ever write or read-while-writing the same bytes through it.
unsafe impl Send for Storage {}
// SAFETY: see `Send` above; shared access is read-only.
unsafe impl Sync for Storage {}

/// `words` zeroed words from the allocator's zeroed path (fresh pages from
/// the OS are not written twice).
fn zeroed_words(words: usize, nbytes: usize) -> Result<Vec<u64>> {
    let fail = || Error::Memory(format!("failed to allocate {nbytes} bytes on the host"));
    if words < 8192 {
        // Small blocks: malloc's thread cache (which calloc bypasses), then a memset.
        let mut v: Vec<u64> = Vec::new();
        v.try_reserve_exact(words).map_err(|_| fail())?;
        v.resize(words, 0);
        return Ok(v);
    }
    let layout = std::alloc::Layout::array::<u64>(words).map_err(|_| fail())?;
    // SAFETY: `words >= 1`, so the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) } as *mut u64;
    if ptr.is_null() {
        return Err(fail());
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of
    // `words` u64s (the Vec frees it with that layout), and all of them are
    // initialized (zero).
    Ok(unsafe { Vec::from_raw_parts(ptr, words, words) })
}

impl Storage {
    /// A zeroed host allocation of at least `nbytes` bytes.
    pub fn zeroed(nbytes: usize) -> Result<Storage> {
        let words = nbytes.div_ceil(8).max(1);
        let mut v = match pool_take(words) {
            Some(mut v) => {
                v.fill(0);
                REUSED_BYTES.fetch_add(words * 8, Ordering::Relaxed);
                v
            }
            None => {
                let v = zeroed_words(words, nbytes)?;
                FRESH_BYTES.fetch_add(words * 8, Ordering::Relaxed);
                v
            }
        };
        count_live(words * 8);
        let ptr = v.as_mut_ptr() as *mut u8;
        Ok(Storage::new(ptr, nbytes, Owner::Host(v)))
    }

    /// A host allocation of at least `nbytes` bytes with unspecified (but
    /// initialized) contents, for kernels that write every byte: a recycled
    /// buffer when one fits, else zeroed memory.
    pub fn recycled(nbytes: usize) -> Result<Storage> {
        let words = nbytes.div_ceil(8).max(1);
        if let Some(mut v) = pool_take(words) {
            REUSED_BYTES.fetch_add(words * 8, Ordering::Relaxed);
            count_live(words * 8);
            let ptr = v.as_mut_ptr() as *mut u8;
            return Ok(Storage::new(ptr, nbytes, Owner::Host(v)));
        }
        Storage::zeroed(nbytes)
    }

    /// Memory owned by `owner` (for instance a NumPy array).
    ///
    /// # Safety
    /// `ptr` must point to `nbytes` readable bytes that stay valid, and are not
    /// written by anyone else while rtensor reads them, for as long as `owner`
    /// lives.
    pub unsafe fn foreign(
        ptr: *mut u8,
        nbytes: usize,
        owner: Box<dyn Any + Send + Sync>,
    ) -> Storage {
        Storage::new(ptr, nbytes, Owner::Foreign(owner))
    }

    fn new(ptr: *mut u8, nbytes: usize, owner: Owner) -> Storage {
        Storage {
            ptr,
            nbytes,
            owner,
            exposed: AtomicBool::new(false),
        }
    }

    /// Records that a writable view of this memory left rtensor (a NumPy
    /// array over it): from then on its contents may change at any time,
    /// so no result computed from them is kept between calls.
    pub fn expose(&self) {
        self.exposed.store(true, Ordering::Relaxed);
    }

    /// Whether [`Storage::expose`] was called.
    pub fn is_exposed(&self) -> bool {
        self.exposed.load(Ordering::Relaxed)
    }

    pub fn nbytes(&self) -> usize {
        self.nbytes
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The owner object when the memory is borrowed from elsewhere.
    pub fn foreign_owner(&self) -> Option<&(dyn Any + Send + Sync)> {
        match &self.owner {
            Owner::Foreign(o) => Some(o.as_ref()),
            Owner::Host(_) => None,
        }
    }

    /// True when rtensor allocated this memory itself.
    pub fn is_host_owned(&self) -> bool {
        matches!(self.owner, Owner::Host(_))
    }

    fn bytes(&self) -> &[u8] {
        if self.nbytes == 0 {
            return &[];
        }
        // SAFETY: `ptr` points to `nbytes` bytes kept alive by `owner` (Host: our
        // Vec of at least that size; Foreign: the contract of `Storage::foreign`).
        unsafe { std::slice::from_raw_parts(self.ptr, self.nbytes) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.nbytes == 0 {
            return &mut [];
        }
        // SAFETY: as in `bytes`; `&mut self` proves no one else reads through
        // this Storage meanwhile (it is reached only via `Arc::get_mut`).
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.nbytes) }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Owner::Host(v) = &mut self.owner {
            let v = std::mem::take(v);
            LIVE_BYTES.fetch_sub(v.len() * 8, Ordering::Relaxed);
            pool_give(v);
        }
    }
}

/// Buffers smaller than this are left to the system allocator (it is fast
/// for them); larger ones are pooled.
pub const POOL_MIN_BYTES: usize = 16 * 1024;
/// The most bytes the pool keeps idle.
pub const POOL_MAX_BYTES: usize = 1 << 30;
/// The most idle buffers of one size.
const POOL_MAX_PER_SIZE: usize = 16;

// Allocation counters: bytes from the system, bytes from the pool, bytes
// alive, and the most alive. Every allocation bumps two of them (each bump
// is a locked instruction on a call path of well under a microsecond) and
// reads the peak; the peak is written only when it grows.
static FRESH_BYTES: AtomicUsize = AtomicUsize::new(0);
static REUSED_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Counts `bytes` more alive, and the peak if that passes it.
fn count_live(bytes: usize) {
    let live = LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if live > PEAK_BYTES.load(Ordering::Relaxed) {
        PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Pool {
    /// Idle buffers by length in words.
    idle: HashMap<usize, Vec<Vec<u64>>>,
    idle_bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

fn pool_take(words: usize) -> Option<Vec<u64>> {
    if words * 8 < POOL_MIN_BYTES {
        return None;
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.as_mut()?;
    let v = pool.idle.get_mut(&words)?.pop()?;
    pool.idle_bytes -= words * 8;
    Some(v)
}

fn pool_give(v: Vec<u64>) {
    let bytes = v.len() * 8;
    if bytes < POOL_MIN_BYTES {
        return;
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.get_or_insert_with(Pool::default);
    if pool.idle_bytes + bytes > POOL_MAX_BYTES {
        return;
    }
    let bucket = pool.idle.entry(v.len()).or_default();
    if bucket.len() < POOL_MAX_PER_SIZE {
        bucket.push(v);
        pool.idle_bytes += bytes;
    }
}

/// Counters of rtensor's own host allocations since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Bytes of every buffer rtensor allocated (from the pool or the system).
    pub requested_bytes: usize,
    /// Bytes that had to come from the system allocator (the pool had none).
    pub fresh_bytes: usize,
    /// Bytes of rtensor-owned buffers alive now.
    pub live_bytes: usize,
    /// The most live bytes since the last [`reset_peak`].
    pub peak_bytes: usize,
    /// Bytes the pool holds idle.
    pub pooled_bytes: usize,
}

/// The allocation counters now.
pub fn stats() -> AllocStats {
    let pooled_bytes = POOL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, |p| p.idle_bytes);
    AllocStats {
        requested_bytes: FRESH_BYTES.load(Ordering::Relaxed) + REUSED_BYTES.load(Ordering::Relaxed),
        fresh_bytes: FRESH_BYTES.load(Ordering::Relaxed),
        live_bytes: LIVE_BYTES.load(Ordering::Relaxed),
        peak_bytes: PEAK_BYTES.load(Ordering::Relaxed),
        pooled_bytes,
    }
}

/// Starts a new peak measurement from the bytes alive now.
pub fn reset_peak() {
    PEAK_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Returns the pool's idle buffers to the system.
pub fn release_pool() {
    *POOL.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Plain element types that a storage can be viewed as.
pub trait Element: Copy + Send + Sync + 'static + Default {}
impl Element for u8 {}
impl Element for i8 {}
impl Element for i16 {}
impl Element for i32 {}
impl Element for i64 {}
impl Element for u16 {}
impl Element for u32 {}
impl Element for u64 {}
impl Element for half::f16 {}
impl Element for f32 {}
impl Element for f64 {}

#[inline]
fn cast_slice<T: Element>(bytes: &[u8]) -> &[T] {
    if bytes.len() < std::mem::size_of::<T>() {
        // An empty storage's slice may point anywhere (even misaligned).
        return &[];
    }
    let size = std::mem::size_of::<T>();
    if bytes.len() < size {
        // Empty storage (e.g. NumPy's buffer of an empty array) may have any address.
        return &[];
    }
    assert!(
        (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()),
        "storage viewed with a misaligned element type"
    );
    // SAFETY: alignment was just checked; every bit pattern is a valid value
    // of the plain numeric types implementing `Element`; the length is rounded
    // down to whole elements inside the byte slice.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const T, bytes.len() / size) }
}

#[inline]
fn cast_slice_mut<T: Element>(bytes: &mut [u8]) -> &mut [T] {
    if bytes.len() < std::mem::size_of::<T>() {
        return &mut [];
    }
    let size = std::mem::size_of::<T>();
    if bytes.len() < size {
        return &mut [];
    }
    assert!(
        (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()),
        "storage viewed with a misaligned element type"
    );
    // SAFETY: as in `cast_slice`, with exclusive access from `&mut`.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut T, bytes.len() / size) }
}

/// Plain elements seen in a byte slice (tensor data, word buffers). The
/// bytes must be aligned for `T`; callers check or own such memory.
#[inline]
pub fn bytes_as<T: Element>(bytes: &[u8]) -> &[T] {
    cast_slice(bytes)
}

/// Mutable plain elements seen in a byte slice (aligned for `T`).
#[inline]
pub fn bytes_as_mut<T: Element>(bytes: &mut [u8]) -> &mut [T] {
    cast_slice_mut(bytes)
}

/// A word buffer as bytes (8-aligned, so any element type fits in it).
#[inline]
pub fn words_as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirement; the byte length
    // covers exactly the words borrowed mutably here.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, words.len() * 8) }
}

/// A word buffer as bytes, read-only.
#[inline]
pub fn words_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: as in `words_as_bytes_mut`, shared.
    unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8) }
}

/// A whole storage as elements, with a tensor's element strides and offset.
pub type ElementView<'a, T> = (&'a [T], SmallVec<[isize; 6]>, usize);

/// A value: shared ownership of a storage plus a layout.
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    pub dtype: DType,
    pub shape: Shape,
    /// Byte strides.
    pub strides: Strides,
    /// Byte offset of element (0, ..., 0) in the storage.
    pub offset: usize,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({}, {:?})", self.dtype, &self.shape[..])
    }
}

/// Whether two shapes are equal (element by element: shapes are short, and
/// a `memcmp` call costs more than the loop).
#[inline]
pub fn same_shape(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for i in 0..a.len() {
        if a[i] != b[i] {
            return false;
        }
    }
    true
}

/// C-order byte strides of a shape.
pub fn c_strides(shape: &[usize], itemsize: usize) -> Strides {
    let mut strides: Strides = SmallVec::from_elem(0, shape.len());
    let mut acc = itemsize as isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

impl Tensor {
    /// A fresh zeroed C-contiguous tensor.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Tensor> {
        let size: usize = shape.iter().product();
        let storage = Storage::zeroed(size * dtype.itemsize())?;
        Ok(Tensor::c_order(storage, dtype, shape))
    }

    /// A C-contiguous layout over the whole of a fresh storage.
    fn c_order(storage: Storage, dtype: DType, shape: &[usize]) -> Tensor {
        Tensor {
            storage: Arc::new(storage),
            dtype,
            shape: shape.into(),
            strides: c_strides(shape, dtype.itemsize()),
            offset: 0,
        }
    }

    /// A fresh C-contiguous tensor whose contents are unspecified (possibly a
    /// recycled buffer's): for kernels that write every element.
    pub fn empty(dtype: DType, shape: &[usize]) -> Result<Tensor> {
        let size: usize = shape.iter().product();
        let storage = Storage::recycled(size * dtype.itemsize())?;
        Ok(Tensor::c_order(storage, dtype, shape))
    }

    /// A fresh C-contiguous tensor whose bytes `fill` writes, all of them,
    /// before the buffer is shared (so no uniqueness check is needed): the
    /// constructor of kernels' outputs. Large buffers may be recycled ones.
    pub fn filled(
        dtype: DType,
        shape: &[usize],
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<Tensor> {
        let size: usize = shape.iter().product();
        let nbytes = size * dtype.itemsize();
        let mut storage = Storage::recycled(nbytes)?;
        fill(&mut storage.bytes_mut()[..nbytes])?;
        Ok(Tensor::c_order(storage, dtype, shape))
    }

    /// A C-contiguous tensor holding `values` (their Rust type must match `dtype`'s size).
    pub fn from_slice<T: Element>(dtype: DType, shape: &[usize], values: &[T]) -> Result<Tensor> {
        debug_assert_eq!(std::mem::size_of::<T>(), dtype.itemsize());
        let mut t = Tensor::zeros(dtype, shape)?;
        t.data_mut::<T>()?.copy_from_slice(values);
        Ok(t)
    }

    /// A tensor over existing storage with the given layout; checks the bounds.
    pub fn from_storage(
        storage: Arc<Storage>,
        dtype: DType,
        shape: Shape,
        strides: Strides,
        offset: usize,
    ) -> Result<Tensor> {
        let t = Tensor {
            storage,
            dtype,
            shape,
            strides,
            offset,
        };
        t.check_bounds()?;
        Ok(t)
    }

    fn check_bounds(&self) -> Result<()> {
        if self.size() == 0 {
            return Ok(());
        }
        let mut lo = self.offset as isize;
        let mut hi = self.offset as isize;
        for (&n, &s) in self.shape.iter().zip(self.strides.iter()) {
            let span = (n as isize - 1) * s;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        if lo < 0 || hi as usize + self.dtype.itemsize() > self.storage.nbytes() {
            return Err(Error::Value(format!(
                "layout shape={:?} strides={:?} offset={} reaches outside a buffer of {} bytes",
                &self.shape[..],
                &self.strides[..],
                self.offset,
                self.storage.nbytes()
            )));
        }
        Ok(())
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype.itemsize()
    }

    /// True when both tensors view the same storage.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// Whether both are the same view: the same storage, dtype and layout.
    pub fn is_same_view(&self, other: &Tensor) -> bool {
        self.shares_storage(other)
            && self.dtype == other.dtype
            && self.offset == other.offset
            && self.shape == other.shape
            && self.strides == other.strides
    }

    /// The address range `[lo, hi)` of the bytes this layout reaches.
    pub fn address_span(&self) -> (usize, usize) {
        let base = self.data_ptr() as usize;
        if self.size() == 0 {
            return (base, base);
        }
        let (mut lo, mut hi) = (0isize, 0isize);
        for (&n, &s) in self.shape.iter().zip(self.strides.iter()) {
            let span = (n as isize - 1) * s;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        (
            base.wrapping_add_signed(lo),
            base.wrapping_add_signed(hi) + self.dtype.itemsize(),
        )
    }

    /// Whether the two layouts reach a common byte (NumPy's
    /// `may_share_memory`: by address range, whoever owns the memory).
    pub fn may_share_memory(&self, other: &Tensor) -> bool {
        let (a0, a1) = self.address_span();
        let (b0, b1) = other.address_span();
        a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1
    }

    pub fn is_c_contiguous(&self) -> bool {
        let mut expect = self.dtype.itemsize() as isize;
        let mut size = 1usize;
        for (&n, &s) in self.shape.iter().zip(self.strides.iter()).rev() {
            size *= n;
            if n != 1 && s != expect {
                return size == 0;
            }
            expect *= n as isize;
        }
        true
    }

    /// Address of the first element (for NumPy interop).
    pub fn data_ptr(&self) -> *const u8 {
        self.storage.as_ptr().wrapping_add(self.offset)
    }

    /// The whole storage as elements of `T`, with this tensor's strides and
    /// offset expressed in elements. Fails when the layout is not a whole
    /// number of elements (then `contiguous()` first).
    pub fn elements<T: Element>(&self) -> Result<ElementView<'_, T>> {
        let size = std::mem::size_of::<T>();
        debug_assert_eq!(size, self.dtype.itemsize());
        let whole = |b: isize| b.rem_euclid(size as isize) == 0;
        if !whole(self.offset as isize) || !self.strides.iter().all(|&s| whole(s)) {
            return Err(Error::Value(
                "tensor layout is not aligned to its element size".into(),
            ));
        }
        let strides = self.strides.iter().map(|&s| s / size as isize).collect();
        Ok((
            cast_slice::<T>(self.storage.bytes()),
            strides,
            self.offset / size,
        ))
    }

    /// The whole storage as bytes (`offset` and `strides` index into it).
    pub fn storage_bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// The bytes of a fresh tensor's elements, for kernels that write them:
    /// as `data_mut`, the storage must be uniquely owned, rtensor's own and
    /// C-contiguous.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        let n = self.nbytes();
        let offset = self.offset;
        let contiguous = self.is_c_contiguous();
        let storage = Arc::get_mut(&mut self.storage).ok_or_else(|| {
            Error::Runtime("internal error: writing to a buffer that others still read".into())
        })?;
        if !contiguous || !storage.is_host_owned() {
            return Err(Error::Runtime(
                "internal error: writing to a non-contiguous or borrowed buffer".into(),
            ));
        }
        Ok(&mut storage.bytes_mut()[offset..offset + n])
    }

    /// A C-contiguous slice of the elements, when the layout is contiguous.
    pub fn contiguous_slice<T: Element>(&self) -> Option<&[T]> {
        if !self.is_c_contiguous() {
            return None;
        }
        let size = std::mem::size_of::<T>();
        debug_assert_eq!(size, self.dtype.itemsize());
        if !self.offset.is_multiple_of(size) {
            return None;
        }
        let off = self.offset / size;
        cast_slice::<T>(self.storage.bytes()).get(off..off + self.size())
    }

    /// Whether [`Tensor::data_mut`] would succeed: nobody else holds the
    /// storage, it is rtensor's own, and the layout is C-contiguous.
    pub fn is_writable(&self) -> bool {
        Arc::strong_count(&self.storage) == 1
            && Arc::weak_count(&self.storage) == 0
            && self.storage.is_host_owned()
            && self.is_c_contiguous()
    }

    /// Mutable elements of a tensor whose storage nobody else holds; the
    /// storage must be rtensor's own and the layout C-contiguous.
    pub fn data_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        let size = self.size();
        let offset = self.offset / std::mem::size_of::<T>();
        let contiguous = self.is_c_contiguous();
        let storage = Arc::get_mut(&mut self.storage).ok_or_else(|| {
            Error::Runtime("internal error: writing to a buffer that others still read".into())
        })?;
        if !contiguous || !storage.is_host_owned() {
            return Err(Error::Runtime(
                "internal error: writing to a non-contiguous or borrowed buffer".into(),
            ));
        }
        Ok(&mut cast_slice_mut::<T>(storage.bytes_mut())[offset..offset + size])
    }

    /// A view with another layout over the same storage.
    pub fn view(&self, shape: Shape, strides: Strides, offset: usize) -> Result<Tensor> {
        Tensor::from_storage(self.storage.clone(), self.dtype, shape, strides, offset)
    }

    /// A C-contiguous copy in fresh memory (always copies).
    pub fn deep_copy(&self) -> Result<Tensor> {
        let mut out = Tensor::zeros(self.dtype, &self.shape)?;
        let itemsize = self.dtype.itemsize();
        let src = self.storage.bytes();
        let dst = cast_slice_mut::<u8>(Arc::get_mut(&mut out.storage).unwrap().bytes_mut());
        if self.is_c_contiguous() {
            let n = self.nbytes();
            dst[..n].copy_from_slice(&src[self.offset..self.offset + n]);
            return Ok(out);
        }
        let mut k = 0;
        for_each_offset(&self.shape, &self.strides, self.offset as isize, |o| {
            let o = o as usize;
            dst[k..k + itemsize].copy_from_slice(&src[o..o + itemsize]);
            k += itemsize;
        });
        Ok(out)
    }

    /// Copies `src` (any layout, same dtype) in C order into this tensor's
    /// elements starting at element `at` (Scan writes each step's value into
    /// one row of its output buffer this way). Like [`Tensor::data_mut`], the
    /// storage must be uniquely owned, rtensor's own and C-contiguous.
    pub fn write_block(&mut self, at: usize, src: &Tensor) -> Result<()> {
        if src.dtype != self.dtype {
            return Err(Error::Runtime(format!(
                "internal error: writing {} values into a {} buffer",
                src.dtype, self.dtype
            )));
        }
        let itemsize = self.dtype.itemsize();
        let n = src.nbytes();
        let start = at * itemsize;
        if (at + src.size()) > self.size() {
            return Err(Error::Runtime(format!(
                "internal error: a block of {} elements at {} does not fit a buffer of {}",
                src.size(),
                at,
                self.size()
            )));
        }
        let dst = &mut self.bytes_mut()?[start..start + n];
        let bytes = src.storage.bytes();
        if src.is_c_contiguous() {
            dst.copy_from_slice(&bytes[src.offset..src.offset + n]);
            return Ok(());
        }
        let mut k = 0;
        for_each_offset(&src.shape, &src.strides, src.offset as isize, |o| {
            let o = o as usize;
            dst[k..k + itemsize].copy_from_slice(&bytes[o..o + itemsize]);
            k += itemsize;
        });
        Ok(())
    }

    /// This tensor if C-contiguous, else a contiguous copy.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_c_contiguous() && self.offset.is_multiple_of(self.dtype.itemsize()) {
            Ok(self.clone())
        } else {
            self.deep_copy()
        }
    }

    /// The same data with another shape (must be C-contiguous and same size).
    pub fn reshaped(&self, shape: &[usize]) -> Result<Tensor> {
        let size: usize = shape.iter().product();
        if size != self.size() {
            return Err(Error::Value(format!(
                "cannot reshape array of size {} into shape {:?}",
                self.size(),
                shape
            )));
        }
        let base = self.contiguous()?;
        base.view(
            shape.into(),
            c_strides(shape, self.dtype.itemsize()),
            base.offset,
        )
    }

    /// True when the raw bytes of both tensors hold the same values in the same shape.
    pub fn same_values(&self, other: &Tensor) -> bool {
        if self.dtype != other.dtype || self.shape != other.shape {
            return false;
        }
        let (a, b) = match (self.deep_copy(), other.deep_copy()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return false,
        };
        let n = a.nbytes();
        a.storage.bytes()[..n] == b.storage.bytes()[..n]
    }
}

/// Calls `f` with the byte (or element) offset of every element, in C order.
pub fn for_each_offset(shape: &[usize], strides: &[isize], start: isize, mut f: impl FnMut(isize)) {
    let nd = shape.len();
    if shape.contains(&0) {
        return;
    }
    if nd == 0 {
        f(start);
        return;
    }
    let mut index: SmallVec<[usize; 6]> = SmallVec::from_elem(0, nd);
    let mut base = start;
    let last = nd - 1;
    let (n_last, s_last) = (shape[last], strides[last]);
    loop {
        let mut o = base;
        for _ in 0..n_last {
            f(o);
            o += s_last;
        }
        // advance the outer dimensions
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            base += strides[d];
            if index[d] < shape[d] {
                break;
            }
            base -= strides[d] * shape[d] as isize;
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposed_view_copies_in_c_order() {
        let t = Tensor::from_slice(DType::Int64, &[2, 3], &[0i64, 1, 2, 3, 4, 5]).unwrap();
        let tt = t
            .view(
                SmallVec::from_slice(&[3, 2]),
                SmallVec::from_slice(&[8, 24]),
                0,
            )
            .unwrap();
        assert!(!tt.is_c_contiguous());
        let c = tt.deep_copy().unwrap();
        assert_eq!(c.contiguous_slice::<i64>().unwrap(), &[0, 3, 1, 4, 2, 5]);
        assert!(!c.shares_storage(&t));
        assert!(tt.shares_storage(&t));
    }

    #[test]
    fn a_dropped_large_buffer_is_reused_zeroed_for_the_next_one_of_its_size() {
        // An odd size that no other test allocates.
        let shape = [3, 7919];
        let mut a = Tensor::zeros(DType::Float64, &shape).unwrap();
        a.data_mut::<f64>().unwrap().fill(7.0);
        let ptr = a.data_ptr();
        drop(a);
        let fresh_before = stats().fresh_bytes;
        let b = Tensor::zeros(DType::Float64, &shape).unwrap();
        assert_eq!(b.data_ptr(), ptr);
        assert!(
            b.contiguous_slice::<f64>()
                .unwrap()
                .iter()
                .all(|&x| x == 0.0)
        );
        // Other tests may allocate meanwhile, but never this buffer's size.
        assert!(stats().fresh_bytes - fresh_before < 3 * 7919 * 8);
    }

    #[test]
    fn small_buffers_are_not_pooled() {
        let a = Tensor::zeros(DType::Float32, &[5]).unwrap();
        let words = a.storage().nbytes().div_ceil(8);
        drop(a);
        assert!(pool_take(words).is_none());
    }

    #[test]
    fn a_view_outside_its_buffer_is_refused() {
        let t = Tensor::zeros(DType::Float32, &[4]).unwrap();
        assert!(
            t.view(SmallVec::from_slice(&[5]), SmallVec::from_slice(&[4]), 0)
                .is_err()
        );
    }

    #[test]
    fn an_empty_tensor_is_read_and_written_as_an_empty_slice() {
        let mut t = Tensor::zeros(DType::Float64, &[0, 3]).unwrap();
        assert!(t.data_mut::<f64>().unwrap().is_empty());
        assert_eq!(t.contiguous_slice::<f64>().unwrap().len(), 0);
        assert_eq!(t.elements::<f64>().unwrap().0.len(), 0);
    }

    #[test]
    fn a_shared_buffer_cannot_be_written() {
        let mut t = Tensor::zeros(DType::Float32, &[4]).unwrap();
        let _reader = t.clone();
        assert!(t.data_mut::<f32>().is_err());
    }
}

/// A read-only matrix over a slice: element (i, j) is `data[offset + i·rs + j·cs]`.
/// Transposes are the same data with `rs` and `cs` swapped.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows`×`cols` matrix at the start of `data`.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> MatRef<'a, T> {
        MatRef {
            data,
            offset: 0,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transposed matrix (no copy).
    pub fn t(self) -> MatRef<'a, T> {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// True when every element lies inside `data`.
    pub fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.rs)
            .and_then(|a| (self.cols - 1).checked_mul(self.cs).map(|b| (a, b)))
            .and_then(|(a, b)| a.checked_add(b))
            .and_then(|a| a.checked_add(self.offset));
        matches!(last, Some(l) if l < self.data.len())
    }
}

/// Element types the `gemm` crate multiplies.
pub trait GemmFloat:
    Element + std::ops::Mul<Output = Self> + std::ops::Add<Output = Self> + PartialEq
{
    const ZERO: Self;
    const ONE: Self;
}
impl GemmFloat for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
}
impl GemmFloat for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`), where `dst` is a
/// row-major `lhs.rows`×`rhs.cols` block with row stride `dst_rs` at the start
/// of the slice. Operands may be strided views (transposes). `parallel` lets
/// the product use the rayon pool when it is large enough to pay for it.
pub fn gemm_into<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
    parallel: bool,
) -> Result<()> {
    let dst_scale = if accumulate { Some(T::ONE) } else { None };
    gemm_scaled_into(dst, dst_rs, lhs, rhs, dst_scale, T::ONE, parallel)
}

/// Whether a product of these sizes runs on the rayon pool: below about
/// 2¹⁸ multiply-adds (a 64³ product) the threads' start-up and the split of
/// the packed panels cost more than they save. (At 2²⁴, the tutorial
/// logistic regression's skinny 600×784×10 products ran on one core and its
/// epoch took 66 ms instead of 57 ms on the idle 2-core machine.)
pub fn gemm_pays_to_split(m: usize, n: usize, k: usize) -> bool {
    m.saturating_mul(n).saturating_mul(k) >= GEMM_PARALLEL_WORK.load(Ordering::Relaxed)
}

/// The multiply-adds from which a product is split over threads (an atomic so
/// the benchmarks can move it).
pub static GEMM_PARALLEL_WORK: AtomicUsize = AtomicUsize::new(1 << 18);

/// BLAS's `gemm` on [`MatRef`]s: `dst = dst_scale·dst + scale·(lhs · rhs)`,
/// with `dst_scale` `None` meaning `dst` is not read (it may hold anything,
/// NaN included), as BLAS does for `beta = 0`. `dst` is as in [`gemm_into`].
pub fn gemm_scaled_into<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    dst_scale: Option<T>,
    scale: T,
    parallel: bool,
) -> Result<()> {
    gemm_core(dst, dst_rs, None, lhs, rhs, dst_scale, scale, parallel)
}

/// BLAS's `gemm` with the addend in its own memory:
/// `dst = beta·z + alpha·(lhs · rhs)` for an `m`×`n` view `z` (any strides,
/// 0 for a broadcast axis). `z` is copied into `dst` block by block, each
/// block just before its product, by the thread that multiplies it: the copy
/// runs in parallel, and the product finds its block in cache.
#[allow(clippy::too_many_arguments)]
pub fn gemm_update_into<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    z: MatRef<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    beta: T,
    alpha: T,
    parallel: bool,
) -> Result<()> {
    gemm_core(dst, dst_rs, Some(z), lhs, rhs, Some(beta), alpha, parallel)
}

/// [`gemm_scaled_into`], with `dst` first set to `source` when given (and
/// `dst_scale` is).
#[allow(clippy::too_many_arguments)]
fn gemm_core<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    source: Option<MatRef<'_, T>>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    dst_scale: Option<T>,
    scale: T,
    parallel: bool,
) -> Result<()> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let source = source.filter(|_| dst_scale.is_some());
    if let Some(z) = &source
        && (z.rows != m || z.cols != n || !z.in_bounds())
    {
        return Err(Error::Runtime(format!(
            "gemm: the addend ({}x{}) is not the {m}x{n} result's shape or reaches outside its buffer",
            z.rows, z.cols
        )));
    }
    if rhs.rows != k {
        return Err(Error::Runtime(format!(
            "gemm: inner dimensions differ ({m}x{k} by {}x{n})",
            rhs.rows
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let dst_needed = (m - 1).checked_mul(dst_rs).and_then(|a| a.checked_add(n));
    if dst_rs < n || !matches!(dst_needed, Some(d) if d <= dst.len()) {
        return Err(Error::Runtime(format!(
            "gemm: a {m}x{n} result does not fit a buffer of {} elements with row stride {dst_rs}",
            dst.len()
        )));
    }
    if !lhs.in_bounds() || !rhs.in_bounds() {
        return Err(Error::Runtime(format!(
            "gemm: an operand view ({m}x{k} or {k}x{n}) reaches outside its buffer"
        )));
    }
    let threads = if parallel && gemm_pays_to_split(m, n, k) {
        crate::workers::going_parallel();
        rayon::current_num_threads()
    } else {
        1
    };
    let split = threads > 1 && m.min(n).min(k) < GEMM_SKINNY_SIDE.load(Ordering::Relaxed);
    if let Some(z) = &source
        && !split
    {
        // SAFETY: `dst` holds the m×n block with row stride dst_rs (checked
        // above), `z` lies inside its slice (checked above), and `dst` is
        // exclusively borrowed, so it overlaps `z` nowhere.
        unsafe { copy_block(dst.as_mut_ptr(), dst_rs, z, 0..m, 0..n) };
    }
    if k == 0 {
        scale_block(dst, dst_rs, m, n, dst_scale);
        return Ok(());
    }
    let product = Product {
        source,
        lhs,
        rhs,
        dst_scale,
        scale,
    };
    if split && k > m.max(n) && n > m {
        return gemm_split_inner(dst, dst_rs, product, threads);
    }
    if split {
        return gemm_split_long_side(dst, dst_rs, product, threads);
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every element the product reads, lhs[offset + i·rs + p·cs] for
    // i < m, p < k and rhs likewise for p < k, j < n, was checked above to lie
    // inside its slice; every element it writes, dst[i·dst_rs + j] for i < m,
    // j < n, lies inside `dst` (checked above), and distinct (i, j) are distinct
    // elements because dst_rs >= n. `dst` is exclusively borrowed, so it
    // overlaps neither operand.
    unsafe {
        gemm_raw(
            dst.as_mut_ptr(),
            dst_rs,
            lhs,
            rhs,
            dst_scale,
            scale,
            parallelism,
        )
    };
    Ok(())
}

/// Products whose shorter output side is below this many rows or columns are
/// split by [`gemm_split_long_side`] instead of the `gemm` crate's own
/// threads (an atomic so the benchmarks can move it). The crate splits the
/// packed panels, which pays when both sides are long; for the MLP's
/// 20×784 by 784×500 minibatch product its two threads took 460 µs where one
/// took 180 µs on the idle 2-core machine.
pub static GEMM_SKINNY_SIDE: AtomicUsize = AtomicUsize::new(128);

/// The rows or columns of one block of a product split along its long
/// side (the last block of a thread's range may be shorter). Each block
/// packs its own panel of the operand the blocks share: for a block of 64
/// rows of the MLP's 784×20 by 20×500 weight update that is the 20×500
/// operand, 1.5% of the block's work, and for a block of 64 columns of the
/// LSTM's 100×512 by 512×2048 products the 100×512 one, 1.6%. On two cores
/// the update runs as 6–7 blocks per core, so a core slowed by another
/// process can hand a third of its share to the other.
const GEMM_BLOCK: usize = 64;

/// A raw pointer that may cross to a rayon worker; the caller keeps the
/// blocks each worker writes disjoint.
struct SendPtr<T>(*mut T);
// SAFETY: the pointer is only dereferenced by `gemm_split_long_side`'s
// blocks, each inside its own block of the destination.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as for `Send`: shared access only hands out disjoint blocks.
unsafe impl<T> Sync for SendPtr<T> {}

/// A product as the split kernels take it:
/// `dst = dst_scale·(source, else dst) + scale·(lhs · rhs)`, `dst` not read
/// when `dst_scale` is `None` (BLAS's `beta = 0`).
#[derive(Clone, Copy)]
struct Product<'a, T> {
    source: Option<MatRef<'a, T>>,
    lhs: MatRef<'a, T>,
    rhs: MatRef<'a, T>,
    dst_scale: Option<T>,
    scale: T,
}

/// The length of each thread's range of `len` rows, columns or inner
/// indices: an even share in whole 16-element runs (the kernels' full-width
/// tiles). Every split of a side of one length cuts it in the same places,
/// so the rows of a weight that a row-split update writes are the rows that
/// the same core reads in an inner-split product of it.
fn thread_range(len: usize, threads: usize) -> usize {
    len.div_ceil(threads).next_multiple_of(16)
}

/// `gemm_scaled_into` for a product with one short output side: the long
/// side is cut into one range per thread and blocks of [`GEMM_BLOCK`], each
/// block an independent single-threaded product
/// ([`crate::work_split::run_balanced`]). The caller has checked every bound.
fn gemm_split_long_side<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    product: Product<'_, T>,
    threads: usize,
) -> Result<()> {
    let Product {
        source,
        lhs,
        rhs,
        dst_scale,
        scale,
    } = product;
    let (m, n) = (lhs.rows, rhs.cols);
    let split_rows = m >= n;
    let long = m.max(n);
    let dst_ptr = SendPtr(dst.as_mut_ptr());
    let dst_ptr = &dst_ptr;
    let run_block = |_: &mut (), items: std::ops::Range<usize>| {
        let (start, len) = (items.start, items.len());
        if let Some(z) = &source {
            let (rows, cols) = if split_rows {
                (items, 0..n)
            } else {
                (0..m, items)
            };
            // SAFETY: the block's rows (or columns) of the checked `dst` are
            // written by this worker alone, and `z` lies inside its slice
            // and overlaps no part of the exclusively borrowed `dst`.
            unsafe { copy_block(dst_ptr.0, dst_rs, z, rows, cols) };
        }
        let (dst_offset, lhs, rhs) = if split_rows {
            let lhs = MatRef {
                offset: lhs.offset + start * lhs.rs,
                rows: len,
                ..lhs
            };
            (start * dst_rs, lhs, rhs)
        } else {
            let rhs = MatRef {
                offset: rhs.offset + start * rhs.cs,
                cols: len,
                ..rhs
            };
            (start, lhs, rhs)
        };
        // SAFETY: the block's operands are sub-views of operands checked to
        // lie inside their slices, and its destination, rows (or columns)
        // `items` of the checked `dst`, is written by this worker alone:
        // blocks cover disjoint ranges of the long side. `dst` stays
        // exclusively borrowed for the whole parallel loop.
        unsafe {
            gemm_raw(
                dst_ptr.0.add(dst_offset),
                dst_rs,
                lhs,
                rhs,
                dst_scale,
                scale,
                gemm::Parallelism::None,
            )
        }
    };
    crate::work_split::run_balanced(
        long,
        thread_range(long, threads),
        GEMM_BLOCK,
        |_| (),
        run_block,
    );
    Ok(())
}

/// The blocks each thread's range of an inner-split product is cut into:
/// the finer, the more of a slowed core's share the other core can take,
/// at the cost of one more m×n addition per block.
const INNER_BLOCKS_PER_THREAD: usize = 6;

/// `lhs · rhs` in an m×n row-major buffer of its own.
fn block_product<T: GemmFloat>(lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) -> Vec<T> {
    let len = lhs.rows * rhs.cols;
    let mut out = Vec::with_capacity(len);
    // SAFETY: the operands are sub-views of operands the caller checked to
    // lie inside their slices; `out` has room for the m×n result, which
    // `gemm` writes whole without reading it (no `dst_scale`), so every
    // element is set before `set_len` exposes it.
    unsafe {
        gemm_raw(
            out.as_mut_ptr(),
            rhs.cols,
            lhs,
            rhs,
            None,
            T::ONE,
            gemm::Parallelism::None,
        );
        out.set_len(len);
    }
    out
}

/// Adds `scale` times the rows of the row-major `add` (rows of `n`) to the
/// rows of `dst` (row stride `dst_rs`).
fn add_rows<T: GemmFloat>(dst: &mut [T], dst_rs: usize, n: usize, add: &[T], scale: T) {
    for (row, from) in dst.chunks_mut(dst_rs).zip(add.chunks(n)) {
        for (d, &a) in row[..n].iter_mut().zip(from) {
            *d = *d + scale * a;
        }
    }
}

/// `acc[i] = acc[i] + add[i]`.
fn add_into<T: GemmFloat>(acc: &mut [T], add: &[T]) {
    for (a, &b) in acc.iter_mut().zip(add) {
        *a = *a + b;
    }
}

/// `gemm_scaled_into` for a product whose inner side is its longest and
/// whose right operand is wider than the left is tall (a minibatch times a
/// weight matrix: the MLP's 20×784 by 784×500 product). The inner side is
/// cut into one range per thread and [`INNER_BLOCKS_PER_THREAD`] blocks per
/// range, run by [`crate::work_split::combine_in_block_order`]: each thread reads
/// whole rows of the k×n operand, the rows that a row-split update of that
/// operand writes on the same core.
///
/// The result is the same whichever thread ran which block. Each range's
/// total is the sum of its blocks' products in block order: the owner's
/// blocks are summed by the kernel (`total + product`, rounded once, as an
/// addition of its own would be), the blocks another thread took from the
/// back of the range are added after them, and the ranges' totals are
/// added, times `scale`, to the addend in range order. The caller has
/// checked every bound.
fn gemm_split_inner<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    product: Product<'_, T>,
    threads: usize,
) -> Result<()> {
    let Product {
        source,
        lhs,
        rhs,
        dst_scale,
        scale,
    } = product;
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let range = thread_range(k, threads);
    let grain = range.div_ceil(INNER_BLOCKS_PER_THREAD).next_multiple_of(16);
    let views = |items: std::ops::Range<usize>| {
        let lhs = MatRef {
            offset: lhs.offset + items.start * lhs.cs,
            cols: items.len(),
            ..lhs
        };
        let rhs = MatRef {
            offset: rhs.offset + items.start * rhs.rs,
            rows: items.len(),
            ..rhs
        };
        (lhs, rhs)
    };
    let first = |items| {
        let (lhs, rhs) = views(items);
        block_product(lhs, rhs)
    };
    let then = |total: &mut Vec<T>, items| {
        let (lhs, rhs) = views(items);
        // SAFETY: the operands are sub-views of checked operands, and
        // `total` is this range's own m×n row-major total.
        unsafe {
            gemm_raw(
                total.as_mut_ptr(),
                n,
                lhs,
                rhs,
                Some(T::ONE),
                T::ONE,
                gemm::Parallelism::None,
            )
        };
    };
    let combine = |total: &mut Vec<T>, part: Vec<T>| add_into(total, &part);
    let totals = crate::work_split::combine_in_block_order(k, range, grain, first, then, combine);
    // The addend (zeros without `dst_scale`: `dst` is not read then), then
    // the ranges' totals in range order.
    if let Some(z) = &source {
        // SAFETY: `dst` is exclusively borrowed and checked to hold the m×n
        // block; `z` lies inside its slice and overlaps no part of it.
        unsafe { copy_block(dst.as_mut_ptr(), dst_rs, z, 0..m, 0..n) };
    }
    scale_block(dst, dst_rs, m, n, dst_scale);
    for total in totals {
        add_rows(dst, dst_rs, n, &total, scale);
    }
    Ok(())
}

/// `dst = dst_scale·dst` on the m×n block (`None`: set to zero, not read).
fn scale_block<T: GemmFloat>(
    dst: &mut [T],
    dst_rs: usize,
    m: usize,
    n: usize,
    dst_scale: Option<T>,
) {
    for row in dst.chunks_mut(dst_rs).take(m) {
        match dst_scale {
            None => row[..n].fill(T::ZERO),
            Some(s) => row[..n].iter_mut().for_each(|d| *d = s * *d),
        }
    }
}

/// Copies block `rows`×`cols` of `z` into the same block of the row-major
/// destination at `dst` (row stride `dst_rs`).
///
/// # Safety
/// That block of the destination must be valid for writes, touched by no
/// other thread meanwhile and disjoint from `z`'s slice; `z` must lie inside
/// its slice (`MatRef::in_bounds`) and cover `rows`×`cols`.
unsafe fn copy_block<T: GemmFloat>(
    dst: *mut T,
    dst_rs: usize,
    z: &MatRef<'_, T>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let width = cols.len();
    for i in rows {
        let from = z.offset + i * z.rs + cols.start * z.cs;
        // SAFETY: row i, columns `cols` of the destination block are valid,
        // exclusive and disjoint from `z` (the caller's guarantee).
        let row =
            unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_rs + cols.start), width) };
        if z.cs == 1 {
            row.copy_from_slice(&z.data[from..from + width]);
        } else {
            for (j, d) in row.iter_mut().enumerate() {
                *d = z.data[from + j * z.cs];
            }
        }
    }
}

/// One call of the `gemm` crate: `dst = dst_scale·dst + scale·(lhs · rhs)`
/// with a row-major destination of row stride `dst_rs`.
///
/// # Safety
/// Every operand element must lie inside its slice, the `lhs.rows`×`rhs.cols`
/// destination block at `dst` (row stride `dst_rs` ≥ `rhs.cols`) must be
/// valid for writes and overlap neither operand, and no other thread may
/// touch that block during the call.
unsafe fn gemm_raw<T: GemmFloat>(
    dst: *mut T,
    dst_rs: usize,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    dst_scale: Option<T>,
    scale: T,
    parallelism: gemm::Parallelism,
) {
    let isz = |v: usize| v as isize;
    // SAFETY: the caller guarantees the bounds and exclusivity stated above.
    unsafe {
        gemm::gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            dst,
            1,
            isz(dst_rs),
            dst_scale.is_some(),
            lhs.data.as_ptr().add(lhs.offset),
            isz(lhs.cs),
            isz(lhs.rs),
            rhs.data.as_ptr().add(rhs.offset),
            isz(rhs.cs),
            isz(rhs.rs),
            dst_scale.unwrap_or(T::ONE),
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod gemm_tests {
    use super::*;

    #[test]
    fn gemm_into_multiplies_transposed_views_and_accumulates() {
        // a = [[1, 2, 3], [4, 5, 6]] (2x3); b stored as bᵀ (2x3), so b = 3x2.
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bt = [1.0f64, 0.0, 1.0, 0.0, 1.0, 0.0];
        let mut dst = [1.0f64; 4];
        let lhs = MatRef::row_major(&a[..], 2, 3);
        let rhs = MatRef::row_major(&bt[..], 2, 3).t();
        gemm_into(&mut dst, 2, lhs, rhs, true, false).unwrap();
        assert_eq!(dst, [1.0 + 4.0, 1.0 + 2.0, 1.0 + 10.0, 1.0 + 5.0]);
        gemm_into(&mut dst, 2, lhs, rhs, false, false).unwrap();
        assert_eq!(dst, [4.0, 2.0, 10.0, 5.0]);
    }

    #[test]
    fn gemm_scaled_into_scales_the_destination_and_the_product() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let id = [1.0f32, 0.0, 0.0, 1.0];
        let mut dst = [10.0f32, 20.0, 30.0, 40.0];
        let (lhs, rhs) = (
            MatRef::row_major(&a[..], 2, 2),
            MatRef::row_major(&id[..], 2, 2),
        );
        gemm_scaled_into(&mut dst, 2, lhs, rhs, Some(0.5), -2.0, false).unwrap();
        assert_eq!(dst, [5.0 - 2.0, 10.0 - 4.0, 15.0 - 6.0, 20.0 - 8.0]);
        // Without a destination scale the old values, NaN included, are not read.
        let mut dst = [f32::NAN; 4];
        gemm_scaled_into(&mut dst, 2, lhs, rhs, None, 3.0, false).unwrap();
        assert_eq!(dst, [3.0, 6.0, 9.0, 12.0]);
        // An empty inner dimension leaves dst_scale·dst.
        let empty: [f32; 0] = [];
        let (l0, r0) = (
            MatRef::row_major(&empty[..], 2, 0),
            MatRef::row_major(&empty[..], 0, 2),
        );
        gemm_scaled_into(&mut dst, 2, l0, r0, Some(2.0), 3.0, false).unwrap();
        assert_eq!(dst, [6.0, 12.0, 18.0, 24.0]);
    }

    /// `0.5·z − 2·(a·b)` computed naively, with `b` given transposed.
    fn naive_update(
        a: &[f64],
        bt: &[f64],
        z: &[f64],
        (m, k, n): (usize, usize, usize),
    ) -> Vec<f64> {
        let mut want = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k).map(|p| a[i * k + p] * bt[j * k + p]).sum();
                want[i * n + j] = 0.5 * z[i * n + j] - 2.0 * dot;
            }
        }
        want
    }

    #[test]
    fn gemm_scaled_into_matches_a_naive_product_on_strided_views_serial_and_parallel() {
        // Square-ish (the crate's own threads), one short output side in
        // either direction and a short inner side (split into blocks), and
        // one whose columns are cut into more blocks than threads (the last
        // a partial one).
        for (m, k, n) in [
            (67, 129, 93),
            (130, 140, 150),
            (20, 300, 500),
            (100, 420, 530),
            (500, 30, 20),
            (300, 20, 200),
            (20, 784, 500),
            (3, 2000, 50),
        ] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
            // b stored transposed (n×k), read as a k×n view.
            let bt: Vec<f64> = (0..n * k).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
            let z: Vec<f64> = (0..m * n).map(|i| (i % 17) as f64).collect();
            let want = naive_update(&a, &bt, &z, (m, k, n));
            for parallel in [false, true] {
                let mut dst = z.clone();
                let lhs = MatRef::row_major(&a[..], m, k);
                let rhs = MatRef::row_major(&bt[..], n, k).t();
                gemm_scaled_into(&mut dst, n, lhs, rhs, Some(0.5), -2.0, parallel).unwrap();
                assert_eq!(dst, want, "{m}x{k} by {k}x{n}, parallel {parallel}");
            }
        }
    }

    #[test]
    fn an_inner_split_product_gives_the_same_bits_whichever_thread_runs_which_block() {
        // The MLP's 20×784 by 784×500 minibatch product in float32, with an
        // addend: on two threads (each runs its own range; either may take
        // blocks from the other's), and on one thread, which runs the first
        // range and then takes every block of the second from its back.
        let (m, k, n) = (20, 784, 500);
        let a: Vec<f32> = (0..m * k).map(|i| ((i as f32) * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i as f32) * 0.11).cos() * 0.05)
            .collect();
        let z: Vec<f32> = (0..m * n).map(|i| ((i as f32) * 0.7).sin()).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            pool.install(|| {
                let mut dst = vec![f32::NAN; m * n];
                let lhs = MatRef::row_major(&a[..], m, k);
                let rhs = MatRef::row_major(&b[..], k, n);
                let zv = MatRef::row_major(&z[..], m, n);
                let product = Product {
                    source: Some(zv),
                    lhs,
                    rhs,
                    dst_scale: Some(0.5),
                    scale: -2.0,
                };
                gemm_split_inner(&mut dst, n, product, 2).unwrap();
                dst
            })
        };
        let one_thread = run(1);
        for _ in 0..20 {
            let two = run(2);
            assert!(
                two.iter()
                    .zip(&one_thread)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "the sum depends on which thread ran which block"
            );
        }
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                    .sum();
                let want = 0.5 * z[i * n + j] as f64 - 2.0 * dot;
                let got = one_thread[i * n + j] as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{got} against {want}"
                );
            }
        }
    }

    #[test]
    fn a_split_product_writes_only_its_block_of_a_wider_destination() {
        // A 20×500 result into the left part of rows 600 wide: the blocks
        // of the split must leave the last 100 columns alone.
        let (m, k, n, rs) = (20, 300, 500, 600);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 3) % 7) as f64 - 3.0).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let z: Vec<f64> = (0..m * n).map(|i| (i % 17) as f64).collect();
        let want = naive_update(&a, &bt, &z, (m, k, n));
        let mut dst = vec![-7.0; m * rs];
        for i in 0..m {
            dst[i * rs..i * rs + n].copy_from_slice(&z[i * n..(i + 1) * n]);
        }
        let lhs = MatRef::row_major(&a[..], m, k);
        let rhs = MatRef::row_major(&bt[..], n, k).t();
        gemm_scaled_into(&mut dst, rs, lhs, rhs, Some(0.5), -2.0, true).unwrap();
        for i in 0..m {
            assert_eq!(dst[i * rs..i * rs + n], want[i * n..(i + 1) * n]);
            assert!(dst[i * rs + n..(i + 1) * rs].iter().all(|&v| v == -7.0));
        }
    }

    #[test]
    fn gemm_update_into_reads_the_addend_from_its_own_strided_memory() {
        // dst = 0.5·z − 2·(a·b) with z given transposed (zt is n×m), and
        // with z a broadcast row (row stride 0), serial, split and square.
        for (m, k, n) in [(7, 5, 6), (20, 300, 500), (500, 20, 300), (130, 140, 150)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
            let bt: Vec<f64> = (0..n * k).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
            let zt: Vec<f64> = (0..n * m).map(|i| (i % 17) as f64).collect();
            let z: Vec<f64> = (0..m * n).map(|p| zt[(p % n) * m + p / n]).collect();
            let row: Vec<f64> = (0..n).map(|j| j as f64 * 0.25).collect();
            let z_row: Vec<f64> = (0..m * n).map(|p| row[p % n]).collect();
            let lhs = MatRef::row_major(&a[..], m, k);
            let rhs = MatRef::row_major(&bt[..], n, k).t();
            for parallel in [false, true] {
                let mut dst = vec![f64::NAN; m * n];
                let zv = MatRef::row_major(&zt[..], n, m).t();
                gemm_update_into(&mut dst, n, zv, lhs, rhs, 0.5, -2.0, parallel).unwrap();
                assert_eq!(dst, naive_update(&a, &bt, &z, (m, k, n)), "{m}x{k}x{n}");
                let broadcast = MatRef {
                    data: &row[..],
                    offset: 0,
                    rows: m,
                    cols: n,
                    rs: 0,
                    cs: 1,
                };
                let mut dst = vec![f64::NAN; m * n];
                gemm_update_into(&mut dst, n, broadcast, lhs, rhs, 0.5, -2.0, parallel).unwrap();
                assert_eq!(dst, naive_update(&a, &bt, &z_row, (m, k, n)), "{m}x{k}x{n}");
            }
        }
    }

    #[test]
    fn gemm_into_refuses_views_outside_their_buffers() {
        let a = [1.0f32; 4];
        let mut dst = [0.0f32; 4];
        let lhs = MatRef::row_major(&a[..], 2, 3);
        let rhs = MatRef::row_major(&a[..], 3, 2);
        assert!(gemm_into(&mut dst, 2, lhs, rhs, false, false).is_err());
        let ok = MatRef::row_major(&a[..], 2, 2);
        assert!(gemm_into(&mut dst[..3], 2, ok, ok, false, false).is_err());
    }
}
