//! Axis arguments: negative axes counted from the end, Theano's
//! `check_and_normalize_axes`, and the C-order block sizes around an axis
//! that joins, splits and repeats copy by.

use crate::error::{Error, Result};

/// `axis` in `[0, ndim)`, counting negative values from the end; `None` when
/// it is out of range.
pub fn wrap_axis(axis: i64, ndim: usize) -> Option<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    (0..n).contains(&a).then_some(a as usize)
}

/// Theano's `check_and_normalize_axes`: every axis wrapped into range, without
/// duplicates, sorted; `None` (all axes) stays `None`.
pub fn normalize_axes(axes: Option<&[i64]>, ndim: usize) -> Result<Option<Vec<usize>>> {
    let Some(axes) = axes else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let d = wrap_axis(a, ndim).ok_or_else(|| {
            Error::Value(format!(
                "Computation needs a valid axis number for {ndim}-D tensor. Got {a}"
            ))
        })?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out.sort_unstable();
    Ok(Some(out))
}

/// The number of elements before `axis` and after it in C order: a tensor is
/// `outer` blocks of `shape[axis]` rows of `inner` elements.
pub fn outer_inner(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_axes_count_from_the_end() {
        assert_eq!(wrap_axis(-1, 3), Some(2));
        assert_eq!(wrap_axis(-3, 3), Some(0));
        assert_eq!(wrap_axis(-4, 3), None);
        assert_eq!(wrap_axis(3, 3), None);
        assert_eq!(wrap_axis(0, 0), None);
    }

    #[test]
    fn axes_are_deduplicated_and_sorted() {
        assert_eq!(
            normalize_axes(Some(&[2, -3, 0]), 3).unwrap(),
            Some(vec![0, 2])
        );
        assert!(normalize_axes(Some(&[3]), 3).is_err());
        assert_eq!(normalize_axes(None, 3).unwrap(), None);
    }

    #[test]
    fn blocks_around_an_axis() {
        assert_eq!(outer_inner(&[2, 3, 4], 1), (2, 4));
        assert_eq!(outer_inner(&[5], 0), (1, 1));
    }
}
