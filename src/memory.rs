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

use std::any::Any;
use std::sync::Arc;

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
    /// Only held (to free it on drop); `Storage::ptr` points into it.
    Host(#[allow(dead_code)] Vec<u64>),
    /// Memory that belongs to another object (a NumPy array), kept alive by it.
    Foreign(Box<dyn Any + Send + Sync>),
}

/// One allocation on the host.
pub struct Storage {
    ptr: *mut u8,
    nbytes: usize,
    owner: Owner,
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

/// Large host buffers freed recently, handed out again by
/// [`Storage::recycled`]: the allocator gives big blocks back to the OS, and
/// getting such memory again costs a page fault and a zeroing per page.
mod recycle {
    use std::sync::Mutex;

    /// Buffers at least this large are kept.
    pub const MIN_BYTES: usize = 1 << 20;
    const MAX_BUFFERS: usize = 8;
    const MAX_BYTES: usize = 256 << 20;

    static POOL: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());

    pub fn give(v: Vec<u64>) {
        if v.len() * 8 > MAX_BYTES {
            return;
        }
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.push(v);
        while pool.len() > MAX_BUFFERS
            || pool.iter().map(|b| b.len() * 8).sum::<usize>() > MAX_BYTES
        {
            pool.remove(0);
        }
    }

    /// A kept buffer of at least `words` words (and not much more).
    pub fn take(words: usize) -> Option<Vec<u64>> {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let i = pool
            .iter()
            .rposition(|b| b.len() >= words && b.len() <= words + words / 4)?;
        Some(pool.swap_remove(i))
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Owner::Host(v) = &mut self.owner
            && v.len() * 8 >= recycle::MIN_BYTES
        {
            recycle::give(std::mem::take(v));
        }
    }
}

impl Storage {
    /// A zeroed host allocation of at least `nbytes` bytes.
    pub fn zeroed(nbytes: usize) -> Result<Storage> {
        let words = nbytes.div_ceil(8).max(1);
        let mut v = zeroed_words(words, nbytes)?;
        let ptr = v.as_mut_ptr() as *mut u8;
        Ok(Storage {
            ptr,
            nbytes,
            owner: Owner::Host(v),
        })
    }

    /// A host allocation of at least `nbytes` bytes with unspecified (but
    /// initialized) contents, for kernels that write every byte: a recycled
    /// buffer when one fits, else zeroed memory.
    pub fn recycled(nbytes: usize) -> Result<Storage> {
        let words = nbytes.div_ceil(8).max(1);
        if nbytes >= recycle::MIN_BYTES
            && let Some(mut v) = recycle::take(words)
        {
            let ptr = v.as_mut_ptr() as *mut u8;
            return Ok(Storage {
                ptr,
                nbytes,
                owner: Owner::Host(v),
            });
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
        Storage {
            ptr,
            nbytes,
            owner: Owner::Foreign(owner),
        }
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
    let size = std::mem::size_of::<T>();
    if bytes.len() < size {
        // (an empty storage's slice has a dangling, unaligned pointer)
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
        Ok(Tensor {
            storage: Arc::new(storage),
            dtype,
            shape: shape.into(),
            strides: c_strides(shape, dtype.itemsize()),
            offset: 0,
        })
    }

    /// A fresh C-contiguous tensor whose contents are unspecified (possibly a
    /// recycled buffer's): for kernels that write every element.
    pub fn empty(dtype: DType, shape: &[usize]) -> Result<Tensor> {
        let size: usize = shape.iter().product();
        let storage = Storage::recycled(size * dtype.itemsize())?;
        Ok(Tensor {
            storage: Arc::new(storage),
            dtype,
            shape: shape.into(),
            strides: c_strides(shape, dtype.itemsize()),
            offset: 0,
        })
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
        Ok(Tensor {
            storage: Arc::new(storage),
            dtype,
            shape: shape.into(),
            strides: c_strides(shape, dtype.itemsize()),
            offset: 0,
        })
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
        let (all, _, off) = self.elements::<T>().ok()?;
        all.get(off..off + self.size())
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
    fn a_view_outside_its_buffer_is_refused() {
        let t = Tensor::zeros(DType::Float32, &[4]).unwrap();
        assert!(
            t.view(SmallVec::from_slice(&[5]), SmallVec::from_slice(&[4]), 0)
                .is_err()
        );
    }

    #[test]
    fn large_freed_buffers_are_handed_out_again() {
        let n = (recycle::MIN_BYTES / 8) * 3;
        let mut a = Tensor::zeros(DType::Float64, &[n]).unwrap();
        a.data_mut::<f64>().unwrap()[0] = 7.0;
        let p = a.data_ptr();
        drop(a);
        let b = Tensor::empty(DType::Float64, &[n]).unwrap();
        assert_eq!(b.data_ptr(), p);
        // zeros stay zeros even when a buffer could be recycled
        drop(b);
        let c = Tensor::zeros(DType::Float64, &[n]).unwrap();
        assert_eq!(c.contiguous_slice::<f64>().unwrap()[0], 0.0);
    }

    #[test]
    fn an_empty_tensor_has_empty_typed_views() {
        let t = Tensor::zeros(DType::Float64, &[0, 3]).unwrap();
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

macro_rules! matmul_impl {
    ($name:ident, $t:ty) => {
        /// `out = a · b` for C-contiguous `a` (m×k), `b` (k×n) and a fresh,
        /// uniquely owned C-contiguous `out` (m×n), through the `gemm` crate.
        pub fn $name(
            m: usize,
            n: usize,
            k: usize,
            a: &Tensor,
            b: &Tensor,
            out: &mut Tensor,
        ) -> Result<()> {
            let lhs = a
                .contiguous_slice::<$t>()
                .ok_or_else(|| Error::Runtime("matmul: lhs not contiguous".into()))?;
            let rhs = b
                .contiguous_slice::<$t>()
                .ok_or_else(|| Error::Runtime("matmul: rhs not contiguous".into()))?;
            let dst = out.data_mut::<$t>()?;
            if lhs.len() != m * k || rhs.len() != k * n || dst.len() != m * n {
                return Err(Error::Runtime(format!(
                    "matmul: operand sizes do not match {m}x{k} by {k}x{n}"
                )));
            }
            if m == 0 || n == 0 {
                return Ok(());
            }
            if k == 0 {
                dst.fill(0.0);
                return Ok(());
            }
            let threads = if m * n * k >= 64 * 64 * 64 {
                rayon::current_num_threads()
            } else {
                1
            };
            let parallelism = if threads > 1 {
                gemm::Parallelism::Rayon(threads)
            } else {
                gemm::Parallelism::None
            };
            // SAFETY: the three slices were checked above to hold exactly m·k,
            // k·n and m·n elements laid out row-major (row stride = columns,
            // column stride = 1); `dst` is exclusively borrowed and does not
            // overlap the inputs (it is a fresh, uniquely owned allocation).
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    dst.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    lhs.as_ptr(),
                    1,
                    k as isize,
                    rhs.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
            Ok(())
        }
    };
}
matmul_impl!(matmul_f32, f32);
matmul_impl!(matmul_f64, f64);
