//! The CUDA device: probed through cudarc's dynamic loading, so the crate
//! builds and runs where no CUDA library or GPU exists. The probe never
//! panics: a missing library or device is an answer, not a crash.

use std::sync::OnceLock;

/// Why CUDA cannot be used here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CudaUnavailable {
    /// The crate was built without the `cuda` feature.
    NotCompiled,
    /// libcuda (the driver) could not be loaded.
    NoDriver,
    /// libnvrtc could not be loaded.
    NoNvrtc,
    /// libcublas could not be loaded.
    NoCublas,
    /// The driver loaded but reports no usable device.
    NoDevice(String),
}

impl std::fmt::Display for CudaUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CudaUnavailable::NotCompiled => write!(f, "rtensor was built without CUDA support"),
            CudaUnavailable::NoDriver => {
                write!(f, "the CUDA driver library (libcuda) was not found")
            }
            CudaUnavailable::NoNvrtc => write!(f, "the NVRTC library (libnvrtc) was not found"),
            CudaUnavailable::NoCublas => write!(f, "the cuBLAS library (libcublas) was not found"),
            CudaUnavailable::NoDevice(why) => write!(f, "no usable CUDA device: {why}"),
        }
    }
}

static PROBE: OnceLock<Result<usize, CudaUnavailable>> = OnceLock::new();

/// The number of CUDA devices, or why there is none. Probed once.
pub fn probe() -> Result<usize, CudaUnavailable> {
    PROBE.get_or_init(probe_once).clone()
}

/// True when a CUDA device can be used.
pub fn is_available() -> bool {
    probe().is_ok()
}

#[cfg(feature = "cuda")]
fn probe_once() -> Result<usize, CudaUnavailable> {
    // SAFETY: `is_culib_present` only tries to dlopen the library by its
    // candidate names and reports whether one loaded; it calls no CUDA function.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(CudaUnavailable::NoDriver);
    }
    // SAFETY: as above, for libnvrtc.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(CudaUnavailable::NoNvrtc);
    }
    // SAFETY: as above, for libcublas.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(CudaUnavailable::NoCublas);
    }
    // cudarc panics on some driver mismatches; never let that escape.
    match std::panic::catch_unwind(cudarc::driver::CudaContext::device_count) {
        Ok(Ok(n)) if n > 0 => Ok(n as usize),
        Ok(Ok(_)) => Err(CudaUnavailable::NoDevice(
            "the driver reports 0 devices".into(),
        )),
        Ok(Err(e)) => Err(CudaUnavailable::NoDevice(format!("{e:?}"))),
        Err(_) => Err(CudaUnavailable::NoDevice(
            "the CUDA driver panicked while counting devices".into(),
        )),
    }
}

#[cfg(not(feature = "cuda"))]
fn probe_once() -> Result<usize, CudaUnavailable> {
    Err(CudaUnavailable::NotCompiled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn probing_cuda_never_panics() {
        let first = super::probe();
        assert_eq!(first, super::probe());
        assert_eq!(super::is_available(), first.is_ok());
    }
}
