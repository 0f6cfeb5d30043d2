//! Running sums and key columns for the TS explainers (see `arrowshap_core::sums`):
//! no JavaScript loop over values or rows.

use arrowshap_core::sums;
use napi::bindgen_prelude::{BigInt64Array, Float64Array, Int32Array};
use napi::Status;
use napi_derive::napi;

/// Running sums of |SHAP| per feature and base value per output.
#[napi(object)]
pub struct ShapSums {
    /// Σ|φ| per feature.
    pub sum_abs: Float64Array,
    /// Σ base value per output.
    pub sum_base: Float64Array,
}

/// The running sums after one more result (`values` in the `ShapResult` layout of
/// `rows × outputs` values per column, `sumAbs.length` features): the same bits
/// however the rows were batched.
#[napi]
pub fn add_shap_sums(
    values: Float64Array,
    rows: u32,
    outputs: u32,
    sum_abs: Float64Array,
    sum_base: Float64Array,
) -> napi::Result<ShapSums> {
    let (rows, outputs) = (rows as usize, outputs as usize);
    let need = (sum_abs.len() + 1) * rows * outputs;
    if values.len() < need || sum_base.len() != outputs {
        return Err(napi::Error::new(
            Status::InvalidArg,
            format!(
                "addShapSums: {} values, {} base sums for {rows} rows × {outputs} outputs × {} features",
                values.len(),
                sum_base.len(),
                sum_abs.len()
            ),
        ));
    }
    let (mut abs, mut base) = (sum_abs.to_vec(), sum_base.to_vec());
    sums::add_shap_sums(&values, rows, outputs, &mut abs, &mut base);
    Ok(ShapSums {
        sum_abs: Float64Array::new(abs),
        sum_base: Float64Array::new(base),
    })
}

/// The `row` key column: `rowOffset + r` for each row, repeated `repeat` times.
#[napi]
pub fn row_keys(row_offset: f64, rows: u32, repeat: u32) -> napi::Result<BigInt64Array> {
    if !(row_offset.is_finite() && row_offset >= 0.0 && row_offset.fract() == 0.0) {
        return Err(napi::Error::new(
            Status::InvalidArg,
            format!("rowKeys: rowOffset must be a non-negative integer, got {row_offset}"),
        ));
    }
    Ok(BigInt64Array::new(sums::row_keys(
        row_offset as i64,
        rows as usize,
        repeat as usize,
    )))
}

/// The `output` key column: outputs `0..outputs` in turn for each row, each repeated `inner` times.
#[napi]
pub fn output_keys(rows: u32, outputs: u32, inner: u32) -> Int32Array {
    Int32Array::new(sums::output_keys(
        rows as usize,
        outputs as usize,
        inner as usize,
    ))
}
