//! Running sums over explanation results, for the summaries a streamed run reports
//! (mean |SHAP| per feature, mean base value per output) and the key columns of the
//! explanation tables — computed here so no JavaScript loops over values or rows.

/// Adds one result's `|φ|` per feature and base value per output to running sums.
///
/// `values` has the `ShapResult` layout: `features + 1` columns of `rows × outputs`
/// values ordered (row, output), the base value last. Each sum gets its terms in
/// (row, output) order, continuing from where it stood: the same sequence of
/// additions as one pass over all rows, so the sums are the same bits however the
/// rows were split into batches.
///
/// # Panics
/// When `values` is shorter than `(features + 1) × rows × outputs`, or the sums do
/// not have `features` and `outputs` entries (callers check the dimensions).
pub fn add_shap_sums(
    values: &[f64],
    rows: usize,
    outputs: usize,
    sum_abs: &mut [f64],
    sum_base: &mut [f64],
) {
    let n = rows * outputs;
    let features = sum_abs.len();
    assert!(values.len() >= (features + 1) * n && sum_base.len() == outputs);
    for (j, s) in sum_abs.iter_mut().enumerate() {
        *s = values[j * n..(j + 1) * n]
            .iter()
            .fold(*s, |acc, v| acc + v.abs());
    }
    for (i, v) in values[features * n..(features + 1) * n].iter().enumerate() {
        sum_base[i % outputs] += v;
    }
}

/// The `row` key column of an explanation table: `row_offset + r` for each of `rows`
/// rows, each repeated `repeat` times (the outputs, or outputs × features).
pub fn row_keys(row_offset: i64, rows: usize, repeat: usize) -> Vec<i64> {
    (0..rows as i64)
        .flat_map(|r| std::iter::repeat_n(row_offset + r, repeat))
        .collect()
}

/// The `output` key column: for `rows` rows, outputs `0..outputs` in turn, each
/// repeated `inner` times (1, or the features of an interactions table).
pub fn output_keys(rows: usize, outputs: usize, inner: usize) -> Vec<i32> {
    (0..rows)
        .flat_map(|_| (0..outputs as i32).flat_map(move |k| std::iter::repeat_n(k, inner)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_the_same_bits_however_batched() {
        // 2 features, 2 outputs, 5 rows; values of very different magnitudes
        let (rows, outputs, features) = (5usize, 2usize, 2usize);
        let n = rows * outputs;
        let cols: Vec<Vec<f64>> = (0..=features)
            .map(|j| {
                (0..n)
                    .map(|i| ((i * 7 + j * 3) as f64).sin() * 10f64.powi((i % 5) as i32 * 4 - 8))
                    .collect()
            })
            .collect();
        let layout = |from: usize, to: usize| -> Vec<f64> {
            cols.iter()
                .flat_map(|c| c[from * outputs..to * outputs].iter().copied())
                .collect()
        };
        let (mut abs1, mut base1) = (vec![0.0; features], vec![0.0; outputs]);
        add_shap_sums(&layout(0, rows), rows, outputs, &mut abs1, &mut base1);
        let (mut abs2, mut base2) = (vec![0.0; features], vec![0.0; outputs]);
        for (a, b) in [(0, 2), (2, 3), (3, 5)] {
            add_shap_sums(&layout(a, b), b - a, outputs, &mut abs2, &mut base2);
        }
        assert_eq!(
            abs1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            abs2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(
            base1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            base2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let direct: f64 = cols[0].iter().map(|v| v.abs()).sum();
        assert_eq!(abs1[0], direct);
    }

    #[test]
    fn keys() {
        assert_eq!(row_keys(10, 3, 2), vec![10, 10, 11, 11, 12, 12]);
        assert_eq!(output_keys(2, 3, 1), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(output_keys(1, 2, 3), vec![0, 0, 0, 1, 1, 1]);
        assert!(row_keys(0, 0, 4).is_empty());
    }
}
