//! JS typed-array columns to core [`Matrix`] views.

use arrowshap_core::{Column, Matrix};
use napi::bindgen_prelude::{Either, Float32Array, Float64Array};
use napi_derive::napi;

/// One feature column as JS gives it: the values buffer of an Arrow Float64 or Float32 column.
#[napi]
pub type JsColumn = Either<Float64Array, Float32Array>;

/// Borrows the columns as a core matrix (no copy). Only for work that finishes
/// before control returns to JS (synchronous calls): JS cannot detach a buffer then.
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

/// One column copied out of its JS buffer.
enum OwnedColumn {
    F64(Vec<f64>),
    F32(Vec<f32>),
}

/// Columns owned by a task that runs off the JS thread.
///
/// A typed array's memory belongs to its `ArrayBuffer`, which JS may detach
/// (`structuredClone(buf, {transfer})`, `postMessage` with a transfer list,
/// `ArrayBuffer.prototype.transfer`) while the task runs — freeing the memory
/// under the worker threads. Holding a reference does not prevent that, so async
/// tasks copy their inputs once when they are created, on the JS thread. The copy
/// is one `memcpy` per column per batch (16 MiB for 65,536 rows × 32 float64
/// features, about 2 ms), small beside the SHAP work on the same batch.
pub struct OwnedColumns(Vec<OwnedColumn>);

impl OwnedColumns {
    /// Copies every column (called on the JS thread, before the task is queued).
    pub fn copy(cols: &[JsColumn]) -> Self {
        OwnedColumns(
            cols.iter()
                .map(|c| match c {
                    Either::A(v) => OwnedColumn::F64(v.to_vec()),
                    Either::B(v) => OwnedColumn::F32(v.to_vec()),
                })
                .collect(),
        )
    }

    /// The copies as a core matrix view.
    pub fn matrix(&self) -> arrowshap_core::Result<Matrix<'_>> {
        Matrix::new(
            self.0
                .iter()
                .map(|c| match c {
                    OwnedColumn::F64(v) => Column::F64(v),
                    OwnedColumn::F32(v) => Column::F32(v),
                })
                .collect(),
        )
    }
}
