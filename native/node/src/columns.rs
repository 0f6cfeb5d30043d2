//! JS typed-array columns to core [`Matrix`] views, without copying.

use arrowshap_core::{Column, Matrix};
use napi::bindgen_prelude::{Either, Float32Array, Float64Array};
use napi_derive::napi;

/// One feature column as JS gives it: the values buffer of an Arrow Float64 or Float32 column.
#[napi]
pub type JsColumn = Either<Float64Array, Float32Array>;

/// Borrows the columns as a core matrix (no copy). The typed arrays are kept
/// alive by the task that owns `cols` for as long as the matrix is used.
pub fn as_matrix(cols: &[JsColumn]) -> arrowshap_core::Result<Matrix<'_>> {
    Matrix::new(
        cols.iter()
            .map(|c| match c {
                Either::A(v) => Column::F64(v),
                Either::B(v) => Column::F32(v),
            })
            .collect(),
    )
}
